package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/quiesce/quiesce/lifecycle"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is a small batch in t's own directory: 60 jobs on 2 pools of 3
// workers, a fifth of the attempts panicking.
func testConfig(t *testing.T) config {
	return config{
		state: filepath.Join(t.TempDir(), "state.json"),
		jobs:  60, seed: 7, crash: 0.2, pools: 2, workers: 3,
		unit: 10 * time.Millisecond, stopAfter: -1, deadline: 10 * time.Second,
	}
}

// runInBubble runs the program in a synctest bubble: units of work take virtual
// time, so a run takes no real time and its order of events depends on the clock,
// not on the machine's speed. Before the bubble ends, the clock moves on past
// protoactor's dead-letter throttle, which sleeps in a goroutine of its own.
func runInBubble(t *testing.T, cfg config) (*outcome, string) {
	t.Helper()
	var (
		buf bytes.Buffer
		o   *outcome
		err error
	)
	synctest.Test(t, func(t *testing.T) {
		o, err = run(t.Context(), cfg, &buf)
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
	})
	require.NoError(t, err, buf.String())
	return o, buf.String()
}

func ids(done []DoneRecord) []int {
	out := make([]int, len(done))
	for i, d := range done {
		out[i] = d.ID
	}
	slices.Sort(out)
	return out
}

// panicsIn counts the panics a batch must go through, whatever the runs: each
// job's attempts panic, or not, by the batch's seed alone, until one does not.
func panicsIn(st *State) (n int) {
	for _, j := range st.Pending {
		for ; ; j.Attempts++ {
			if _, ok := crashAt(st, j); !ok {
				break
			}
			n++
		}
	}
	return n
}

// The whole promise: run 1 stops with jobs in flight and jobs queued; the jobs in
// flight finish, the queued ones go to the state file; run 2 resumes them and
// finishes the batch. Every job is done exactly once over the two runs, none is
// lost, and the panics on the way were restarted.
func TestAStoppedBatchResumesAndEveryJobIsDoneExactlyOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.stopAfter = 20 // the sync point: the queue begins the shutdown at its 20th job done
	first, out1 := runInBubble(t, cfg)

	assert.NotEmpty(t, first.sum.inFlight, "jobs were in flight when the shutdown began")
	assert.Positive(t, first.sum.queuedAtClose, "jobs were queued when the shutdown began")
	done1 := ids(first.sum.done)
	for _, id := range first.sum.inFlight {
		if !slices.Contains(done1, id) {
			assert.FailNow(t, "a job in flight at the shutdown did not finish", "job %d\n%s", id, out1)
		}
	}
	assert.Equal(t, first.toDo, len(done1)+first.sum.saved, "done or handed back, nothing else")
	assert.Zero(t, first.lost())
	assert.Zero(t, first.sum.twice)
	assert.Equal(t, lifecycle.AllCompleted, first.tree.Verdict, out1)

	// The report shows the work handed back: the tree has the queue's save step, and
	// the step says how many jobs it saved.
	assert.Contains(t, out1, "└── workertree/queue [all completed")
	assert.Contains(t, out1, "save plain completed")
	assert.Contains(t, out1, fmt.Sprintf("workertree/queue: save: jobs handed back to %s (%d/%d)", cfg.state, first.sum.saved, first.sum.saved))
	assert.Contains(t, out1, fmt.Sprintf("ledger: 60 jobs, %d done this run, %d handed back, 0 lost, 0 done twice", len(done1), first.sum.saved))

	st, err := loadState(cfg.state)
	require.NoError(t, err)
	assert.Len(t, st.Pending, first.sum.saved, "the file holds what run 1 handed back")
	assert.Equal(t, done1, ids(st.Done))

	cfg.stopAfter = -1 // a resumed batch runs to its end
	second, out2 := runInBubble(t, cfg)
	assert.Equal(t, first.sum.saved, second.toDo)
	assert.Equal(t, len(done1), second.doneBefore)
	assert.Zero(t, second.sum.saved, "nothing left to hand back")
	assert.Zero(t, second.lost())
	assert.Zero(t, second.sum.twice)
	assert.Contains(t, out2, "run 2 of a batch of 60 jobs")

	all := append(ids(first.sum.done), ids(second.sum.done)...)
	slices.Sort(all)
	want := make([]int, cfg.jobs)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, all, "every job done once, over both runs")

	st, err = loadState(cfg.state)
	require.NoError(t, err)
	assert.Empty(t, st.Pending)
	assert.Equal(t, want, ids(st.Done), "the file records each job done exactly once")
	for _, d := range st.Done {
		assert.Equal(t, map[bool]int{true: 1, false: 2}[slices.Contains(done1, d.ID)], d.Run, "job %d", d.ID)
	}

	// Panics happen where the seed says, however the runs are cut, and the
	// supervisor restarted the workers they hit.
	panics := first.sum.panics + second.sum.panics
	assert.Equal(t, panicsIn(newBatch(cfg.seed, cfg.jobs, cfg.crash)), panics)
	restarts := first.restarts + second.restarts
	t.Logf("run 1: %d done, %d in flight and %d queued at the shutdown, %d handed back; run 2: %d done; %d panics, %d restarts",
		len(done1), len(first.sum.inFlight), first.sum.queuedAtClose, first.sum.saved, len(second.sum.done), panics, restarts)
	assert.Positive(t, restarts)
	assert.LessOrEqual(t, restarts, panics, "a restart for each panic outside a stop")
}

// The demo as `go run` does it, twice: a new batch stops midway and hands work
// back; the next run resumes it to the end.
func TestTheDemoStopsMidwayThenResumesToTheEnd(t *testing.T) {
	cfg := testConfig(t)
	first, out1 := runInBubble(t, cfg)
	assert.GreaterOrEqual(t, len(first.sum.done), 30, "half the batch, and what was in flight")
	assert.Positive(t, first.sum.saved)
	assert.Equal(t, cfg.jobs, len(first.sum.done)+first.sum.saved)
	assert.Contains(t, out1, "shutdown: 30 jobs done, the demo stops midway")
	assert.Contains(t, out1, fmt.Sprintf("the next run resumes the %d jobs handed back", first.sum.saved))

	second, out2 := runInBubble(t, cfg)
	assert.Contains(t, out2, "shutdown: every job is done")
	assert.Contains(t, out2, fmt.Sprintf("ledger: %d jobs, %d done this run, 0 handed back, 0 lost, 0 done twice", first.sum.saved, first.sum.saved))
	assert.Equal(t, cfg.jobs, len(first.sum.done)+len(second.sum.done))

	third, out3 := runInBubble(t, cfg)
	assert.Contains(t, out3, "is complete: 60 jobs in 2 runs", "a finished batch makes way for a new one")
	assert.Equal(t, cfg.jobs, third.toDo)
}

// A state file that exists but cannot be trusted stops the run before anything
// starts, with an error that names the file and the way out.
func TestAnUnusableStateFileIsAClearErrorNotACrash(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string // written to the file; empty: the path is a directory
		says    string
	}{
		{"binary garbage is not a state file", "\x00\x01\xff{", "not a state file"},
		{"truncated JSON is not a state file", `{"version": 1, "jobs": 4, "pending": [{"id"`, "not a state file"},
		{"another program's JSON is not a state file", `{"name": "x"}`, `unknown field "name"`},
		{"another version is refused", `{"version": 2, "jobs": 4}`, "version 2, want 1"},
		{"a job both pending and done is refused", `{"version": 1, "jobs": 4, "pending": [{"id": 1, "units": 2}], "done": [{"id": 1, "run": 1}]}`, "job 1 is both pending and done"},
		{"a job outside the batch is refused", `{"version": 1, "jobs": 4, "pending": [{"id": 9, "units": 2}]}`, "job 9 (pending) is not in the batch of 4"},
		{"a directory cannot be read", "", "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tc.content == "" {
				require.NoError(t, os.Mkdir(cfg.state, 0o755))
			} else {
				require.NoError(t, os.WriteFile(cfg.state, []byte(tc.content), 0o644))
			}
			var buf bytes.Buffer
			o, err := run(t.Context(), cfg, &buf)
			require.Error(t, err)
			assert.Nil(t, o)
			assert.ErrorIs(t, err, errBadState)
			assert.ErrorContains(t, err, cfg.state)
			assert.ErrorContains(t, err, tc.says)
			assert.ErrorContains(t, err, "run with -fresh")
			assert.Empty(t, buf.String(), "nothing ran")
		})
	}
}
