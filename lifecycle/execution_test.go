package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

func TestStepsRunInOrderEachExactlyOnce(t *testing.T) {
	var (
		mu  sync.Mutex
		log []string
	)
	logged := func(name string) func(context.Context) error {
		return func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			log = append(log, name)
			return nil
		}
	}
	p := mustPlan(t,
		step("drain", policy.DeferFlag, logged("drain")),
		step("disconnect", policy.Plain, logged("disconnect")),
		step("close", policy.DeferReraise, logged("close")),
		always("flush", policy.Plain, logged("flush")),
	)
	e := p.Start(reason, lifecycle.Options{})
	assert.Empty(t, log, "Start runs nothing")
	assert.False(t, e.Finished())

	reps := runAll(e)
	assert.Equal(t, []string{"drain", "disconnect", "close", "flush"}, log)
	assert.Equal(t, []string{"drain", "disconnect", "close", "flush"}, reportNames(reps))
	for _, r := range reps {
		assert.Equal(t, lifecycle.Completed, r.Status, r.Name)
	}
	assert.True(t, e.Finished())

	r, more := e.RunNext()
	assert.False(t, more, "a finished execution has nothing more to run")
	assert.Zero(t, r)
	assert.Len(t, log, 4, "no step runs twice")
}

func TestEmptyPlanFinishesAtOnce(t *testing.T) {
	e := mustPlan(t).Start(reason, lifecycle.Options{})
	_, more := e.RunNext()
	assert.False(t, more)
	assert.True(t, e.Finished())
	assert.Empty(t, e.Report().Steps)
	assert.Equal(t, lifecycle.AllCompleted, e.Report().Verdict())
}

func TestAFailingStepIsRecordedAndTheNextStepStillRuns(t *testing.T) {
	panicking := func(v any) func(context.Context) error {
		return func(context.Context) error { panic(v) }
	}
	timed := func(p policy.Policy) lifecycle.Step {
		return lifecycle.Step{Name: "work", Policy: p, Timeout: time.Second, Run: waitCtx}
	}
	type check func(t *testing.T, r lifecycle.StepReport)
	failedWith := func(target error) check {
		return func(t *testing.T, r lifecycle.StepReport) {
			assert.Equal(t, lifecycle.Failed, r.Status)
			assert.ErrorIs(t, r.Err, target)
			var pe *policy.PanicError
			assert.False(t, errors.As(r.Err, &pe), "an error is not a panic")
		}
	}
	panickedWith := func(value any) check {
		return func(t *testing.T, r lifecycle.StepReport) {
			assert.Equal(t, lifecycle.Failed, r.Status)
			var pe *policy.PanicError
			require.ErrorAs(t, r.Err, &pe)
			assert.Equal(t, value, pe.Value)
			assert.Equal(t, "work", pe.Op, "the panic names the step")
			assert.NotEmpty(t, pe.Stack)
		}
	}
	timedOut := func(t *testing.T, r lifecycle.StepReport) {
		assert.Equal(t, lifecycle.TimedOut, r.Status)
		assert.ErrorIs(t, r.Err, policy.ErrTimeout)
		assert.ErrorIs(t, r.Err, context.DeadlineExceeded)
		assert.NotErrorIs(t, r.Err, policy.ErrCallerCanceled, "a timeout is the step's own, not a request")
		assert.Equal(t, time.Second, r.Duration)
	}
	for _, tc := range []struct {
		name  string
		step  lifecycle.Step
		check check
	}{
		{"an error under plain is a failure", step("work", policy.Plain, fail), failedWith(errStep)},
		{"an error under defer-flag is a failure", step("work", policy.DeferFlag, fail), failedWith(errStep)},
		{"an error under defer-reraise is a failure", step("work", policy.DeferReraise, fail), failedWith(errStep)},
		{"a panic under plain is a failure", step("work", policy.Plain, panicking("boom")), panickedWith("boom")},
		{"a panic under defer-flag is a failure", step("work", policy.DeferFlag, panicking("boom")), panickedWith("boom")},
		{"a panic under defer-reraise is a failure", step("work", policy.DeferReraise, panicking(42)), panickedWith(42)},
		{"a panic with an error unwraps to it", step("work", policy.DeferFlag, panicking(errStep)), panickedWith(errStep)},
		{"its own Timeout under plain is a time-out", timed(policy.Plain), timedOut},
		{"its own Timeout under defer-flag is a time-out", timed(policy.DeferFlag), timedOut},
		{"its own Timeout under defer-reraise is a time-out", timed(policy.DeferReraise), timedOut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var nextRan bool
				p := mustPlan(t, tc.step, step("next", policy.Plain, func(context.Context) error { nextRan = true; return nil }))
				e := p.Start(reason, lifecycle.Options{Actor: "svc"})
				var reps []lifecycle.StepReport
				require.NotPanics(t, func() { reps = runAll(e) }, "no panic escapes RunNext")
				require.Len(t, reps, 2)
				tc.check(t, reps[0])
				assert.Equal(t, reps[0], e.Report().Steps[0], "RunNext returns what the report holds")
				assert.True(t, nextRan, "the next step still runs")
				assert.Equal(t, lifecycle.Completed, reps[1].Status)
				assert.False(t, reps[0].Reraised)
				assert.Equal(t, lifecycle.SomeFailed, e.Report().Verdict(), "a failure is no escalation, but the verdict says it")
			})
		})
	}
}

func TestAStepThatCompletesIsNotAFailure(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			e := mustPlan(t, step("work", p, ok)).Start(reason, lifecycle.Options{})
			reps := runAll(e)
			require.Len(t, reps, 1)
			assert.Equal(t, lifecycle.Completed, reps[0].Status)
			assert.NoError(t, reps[0].Err)
			assert.Zero(t, reps[0].StopRequests)
			assert.Empty(t, e.Report().Failed())
		})
	}
}

func TestObserverHearsEachStepOnceIncludingSkippedOnes(t *testing.T) {
	obs := &recorder{}
	var e *lifecycle.Execution
	reraise := func(ctx context.Context) error {
		e.Cancel(errSecondStop) // a request while the step runs
		return nil
	}
	p := mustPlan(t,
		step("drain", policy.DeferReraise, reraise),
		step("disconnect", policy.Plain, ok),
		always("flush", policy.Plain, ok),
		step("close", policy.DeferFlag, ok),
		always("log", policy.DeferFlag, fail),
	)
	e = p.Start(reason, lifecycle.Options{Observer: obs})
	reps := runAll(e)

	assert.Equal(t, []string{"drain", "flush", "log"}, reportNames(reps), "RunNext returns only the steps it ran")
	assert.Equal(t, []string{"drain", "disconnect", "flush", "close", "log"}, obs.finishedNames())
	rep := e.Report()
	for i, heard := range obs.finished {
		assert.Equal(t, rep.Steps[i], heard, "the observer hears what the report keeps")
	}
	assert.Equal(t, map[string]lifecycle.Status{
		"drain": lifecycle.Completed, "disconnect": lifecycle.Skipped, "flush": lifecycle.Completed,
		"close": lifecycle.Skipped, "log": lifecycle.Failed,
	}, statuses(rep))
	assert.Empty(t, obs.abandonedCopy())
}

func TestRunningNamesTheStepThatRunsNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		e := mustPlan(t, step("drain", policy.DeferFlag, func(context.Context) error { <-release; return nil })).
			Start(reason, lifecycle.Options{})
		_, _, _, running := e.Running()
		assert.False(t, running, "nothing runs before RunNext")

		done := make(chan struct{})
		go func() { defer close(done); runAll(e) }()
		time.Sleep(1500 * time.Millisecond)
		name, p, elapsed, running := e.Running()
		assert.True(t, running)
		assert.Equal(t, "drain", name)
		assert.Equal(t, policy.DeferFlag, p)
		assert.Equal(t, 1500*time.Millisecond, elapsed)

		close(release)
		<-done
		_, _, _, running = e.Running()
		assert.False(t, running, "nothing runs once the plan is over")
	})
}

// TestExecutionIsSafeForConcurrentUse races requests, forces and readers against the
// steps; run with -race.
func TestExecutionIsSafeForConcurrentUse(t *testing.T) {
	const steps, callers = 8, 4
	var list []lifecycle.Step
	for i := range steps {
		s := step(fmt.Sprintf("s%d", i), policies[i%3], func(ctx context.Context) error {
			lifecycle.ReportProgress(ctx, "working", i, steps)
			return nil
		})
		s.Always = i%2 == 0
		list = append(list, s)
	}
	e := mustPlan(t, list...).Start(reason, lifecycle.Options{Observer: &recorder{}})

	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
		most  atomic.Int64 // the highest count a receipt gave
		taken atomic.Int64 // the highest count of a request the execution took: held, or given to a step
	)
	raise := func(to *atomic.Int64, n int) {
		for {
			m := to.Load()
			if int64(n) <= m || to.CompareAndSwap(m, int64(n)) {
				return
			}
		}
	}
	for i := range callers {
		wg.Go(func() {
			<-start
			for j := range 50 {
				rc := e.Cancel(errSecondStop)
				raise(&most, rc.StopRequests)
				if rc.Held || rc.Step != "" {
					raise(&taken, rc.StopRequests) // a request after the end is neither
				}
				if i == 0 && j == 25 {
					e.Force(errDeadline)
				}
				_ = e.Report().String()
				e.Running()
				e.Forced()
				e.Finished()
			}
		})
	}
	close(start)
	reps := runAll(e)
	waitAll(t, &wg, "the callers to finish their requests")

	rep := e.Report()
	assert.Equal(t, int64(callers*50), most.Load(), "every request is counted once, in its receipt")
	assert.Equal(t, int(taken.Load()), rep.StopRequests,
		"the report counts the requests that came while the plan ran, and not one that came after")
	var ran []string
	skipping := false
	for i, s := range rep.Steps {
		assert.NotEqual(t, lifecycle.Pending, s.Status, "%s ended somehow", s.Name)
		assert.NotEqual(t, lifecycle.Abandoned, s.Status, "%s returned at once", s.Name)
		if s.Status == lifecycle.Skipped {
			assert.False(t, list[i].Always, "%s is Always: it runs whatever happened", s.Name)
			assert.Error(t, s.Err, "%s says why it was skipped", s.Name)
			skipping = true
			continue
		}
		assert.True(t, list[i].Always || !skipping, "%s ran after a step was skipped: a force or a re-raise lasts", s.Name)
		ran = append(ran, s.Name)
	}
	assert.Equal(t, ran, reportNames(reps), "RunNext returned each step that ran, once, in order")
}

func reportNames(reps []lifecycle.StepReport) []string {
	var out []string
	for _, r := range reps {
		out = append(out, r.Name)
	}
	return out
}

// Advance runs a plan exactly as RunNext does (the same steps, skips, report and
// Observer calls), and returns the status of the step each call ran.
func TestAdvanceIsRunNextWithoutTheReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		steps := func(requested chan struct{}) []lifecycle.Step {
			return []lifecycle.Step{
				step("drain", policy.DeferFlag, ok),
				step("flush", policy.Plain, fail),
				step("disconnect", policy.DeferReraise, func(context.Context) error {
					requested <- struct{}{} // a request comes while it runs: re-raised after it
					<-requested
					return nil
				}),
				step("close", policy.Plain, ok), // skipped by the re-raise
				always("log", policy.Plain, ok),
			}
		}
		type run struct {
			obs      *recorder
			statuses []lifecycle.Status
			report   *lifecycle.Report
		}
		drive := func(next func(e *lifecycle.Execution) (lifecycle.Status, bool)) run {
			requested := make(chan struct{})
			r := run{obs: &recorder{}}
			e := mustPlan(t, steps(requested)...).Start(reason, lifecycle.Options{Observer: r.obs})
			go func() {
				<-requested
				e.Cancel(errors.New("shutdown"))
				requested <- struct{}{}
			}()
			for {
				s, more := next(e)
				if !more {
					break
				}
				r.statuses = append(r.statuses, s)
			}
			r.report = e.Report()
			return r
		}
		byRunNext := drive(func(e *lifecycle.Execution) (lifecycle.Status, bool) {
			r, more := e.RunNext()
			return r.Status, more
		})
		byAdvance := drive((*lifecycle.Execution).Advance)

		want := []lifecycle.Status{lifecycle.Completed, lifecycle.Failed, lifecycle.Completed, lifecycle.Completed}
		assert.Equal(t, want, byRunNext.statuses, "drain, flush, disconnect, log: close is skipped, not run")
		assert.Equal(t, want, byAdvance.statuses)
		assert.Equal(t, byRunNext.report.String(), byAdvance.report.String())
		assert.Equal(t, byRunNext.obs.finishedNames(), byAdvance.obs.finishedNames())
		assert.Equal(t, []string{"drain", "flush", "disconnect", "close", "log"}, byAdvance.obs.finishedNames(),
			"the Observer hears of every step, the skipped one too, in order")
		assert.Equal(t, lifecycle.Skipped, statuses(byAdvance.report)["close"])
	})
}

// Steps are timed by the monotonic clock, as Go times durations, even when
// Options.Start comes without a monotonic reading (a time from elsewhere): a step's
// Start carries one, so its Duration does not follow the wall clock's adjustments.
func TestStepsAreTimedByTheMonotonicClock(t *testing.T) {
	for _, start := range []time.Time{{}, time.Now(), time.Now().Round(0)} {
		e := mustPlan(t, step("close", policy.Plain, ok)).Start(reason, lifecycle.Options{Start: start})
		r, more := e.RunNext()
		require.True(t, more)
		assert.NotEqual(t, r.Start.Round(0), r.Start, "the step's Start has a monotonic reading (Options.Start %v)", start)
		assert.False(t, r.Start.Before(e.Report().Start), "a step starts after its stop")
	}
}
