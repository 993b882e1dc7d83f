package mailbox_test

import (
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

var errDeploy = errors.New("deploy")

// A way to send "late" to pid, and what came back: the reply, or what the actor or
// the dead letters got.
type way struct {
	name    string
	running any // what comes back while the actor runs
	deliver func(t *testing.T, sys *actor.ActorSystem, pid *actor.PID, p *probe) any
}

var ways = []way{
	{"a RequestFuture", "ok late", func(t *testing.T, sys *actor.ActorSystem, pid *actor.PID, _ *probe) any {
		res, err := sys.Root.RequestFuture(pid, "late", bound).Result()
		require.NoError(t, err, "no timeout, no dead letter")
		return res
	}},
	{"a Request from an actor", "ok late", func(t *testing.T, sys *actor.ActorSystem, pid *actor.PID, _ *probe) any {
		replies := make(chan any, 1)
		asker := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			switch m := c.Message().(type) {
			case string:
				if m == "ask" {
					c.Request(pid, "late")
					return
				}
				replies <- m
			case *mailbox.Refused:
				replies <- m
			}
		}))
		defer sys.Root.Stop(asker)
		sys.Root.Send(asker, "ask")
		return recv(t, replies, "the reply to the actor's request")
	}},
	{"a Send", "late", func(t *testing.T, sys *actor.ActorSystem, pid *actor.PID, p *probe) any {
		dead, unsubscribe := deadLetters(sys, pid)
		defer unsubscribe()
		sys.Root.Send(pid, "late")
		select {
		case got := <-p.got:
			return got
		case d := <-dead:
			return d
		case <-time.After(bound):
			t.Fatalf("waited %v for \"late\" to reach Receive or the dead letters", bound)
			return nil
		}
	}},
}

func TestAMessageSentWhileStoppingIsRefusedWithTheReasonAndCounted(t *testing.T) {
	for _, w := range ways {
		for _, stopping := range []bool{false, true} {
			name := w.name + " while running is handled"
			if stopping {
				name = w.name + " while stopping is refused"
			}
			t.Run(name, func(t *testing.T) {
				sys := newSystem()
				p := newProbe(t)
				hold := make(chan struct{})
				plan := lifecycle.MustPlan(p.step("hold", policy.DeferFlag, hold))
				pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan}, p.Receive))
				reason := lifecycle.NewReason(lifecycle.Requested, errDeploy)
				if stopping {
					mb.Stop(reason, nil)
					require.Equal(t, "step hold", p.next("the step to begin"))
				}

				got := w.deliver(t, sys, pid, p)

				if !stopping {
					assert.Equal(t, w.running, got)
					assert.Zero(t, mb.RefusedCount())
					mb.Stop(reason, nil)
					for p.next("the step to begin") != "step hold" {
					}
				} else {
					r := refusal(t, got)
					assert.Equal(t, "late", r.Message)
					assert.True(t, pid.Equal(r.Actor))
					assert.Same(t, reason, r.Reason)
					assert.Equal(t, mailbox.ErrStopping, r.Err)
					for _, target := range []error{mailbox.ErrRefused, mailbox.ErrStopping, reason, errDeploy} {
						assert.ErrorIs(t, r, target)
					}
					for _, other := range []error{mailbox.ErrStopped, mailbox.ErrFull, actor.ErrTimeout, actor.ErrDeadLetter} {
						assert.NotErrorIs(t, r, other)
					}
					assert.Contains(t, r.Error(), "refused a message of type string: stopping")
					assert.Contains(t, r.Error(), "stop requested: deploy")
					assert.EqualValues(t, 1, mb.RefusedCount())
				}
				close(hold)
				recv(t, mb.Ticket().Done(), "the stop to end")
				rep := mb.Ticket().Report()
				assert.Equal(t, int(mb.RefusedCount()), rep.Refused, "every refusal is in the report")
				assert.Empty(t, p.got, "a refused message never reaches Receive")
			})
		}
	}
}

// refusal returns got as a *Refused, or fails the test.
func refusal(t *testing.T, got any) *mailbox.Refused {
	t.Helper()
	r, ok := got.(*mailbox.Refused)
	require.True(t, ok, "want a *mailbox.Refused, got %T %v", got, got)
	return r
}

func TestAfterTheActorStoppedARefusalSaysStopped(t *testing.T) {
	sys := newSystem()
	p := newProbe(t)
	pid, mb := spawn(t, sys, props(t, mailbox.Config{}, p.Receive))
	// A sender that resolved the process before it was removed still reaches the
	// mailbox: protoactor's PID cache does exactly that.
	proc, ok := sys.ProcessRegistry.Get(pid)
	require.True(t, ok)
	dead, unsubscribe := deadLetters(sys, pid)
	defer unsubscribe()
	reason := lifecycle.NewReason(lifecycle.Requested, errDeploy)
	recv(t, mb.Stop(reason, nil).Done(), "the stop to end")
	require.Equal(t, lifecycle.Stopped, mb.Phase())
	require.Nil(t, mailbox.Of(sys, pid))

	future := actor.NewFuture(sys, bound)
	proc.SendUserMessage(pid, &actor.MessageEnvelope{Message: "asked", Sender: future.PID()})
	proc.SendUserMessage(pid, "told")
	res, err := future.Result()
	require.NoError(t, err, "the refusal of the request, as the future's answer")
	told := recv(t, dead, "the refusal of the message told, as a dead letter")

	for _, got := range []any{res, told} {
		r := refusal(t, got)
		assert.Equal(t, mailbox.ErrStopped, r.Err)
		assert.ErrorIs(t, r, mailbox.ErrRefused)
		assert.ErrorIs(t, r, reason)
		assert.NotErrorIs(t, r, mailbox.ErrStopping, "stopped, not stopping")
	}
	assert.EqualValues(t, 2, mb.RefusedCount(), "the mailbox counts every refusal in its life")
	assert.Zero(t, mb.Ticket().Report().Refused, "the report was complete before")
	assert.Empty(t, p.got)
}
