package mailbox_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// heldDispatcher runs nothing until open is closed: what is posted to a new actor
// before then waits in its mailbox, unprocessed.
type heldDispatcher struct{ open chan struct{} }

func (d heldDispatcher) Schedule(fn func()) {
	go func() {
		<-d.open
		fn()
	}()
}

func (heldDispatcher) Throughput() int { return 300 }

type move struct{ from, to lifecycle.Phase }

// moves returns the phase changes of pid published on phases, up to Stopped, or
// fails the test.
func moves(t testing.TB, phases <-chan *mailbox.PhaseChanged, pid *actor.PID) ([]move, []*lifecycle.Reason) {
	t.Helper()
	var out []move
	var reasons []*lifecycle.Reason
	recvUntil(t, phases, "the move to Stopped", func(e *mailbox.PhaseChanged) bool {
		if !e.Actor.Equal(pid) {
			return false
		}
		out = append(out, move{e.From, e.To})
		reasons = append(reasons, e.Reason)
		return e.To == lifecycle.Stopped
	})
	return out, reasons
}

var (
	allPhases = []move{
		{lifecycle.Starting, lifecycle.Running},
		{lifecycle.Running, lifecycle.Stopping},
		{lifecycle.Stopping, lifecycle.Stopped},
	}
	neverRunning = []move{
		{lifecycle.Starting, lifecycle.Stopping},
		{lifecycle.Stopping, lifecycle.Stopped},
	}
)

func TestEachPhaseChangeHappensOnceAndIsPublished(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, sys *actor.ActorSystem, started chan struct{}) *actor.PID
		want []move
	}{
		{"a stop after the start moves through every phase", func(t *testing.T, sys *actor.ActorSystem, started chan struct{}) *actor.PID {
			pid, _ := spawn(t, sys, props(t, mailbox.Config{}, onStarted(started)))
			return pid
		}, allPhases},
		{"three stops move through every phase once", func(t *testing.T, sys *actor.ActorSystem, started chan struct{}) *actor.PID {
			inStep, hold := make(chan struct{}), make(chan struct{})
			plan := lifecycle.MustPlan(lifecycle.Step{Name: "hold", Policy: policy.DeferFlag, Run: func(context.Context) error {
				close(inStep)
				<-hold
				return nil
			}})
			pid, _ := spawn(t, sys, props(t, mailbox.Config{Plan: plan}, onStarted(started)))
			sys.Root.Stop(pid)
			recv(t, inStep, "the step to begin")
			sys.Root.Stop(pid)
			sys.Root.Stop(pid)
			close(hold)
			return pid
		}, allPhases},
		{"a stop before Started is processed skips Running", func(t *testing.T, sys *actor.ActorSystem, started chan struct{}) *actor.PID {
			d := heldDispatcher{open: make(chan struct{})}
			pid := sys.Root.Spawn(props(t, mailbox.Config{}, onStarted(started), actor.WithDispatcher(d)))
			require.Equal(t, lifecycle.Starting, mailbox.Of(sys, pid).Phase())
			sys.Root.Stop(pid)
			close(d.open)
			recv(t, started, "*actor.Started") // the actor still gets its Started, as protoactor gives it
			return pid
		}, neverRunning},
		{"a stop while the start hook runs skips Running", func(t *testing.T, sys *actor.ActorSystem, started chan struct{}) *actor.PID {
			inHook, hook := make(chan *actor.PID), make(chan struct{})
			pid := sys.Root.Spawn(props(t, mailbox.Config{Start: func(c actor.Context) error {
				inHook <- c.Self()
				<-hook
				return nil
			}}, onStarted(started)))
			recv(t, inHook, "the start hook to run")
			sys.Root.Stop(pid)
			close(hook)
			return pid
		}, neverRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// In a bubble, so that synctest.Wait is the sync point below.
			synctest.Test(t, func(t *testing.T) {
				sys := newSystem()
				phases, unsubscribe := events[*mailbox.PhaseChanged](sys)
				defer unsubscribe()
				pid := tt.run(t, sys, make(chan struct{}, 1))
				sys.Root.Stop(pid)
				got, reasons := moves(t, phases, pid)
				assert.Equal(t, tt.want, got)
				for i, m := range got {
					if m.to == lifecycle.Running {
						assert.Nil(t, reasons[i], "Running has no reason")
						continue
					}
					require.NotNil(t, reasons[i], "%v has a reason", m.to)
					assert.Equal(t, lifecycle.Requested, reasons[i].Kind)
				}
				// Every goroutine of the system is now blocked or gone: whatever it
				// was going to publish, late, has been published.
				synctest.Wait()
				assert.Empty(t, phases, "nothing after Stopped")
				settle()
			})
		})
	}
}

// onStarted is a Receive that signals started on *actor.Started.
func onStarted(started chan<- struct{}) actor.ReceiveFunc {
	return func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			started <- struct{}{}
		}
	}
}
