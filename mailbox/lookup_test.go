package mailbox_test

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

func TestOfFindsTheMailboxOfALiveQuiesceActorOnly(t *testing.T) {
	sys := newSystem()
	p := newProbe(t)
	live, mb := spawn(t, sys, props(t, mailbox.Config{}, p.Receive))
	stock := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	stopped, smb := spawn(t, sys, props(t, mailbox.Config{}, p.Receive))
	t.Cleanup(func() { sys.Root.Stop(stock); sys.Root.Stop(live) })
	sys.Root.Stop(stopped)
	recv(t, smb.Ticket().Done(), "the stop to end")
	future := actor.NewFuture(sys, bound)
	t.Cleanup(func() { sys.Root.Send(future.PID(), "done") })

	tests := []struct {
		name string
		pid  *actor.PID
		want *mailbox.Mailbox
	}{
		{"a live Quiesce actor has one", live, mb},
		{"an actor with protoactor's own mailbox has none", stock, nil},
		{"a stopped Quiesce actor has none", stopped, nil},
		{"a nil PID has none", nil, nil},
		{"a future's PID has none", future.PID(), nil},
		{"an unknown PID has none", actor.NewPID(sys.Address(), "nobody"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Same(t, tt.want, mailbox.Of(sys, tt.pid))
		})
	}
	assert.Equal(t, lifecycle.Running, mb.Phase())
	assert.Equal(t, lifecycle.Stopped, smb.Phase(), "the mailbox a caller kept still tells the phase")
}

func TestActorContextIsTheStoppingActorsContextInsideAStepAndNilOutside(t *testing.T) {
	for _, pol := range []policy.Policy{policy.Plain, policy.DeferFlag, policy.DeferReraise} {
		t.Run("inside a "+pol.String()+" step", func(t *testing.T) {
			sys := newSystem()
			seen := make(chan *actor.PID, 1)
			plan := lifecycle.MustPlan(lifecycle.Step{Name: "who", Policy: pol, Run: func(ctx context.Context) error {
				c := mailbox.ActorContext(ctx)
				if c == nil {
					seen <- nil
					return nil
				}
				seen <- c.Self()
				return nil
			}})
			pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan}, newProbe(t).Receive))
			sys.Root.Stop(pid)
			assert.True(t, pid.Equal(recv(t, seen, "the step to run")), "the step sees its own actor")
			recv(t, mb.Ticket().Done(), "the stop to end")
		})
	}
	t.Run("outside a mailbox", func(t *testing.T) {
		assert.Nil(t, mailbox.ActorContext(context.Background()))
		ran := false
		rep := lifecycle.MustPlan(lifecycle.Step{Name: "who", Run: func(ctx context.Context) error {
			ran = true
			assert.Nil(t, mailbox.ActorContext(ctx), "a plan run without a mailbox has no actor")
			return nil
		}}).Run(context.Background(), lifecycle.NewReason(lifecycle.Requested, nil), lifecycle.Options{})
		assert.True(t, ran)
		assert.Equal(t, lifecycle.Completed, rep.Steps[0].Status)
	})
	t.Run("the children step outside a mailbox fails and says why", func(t *testing.T) {
		rep := lifecycle.MustPlan(mailbox.ChildrenStep(policy.Plain, 0)).
			Run(context.Background(), lifecycle.NewReason(lifecycle.Requested, nil), lifecycle.Options{})
		require.Len(t, rep.Steps, 1)
		assert.Equal(t, lifecycle.Failed, rep.Steps[0].Status)
		assert.ErrorContains(t, rep.Steps[0].Err, "runs only in a Quiesce mailbox")
	})
}
