package actor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// A step that panics fails alone: the next step runs, no failure reaches the parent,
// and the actor stops instead of restarting.
func TestAPanicInAStepFailsThatStepAndTheNextStepStillRuns(t *testing.T) {
	for _, p := range []policy.Policy{policy.Plain, policy.DeferFlag, policy.DeferReraise} {
		t.Run(p.String(), func(t *testing.T) {
			sys := newSystem()
			tr := &trail{}
			var made atomic.Int32
			failures, unsubscribe := events[*actor.SupervisorEvent](sys)
			defer unsubscribe()
			pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
				New: func() *worker { made.Add(1); return &worker{name: "w", trail: tr} },
				Steps: []qactor.Step[*worker]{
					{Name: "explode", Policy: p, Run: func(*worker, context.Context) error { panic("step blew up") }},
					step("close", policy.Plain, nil, false),
				},
			}))
			rep, err := qactor.Stop(within(t, "the component to stop"), sys, pid, nil)
			require.NoError(t, err)

			assert.Equal(t, lifecycle.Failed, rep.Steps[0].Status)
			var pe *policy.PanicError
			require.ErrorAs(t, rep.Steps[0].Err, &pe)
			assert.Equal(t, "step blew up", pe.Value)
			assert.NotEmpty(t, pe.Stack)
			assert.Equal(t, lifecycle.Completed, rep.Steps[1].Status, "cleanup is best effort: the next step runs")
			assert.Equal(t, int32(1), made.Load(), "a failed step never turns into a restart")
			assert.Empty(t, failures, "no supervision event: the failure was the step's, and recorded")
		})
	}
}

// crashOnStop panics in its Stopping and Stopped handlers: protoactor would escalate,
// restart the actor and lose the stop (upstream issue 214).
type crashOnStop struct{ worker }

func (c *crashOnStop) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Stopping:
		panic("stopping handler blew up")
	case *actor.Stopped:
		panic("stopped handler blew up")
	}
	c.worker.Receive(ctx)
}

func TestAPanicInAStopHandlerDoesNotResurrectTheActor(t *testing.T) {
	sys := newSystem()
	tr := &trail{}
	var made atomic.Int32
	props := qactor.Component[*crashOnStop]{
		New: func() *crashOnStop { made.Add(1); return &crashOnStop{worker{name: "w", trail: tr}} },
	}.MustProps()
	pid := sys.Root.Spawn(props)
	require.NoError(t, sys.Root.StopFuture(pid).Wait(), "the stop completes and watchers hear of it")
	_, live := qactor.PhaseOf(sys, pid)
	assert.False(t, live)
	assert.Equal(t, int32(1), made.Load())
}

// A Restart that reaches an actor while it waits for its children is one more
// request; the actor stops, and stays stopped.
func TestARestartWhileWaitingForChildrenDoesNotResurrectTheActor(t *testing.T) {
	sys := newSystem()
	tr := &trail{}
	var parents atomic.Int32
	gate, childInStep := make(chan struct{}), make(chan struct{})
	child := mustProps(t, qactor.Component[*worker]{
		New:   func() *worker { return &worker{name: "c", trail: tr} },
		Steps: []qactor.Step[*worker]{{Name: "slow", Policy: policy.DeferFlag, Run: func(*worker, context.Context) error { close(childInStep); <-gate; return nil }}},
	})
	spawned := make(chan struct{})
	pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New: func() *worker { parents.Add(1); return &worker{name: "p", trail: tr} },
		Start: []func(*worker, actor.Context) error{func(_ *worker, c actor.Context) error {
			c.Spawn(child)
			close(spawned)
			return nil
		}},
	}))
	recv(t, spawned, "the parent to spawn its child")
	tk := mailbox.Of(sys, pid).Stop(nil, nil)
	recv(t, childInStep, "the child's step to begin") // the parent waits for its child
	p, _ := sys.ProcessRegistry.Get(pid)
	p.SendSystemMessage(pid, &actor.Restart{})
	close(gate)
	recv(t, tk.Done(), "the parent's stop to end")

	rep := tk.Report()
	assert.Equal(t, 1, rep.Steps[0].StopRequests, "the Restart was a request to the children step")
	assert.Equal(t, 1, rep.Steps[0].Deferred)
	assert.Equal(t, lifecycle.Requested, rep.Reason.Kind, "the stop stays a stop")
	assert.Equal(t, int32(1), parents.Load())
	_, live := qactor.PhaseOf(sys, pid)
	assert.False(t, live)
}

func TestAFailingStartHookStopsTheComponentWithReasonStartFailed(t *testing.T) {
	sys := newSystem()
	tr := &trail{}
	finished, unsubscribe := events[*mailbox.Finished](sys)
	defer unsubscribe()
	pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New:   func() *worker { return &worker{name: "w", trail: tr} },
		Start: []func(*worker, actor.Context) error{func(*worker, actor.Context) error { return errors.New("no database") }},
		Steps: []qactor.Step[*worker]{step("undo", policy.Plain, nil, false)},
	}))
	f := recv(t, finished, "the Finished notice")
	assert.True(t, f.Actor.Equal(pid))
	assert.Equal(t, lifecycle.StartFailed, f.Report.Reason.Kind)
	assert.ErrorContains(t, f.Report.Reason, "start hook 1: no database")
	assert.Contains(t, tr.all(), "w undo start", "the plan runs to undo what started")
}

// selfPoster fills its own mailbox from inside Receive.
type selfPoster struct {
	refused chan error
}

func (s *selfPoster) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case string:
		if m == "fill" {
			for range 10 {
				c.Send(c.Self(), 1) // never blocks, even when full
			}
			f := c.RequestFuture(c.Self(), "one more", time.Second)
			_, err := qactor.Result(f)
			s.refused <- err
		}
	}
}

func TestABoundedMailboxRefusesWhenFullAndNeverDeadlocksAnActorPostingToItself(t *testing.T) {
	sys := newSystem()
	s := &selfPoster{refused: make(chan error, 1)}
	pid := sys.Root.Spawn(qactor.Component[*selfPoster]{New: func() *selfPoster { return s }, Capacity: 4}.MustProps())
	sys.Root.Send(pid, "fill")
	err := recv(t, s.refused, "the answer to the request the actor made of itself")
	assert.ErrorIs(t, err, mailbox.ErrFull)
	var r *mailbox.Refused
	require.ErrorAs(t, err, &r)
	assert.Nil(t, r.Reason, "full while running: no stop reason")
	assert.Equal(t, int64(7), mailbox.Of(sys, pid).RefusedCount(), "6 of the 10 sends and the request were refused, and counted")
	require.NoError(t, sys.Root.StopFuture(pid).Wait(), "the actor to stop")
}
