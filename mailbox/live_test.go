package mailbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// noticeLog is a parent's Receive that keeps every notice it hears.
type noticeLog struct {
	mu       sync.Mutex
	notices  []mailbox.Notice
	kid      chan *actor.PID
	child    *actor.Props
	finished chan struct{} // closed when a Finished is heard
	once     sync.Once
}

func (l *noticeLog) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		if l.child != nil {
			l.kid <- c.Spawn(l.child)
		}
	case mailbox.Notice:
		l.mu.Lock()
		l.notices = append(l.notices, m)
		l.mu.Unlock()
		if _, ok := m.(*mailbox.Finished); ok && l.finished != nil {
			l.once.Do(func() { close(l.finished) })
		}
	}
}

func (l *noticeLog) all() []mailbox.Notice {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]mailbox.Notice(nil), l.notices...)
}

// A stop's ID is in its report and in every notice about it, so that log records,
// notices and reports of one stop can be put together.
func TestEveryNoticeOfAStopCarriesItsID(t *testing.T) {
	sys := newSystem()
	hold := make(chan struct{})
	childPlan := lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(context.Context) error { <-hold; return nil }})
	parent := &noticeLog{kid: make(chan *actor.PID, 1), child: props(t, mailbox.Config{Plan: childPlan}, func(actor.Context) {}),
		finished: make(chan struct{})}
	spawn(t, sys, props(t, mailbox.Config{}, parent.Receive))
	kid := recv(t, parent.kid, "the child")
	cm := mailbox.Of(sys, kid)
	tk := cm.Stop(nil, nil)
	cm.Stop(nil, nil) // deferred
	cm.Force(nil)     // forced
	close(hold)
	rep := stopped(t, tk, "the child")
	recv(t, parent.finished, "the parent to hear Finished")
	require.NotZero(t, rep.ID)
	assert.Equal(t, rep.ID, tk.Snapshot().ID)
	var kinds []string
	for _, n := range parent.all() {
		var id lifecycle.StopID
		switch n := n.(type) {
		case *mailbox.DeferredCancel:
			id, kinds = n.Stop, append(kinds, "deferred")
		case *mailbox.Forced:
			id, kinds = n.Stop, append(kinds, "forced")
		case *mailbox.Finished:
			id, kinds = n.Stop, append(kinds, "finished")
		default:
			continue
		}
		assert.Equal(t, rep.ID, id)
	}
	assert.Equal(t, []string{"deferred", "forced", "finished"}, kinds)
}

// A step that reports progress often reaches its parent at most ten times a second,
// the last report of each interval at its end; the parent adds its children's up.
func TestProgressReachesTheParentThrottledAndAddsUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		childPlan := lifecycle.MustPlan(lifecycle.Step{Name: "flush", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
			for i := 1; i <= 100; i++ { // 100 reports, one each 10 ms
				time.Sleep(10 * time.Millisecond)
				lifecycle.ReportProgress(ctx, "flushed", i, 100)
			}
			return nil
		}})
		parent := &noticeLog{kid: make(chan *actor.PID, 2), child: props(t, mailbox.Config{Plan: childPlan}, func(actor.Context) {})}
		plan := lifecycle.MustPlan(mailbox.ChildrenStep(policy.DeferFlag, 0))
		ppid := sys.Root.Spawn(props(t, mailbox.Config{Plan: plan}, parent.Receive))
		<-parent.kid
		pm := mailbox.Of(sys, ppid)
		tk := pm.Stop(nil, nil)
		time.Sleep(505 * time.Millisecond)
		synctest.Wait()
		s := tk.Snapshot()
		assert.Equal(t, "children", s.Step)
		assert.Equal(t, 1, s.ChildrenStopping)
		require.NotNil(t, s.Children, "the parent adds up its children's progress")
		assert.InDelta(t, 45, s.Children.Done, 5, "what it heard last, within one interval of the 50 done")
		assert.Equal(t, 100, s.Children.Total)
		assert.InDelta(t, float64(s.Children.Done)/s.Elapsed.Seconds(), s.Children.Rate, 1e-9,
			"the whole's rate: done over the time the stop has run")
		<-tk.Done()
		var done []int
		for _, n := range parent.all() {
			if p, ok := n.(*mailbox.Progressed); ok {
				assert.Equal(t, "flush", p.Step)
				done = append(done, p.Progress.Done)
			}
		}
		assert.True(t, len(done) >= 10 && len(done) <= 12, "one at the start, then about one per 100 ms over 1 s: %v", done)
		assert.IsIncreasing(t, done, "in order")
		assert.Equal(t, 100, done[len(done)-1], "the last one is not lost")
		settle()
	})
}

func TestASnapshotMarshalsToJSONForPeople(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		plan := lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
			time.Sleep(time.Second)
			lifecycle.ReportProgress(ctx, "sessions drained", 3, 4)
			time.Sleep(time.Second)
			return nil
		}})
		pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan, Budget: mailbox.After(10 * time.Second)}, func(actor.Context) {}))
		_, stopping := mb.Snapshot()
		assert.False(t, stopping, "a running actor has no stop to show")
		mb.Stop(lifecycle.NewReason(lifecycle.Shutdown, nil), nil)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		s, stopping := mb.Snapshot()
		require.True(t, stopping)
		out, err := json.Marshal(s)
		require.NoError(t, err)
		var got map[string]any
		require.NoError(t, json.Unmarshal(out, &got))
		assert.Equal(t, pid.Id, got["actor"])
		assert.Equal(t, "stopping", got["phase"])
		assert.Equal(t, "shutdown", got["reason"])
		assert.Equal(t, "drain", got["step"])
		assert.Equal(t, "defer-flag", got["policy"])
		assert.Equal(t, "1.5s", got["elapsed"])
		assert.Equal(t, "8.5s", got["budget_left"])
		assert.Equal(t, map[string]any{"message": "sessions drained", "done": 3.0, "total": 4.0, "rate": 3.0, "eta": "333ms"}, got["progress"])
		assert.Len(t, got["id"], 16)
		<-mb.Ticket().Done()
		settle()
	})
}

// With Settings.ActorLabels, a step's goroutine names the actor too, and so does an
// abandoned step's report; without it, the free op=<step> label only.
func TestActorLabelsNameTheActorOfAnAbandonedStep(t *testing.T) {
	for _, on := range []bool{false, true} {
		sys := actor.NewActorSystem()
		mailbox.Configure(sys, mailbox.Settings{ActorLabels: on})
		release := make(chan struct{})
		plan := lifecycle.MustPlan(lifecycle.Step{Name: "flush", Policy: policy.DeferFlag, Always: true,
			Run: func(context.Context) error { <-release; return nil }})
		pid := sys.Root.Spawn(props(t, mailbox.Config{Plan: plan, AbandonAfter: time.Millisecond}, func(actor.Context) {}))
		mb := mailbox.Of(sys, pid)
		tk := mb.Force(nil)
		rep := stopped(t, tk, "the actor")
		want := "op=flush"
		if on {
			want += " actor=" + pid.Id
		}
		assert.Equal(t, want, rep.Steps[0].Goroutine)
		close(release)
	}
}

// Log records name the stop, so that a stop's records can be found together.
func TestLogRecordsNameTheStop(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sys := newSystem()
	plan := lifecycle.MustPlan(lifecycle.Step{Name: "close", Run: func(context.Context) error { return nil }})
	_, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan, Logger: logger}, func(actor.Context) {}))
	rep := stopped(t, mb.Stop(nil, nil), "the actor")
	mu.Lock()
	defer mu.Unlock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var withStop int
	for _, l := range lines {
		if strings.Contains(l, "stop="+rep.ID.String()) {
			withStop++
		}
	}
	assert.Equal(t, 3, withStop, "stopping, the step, stopped: %s", buf.String())
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A watcher hears every notice of a stop, in order, Finished last, as the parent does;
// Unwatch ends it.
func TestAWatcherHearsEveryNoticeAsTheParentDoes(t *testing.T) {
	sys := newSystem()
	hold, reported := make(chan struct{}), make(chan struct{})
	plan := lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
		lifecycle.ReportProgress(ctx, "drained", 1, 1)
		close(reported)
		<-hold
		return nil
	}})
	_, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan}, func(actor.Context) {})) // no parent
	watcher := &noticeLog{finished: make(chan struct{})}
	wpid := sys.Root.Spawn(actor.PropsFromFunc(watcher.Receive))
	gone := &noticeLog{}
	gpid := sys.Root.Spawn(actor.PropsFromFunc(gone.Receive))
	mb.Watch(wpid)
	mb.Watch(wpid) // once is enough
	mb.Watch(gpid)
	mb.Unwatch(gpid)
	tk := mb.Stop(nil, nil)
	recv(t, reported, "the progress")
	mb.Stop(nil, nil)
	close(hold)
	stopped(t, tk, "the actor")
	recv(t, watcher.finished, "the watcher to hear Finished")
	var kinds []string
	for _, n := range watcher.all() {
		kinds = append(kinds, fmt.Sprintf("%T", n))
	}
	assert.Equal(t, []string{"*mailbox.Progressed", "*mailbox.DeferredCancel", "*mailbox.Finished"}, kinds)
	assert.Empty(t, gone.all(), "an unwatched actor hears nothing")
}

// A parent whose Children step gave up waiting still counts its children down in its
// snapshot, and its elapsed time runs until the stop is over, not the plan.
func TestASnapshotStaysTrueAfterTheChildrenStepGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		slow := props(t, mailbox.Config{Plan: lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag,
			Run: func(context.Context) error { time.Sleep(time.Second); return nil }})}, func(actor.Context) {})
		kid := make(chan *actor.PID, 1)
		plan := lifecycle.MustPlan(mailbox.ChildrenStep(policy.DeferFlag, 100*time.Millisecond))
		ppid := sys.Root.Spawn(props(t, mailbox.Config{Plan: plan}, func(c actor.Context) {
			if _, ok := c.Message().(*actor.Started); ok {
				kid <- c.Spawn(slow)
			}
		}))
		<-kid
		synctest.Wait()
		tk := mailbox.Of(sys, ppid).Stop(nil, nil)
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		s := tk.Snapshot()
		assert.True(t, s.Finished, "the plan is over: the Children step timed out")
		assert.Equal(t, 1, s.ChildrenStopping, "the child still stops")
		assert.Equal(t, 500*time.Millisecond, s.Elapsed, "the stop goes on past its plan")
		<-tk.Done()
		assert.Equal(t, 0, tk.Snapshot().ChildrenStopping)
		settle()
	})
}
