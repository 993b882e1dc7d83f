package actor_test

import (
	"context"
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

// Every way protoactor stops an actor runs the plan: nothing new to learn.
func TestEveryProtoactorStopPathRunsThePlan(t *testing.T) {
	paths := []struct {
		name   string
		reason lifecycle.ReasonKind
		stop   func(t *testing.T, sys *actor.ActorSystem, pid *actor.PID, parent *actor.PID)
	}{
		{"RootContext.Stop", lifecycle.Requested, func(t *testing.T, sys *actor.ActorSystem, pid, _ *actor.PID) { sys.Root.Stop(pid) }},
		{"StopFuture", lifecycle.Requested, func(t *testing.T, sys *actor.ActorSystem, pid, _ *actor.PID) {
			require.NoError(t, sys.Root.StopFuture(pid).Wait(), "the component to stop")
		}},
		{"Poison", lifecycle.Poisoned, func(t *testing.T, sys *actor.ActorSystem, pid, _ *actor.PID) { sys.Root.Poison(pid) }},
		{"PoisonFuture", lifecycle.Poisoned, func(t *testing.T, sys *actor.ActorSystem, pid, _ *actor.PID) {
			require.NoError(t, sys.Root.PoisonFuture(pid).Wait(), "the component to stop")
		}},
		{"a plain protoactor parent stopping", lifecycle.Requested, func(t *testing.T, sys *actor.ActorSystem, _, parent *actor.PID) {
			require.NoError(t, sys.Root.StopFuture(parent).Wait(), "the parent to stop")
		}},
		{"a supervisor's Stop directive", lifecycle.Requested, func(t *testing.T, sys *actor.ActorSystem, pid, _ *actor.PID) {
			sys.Root.Send(pid, "crash") // the parent's strategy answers with Stop
		}},
	}
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) {
			sys := newSystem()
			tr := &trail{}
			props := qactor.Component[*crasher]{
				New: func() *crasher { return &crasher{worker: worker{name: "c", trail: tr}} },
				Steps: []qactor.Step[*crasher]{{Name: "bye", Policy: policy.DeferFlag, Run: func(c *crasher, ctx context.Context) error {
					c.trail.add("bye: " + lifecycle.ReasonFrom(ctx).Kind.String())
					return nil
				}}},
			}.MustProps()
			finished, unsubscribe := events[*mailbox.Finished](sys)
			defer unsubscribe()
			phases, unsubscribe2 := events[*mailbox.PhaseChanged](sys)
			defer unsubscribe2()
			pidc := make(chan *actor.PID, 1)
			parent := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
				if _, ok := c.Message().(*actor.Started); ok {
					pidc <- c.Spawn(props)
				}
			}, actor.WithSupervisor(actor.NewOneForOneStrategy(0, time.Minute, func(any) actor.Directive { return actor.StopDirective }))))
			pid := recv(t, pidc, "the parent to spawn its child")

			path.stop(t, sys, pid, parent)
			f := recv(t, finished, "the Finished notice")
			recvUntil(t, phases, "the move to Stopped", func(p *mailbox.PhaseChanged) bool {
				return p.Actor.Equal(pid) && p.To == lifecycle.Stopped // protoactor has finished with the actor
			})

			assert.Equal(t, []string{"bye: " + path.reason.String(), "c stopping", "c stopped"}, tr.all())
			assert.Equal(t, path.reason, f.Report.Reason.Kind)
			require.NoError(t, sys.Root.StopFuture(parent).Wait(), "the parent to stop")
			_, live := qactor.PhaseOf(sys, pid)
			assert.False(t, live)
		})
	}
}

func TestPoisonHandlesWhatCameBeforeThePillAndRefusesWhatCameAfter(t *testing.T) {
	sys := newSystem()
	tr := &trail{}
	block, entered := make(chan struct{}), make(chan struct{})
	pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New:   func() *worker { return &worker{name: "w", trail: tr, block: block, entered: entered} },
		Steps: []qactor.Step[*worker]{step("bye", policy.Plain, nil, false)},
	}))
	sys.Root.Send(pid, "block")
	recv(t, entered, `"block" to be handled`)
	sys.Root.Send(pid, "before")
	poisoned := sys.Root.PoisonFuture(pid)
	after := sys.Root.RequestFuture(pid, "after", bound)
	close(block)
	require.NoError(t, poisoned.Wait(), "the poisoned component to stop")

	assert.Equal(t, []string{"w got block", "w got before", "w bye start", "w bye end", "w stopping", "w stopped"}, tr.all())
	_, err := qactor.Result(after)
	assert.ErrorIs(t, err, mailbox.ErrStopping, "queued behind the pill: refused, not handled")
	var r *mailbox.Refused
	require.ErrorAs(t, err, &r)
	assert.Equal(t, lifecycle.Poisoned, r.Reason.Kind)
}
