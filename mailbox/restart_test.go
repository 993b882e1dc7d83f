package mailbox_test

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

func TestAStopOrARestartReportsTheChildrenItStopped(t *testing.T) {
	tests := []struct {
		name   string
		begin  func(sys *actor.ActorSystem, pid *actor.PID)
		reason lifecycle.ReasonKind
	}{
		{"a stop", func(sys *actor.ActorSystem, pid *actor.PID) { sys.Root.Stop(pid) }, lifecycle.Requested},
		{"a restart", func(sys *actor.ActorSystem, pid *actor.PID) { sys.Root.Send(pid, "crash") }, lifecycle.Restarting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys := newSystem()
			finished, unsubscribe := events[*mailbox.Finished](sys)
			defer unsubscribe()
			kids := make(chan *actor.PID, 2)
			kid := props(t, mailbox.Config{}, func(actor.Context) {})
			// Spawned from the root, the parent restarts on a panic: protoactor's default strategy.
			pid, mb := spawn(t, sys, props(t, mailbox.Config{}, func(c actor.Context) {
				switch m := c.Message().(type) {
				case *actor.Started:
					kids <- c.Spawn(kid)
				case string:
					if m == "crash" {
						panic(errBoom)
					}
				}
			}))
			first := recv(t, kids, "the parent to spawn its child")
			tt.begin(sys, pid)
			var child, parent *lifecycle.Report
			for child == nil || parent == nil {
				f := recv(t, finished, "the Finished notices of the child and the parent")
				switch {
				case f.Actor.Equal(first):
					child = f.Report
				case f.Actor.Equal(pid):
					parent = f.Report
				}
			}
			assert.Equal(t, tt.reason, parent.Reason.Kind)
			assert.Equal(t, lifecycle.ParentStopping, child.Reason.Kind)
			require.NotEmpty(t, parent.Steps)
			assert.Equal(t, "children", parent.Steps[0].Name, "children stop first")
			assert.Equal(t, []*lifecycle.Report{child}, parent.Children, "the child's report is in its parent's")
			if tt.reason == lifecycle.Restarting {
				second := recv(t, kids, "the new incarnation to spawn its child")
				assert.False(t, second.Equal(first))
				recv(t, mb.Stop(nil, nil).Done(), "the stop to end")
			}
		})
	}
}

func TestMessagesDuringARestartsPlanAreHeldForTheNextIncarnation(t *testing.T) {
	for _, capacity := range []int{0, 1} {
		name := "unbounded"
		if capacity > 0 {
			name = "a full queue still takes notices"
		}
		t.Run(name, func(t *testing.T) {
			sys := newSystem()
			p := newProbe(t)
			hold := make(chan struct{})
			plan := lifecycle.MustPlan(p.step("hold", policy.DeferFlag, hold))
			receive := func(c actor.Context) {
				if c.Message() == "crash" {
					panic(errBoom)
				}
				p.Receive(c)
			}
			pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan, Capacity: capacity}, receive))
			sys.Root.Send(pid, "crash")
			require.Equal(t, "step hold", p.next("the restart's step to begin"))
			require.Equal(t, lifecycle.Stopping, mb.Phase())
			n := &mailbox.DeferredCancel{Step: "x"}
			sys.Root.Send(pid, "held")
			sys.Root.Send(pid, n)
			require.Zero(t, mb.RefusedCount(), "nothing is refused during a restart")
			close(hold)
			assert.Equal(t, []any{n, "held"}, p.take(2, "the notice and the held message"),
				"a notice reaches the incarnation of the moment, between its steps; user messages wait for the next one")
			assert.Equal(t, lifecycle.Running, mb.Phase())
			recv(t, mb.Stop(nil, nil).Done(), "the stop to end")
		})
	}
}
