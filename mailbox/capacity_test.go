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

// fill spawns a probe with a queue of capacity, makes it busy with "block" and fills
// its queue with "q0", "q1", ...
func fill(t *testing.T, sys *actor.ActorSystem, p *probe, cfg mailbox.Config) (*actor.PID, *mailbox.Mailbox) {
	t.Helper()
	pid, mb := spawn(t, sys, props(t, cfg, p.Receive))
	sys.Root.Send(pid, "block")
	p.awaitEntered()
	require.Equal(t, "block", p.next("\"block\" to reach Receive"))
	for i := range cfg.Capacity {
		sys.Root.Send(pid, "q"+string(rune('0'+i)))
	}
	require.Equal(t, cfg.Capacity, mb.UserMessageCount())
	return pid, mb
}

func TestAFullQueueRefusesWithErrFullWhileRunningAndTakesMessagesOnceThereIsRoom(t *testing.T) {
	sys := newSystem()
	p := newProbe(t)
	pid, mb := fill(t, sys, p, mailbox.Config{Capacity: 2})
	dead, unsubscribe := deadLetters(sys, pid)
	defer unsubscribe()

	asked, err := sys.Root.RequestFuture(pid, "asked", bound).Result()
	require.NoError(t, err, "a refusal, at once: no timeout")
	sys.Root.Send(pid, "told")
	told := recv(t, dead, "the refusal of the message told, as a dead letter")
	for _, got := range []any{asked, told} {
		r := refusal(t, got)
		assert.Equal(t, mailbox.ErrFull, r.Err)
		assert.Nil(t, r.Reason, "the actor is not stopping")
		assert.ErrorIs(t, r, mailbox.ErrRefused)
		assert.ErrorIs(t, r, mailbox.ErrFull)
		assert.NotErrorIs(t, r, mailbox.ErrStopping)
		assert.Contains(t, r.Error(), "mailbox full")
	}
	assert.EqualValues(t, 2, mb.RefusedCount())
	assert.Equal(t, lifecycle.Running, mb.Phase(), "a full queue is no reason to stop")

	close(p.release)
	assert.Equal(t, []any{"q0", "q1"}, p.take(2, "the messages that fitted"), "what fitted is handled; what did not never arrives")
	res, err := sys.Root.RequestFuture(pid, "later", bound).Result()
	require.NoError(t, err, "the answer to a request once there is room")
	assert.Equal(t, "ok later", res, "once there is room, messages are taken again")
	assert.Equal(t, "later", p.next("\"later\" to reach Receive"))
	recv(t, mb.Stop(nil, nil).Done(), "the stop to end")
	assert.Zero(t, mb.Ticket().Report().Refused, "refusals while running are not the stop's")
}

func TestLifecycleMessagesAreNeverRefusedForCapacity(t *testing.T) {
	t.Run("a stop of an actor with a full queue drains it and runs its plan", func(t *testing.T) {
		sys := newSystem()
		p := newProbe(t)
		plan := lifecycle.MustPlan(p.step("one", policy.Plain, nil), p.step("two", policy.DeferFlag, nil))
		pid, mb := fill(t, sys, p, mailbox.Config{Capacity: 1, Plan: plan})
		sys.Root.Stop(pid)
		close(p.release)
		assert.Equal(t, []any{"q0", "step one", "step two"}, p.take(3, "the drain, then the steps"))
		recv(t, mb.Ticket().Done(), "the stop to end")
		rep := mb.Ticket().Report()
		assert.Equal(t, 1, rep.Drained)
		assert.Zero(t, rep.Refused)
		assert.Zero(t, mb.RefusedCount())
	})
	t.Run("a notice to a running actor with a full queue is taken", func(t *testing.T) {
		sys := newSystem()
		p := newProbe(t)
		pid, mb := fill(t, sys, p, mailbox.Config{Capacity: 1})
		n := &mailbox.DeferredCancel{Step: "x"}
		sys.Root.Send(pid, n)
		require.Zero(t, mb.RefusedCount(), "a notice is no user message to count or refuse")
		close(p.release)
		assert.Equal(t, []any{n, "q0"}, p.take(2, "the notice, then the queued message"),
			"a notice travels with system messages: it overtakes queued user messages")
		recv(t, mb.Stop(nil, nil).Done(), "the stop to end")
	})
	t.Run("a notice to a stopping actor with a full queue is taken", func(t *testing.T) {
		sys := newSystem()
		p := newProbe(t)
		hold := make(chan struct{})
		plan := lifecycle.MustPlan(p.step("hold", policy.DeferFlag, hold))
		pid, mb := spawn(t, sys, props(t, mailbox.Config{Capacity: 1, Plan: plan}, p.Receive))
		sys.Root.Stop(pid)
		require.Equal(t, "step hold", p.next("the step to begin"))
		notices := []mailbox.Notice{&mailbox.DeferredCancel{Step: "x"}, &mailbox.Interrupted{Step: "y"}}
		for _, n := range notices {
			sys.Root.Send(pid, n)
		}
		close(hold)
		assert.Equal(t, []any{notices[0], notices[1]}, p.take(2, "the notices, once the step is over"))
		recv(t, mb.Ticket().Done(), "the stop to end")
		assert.Zero(t, mb.RefusedCount())
	})
}

func TestAnActorThatFloodsItsOwnFullQueueDoesNotDeadlock(t *testing.T) {
	sys := newSystem()
	got := make(chan any, 16)
	pid, mb := spawn(t, sys, props(t, mailbox.Config{Capacity: 1}, func(c actor.Context) {
		switch m := c.Message().(type) {
		case string:
			for i := range 10 {
				c.Send(c.Self(), i) // the first fits; the others find the queue full
			}
			got <- m
		case int:
			got <- m
		}
	}))
	dead, unsubscribe := deadLetters(sys, pid)
	defer unsubscribe()
	sys.Root.Send(pid, "flood")
	assert.Equal(t, "flood", recv(t, got, "\"flood\" to be handled"), "the posts returned: no deadlock")
	assert.Equal(t, 0, recv(t, got, "the one post that fitted"))
	for i := 1; i < 10; i++ {
		r := refusal(t, recv(t, dead, "the refusal of each post that did not fit"))
		assert.Equal(t, i, r.Message)
		assert.ErrorIs(t, r, mailbox.ErrFull)
	}
	assert.EqualValues(t, 9, mb.RefusedCount())
	recv(t, mb.Stop(nil, nil).Done(), "the stop to end")
	assert.Empty(t, got)
}
