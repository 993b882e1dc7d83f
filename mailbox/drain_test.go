package mailbox_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

func TestMessagesQueuedBeforeTheStopAreDrainedInOrderBeforeTheFirstStep(t *testing.T) {
	for _, queued := range []int{0, 1, 5} {
		t.Run(fmt.Sprintf("%d queued", queued), func(t *testing.T) {
			sys := newSystem()
			p := newProbe(t)
			plan := lifecycle.MustPlan(p.step("first", policy.Plain, nil), p.step("second", policy.DeferFlag, nil))
			pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan}, p.Receive))
			sys.Root.Send(pid, "block")
			p.awaitEntered()
			require.Equal(t, "block", p.next("\"block\" to reach Receive"))

			var want []any
			for i := range queued {
				sys.Root.Send(pid, fmt.Sprint("m", i))
				want = append(want, fmt.Sprint("m", i))
			}
			asked := sys.Root.RequestFuture(pid, "asked", bound) // a request queued before the stop is answered
			want = append(want, "asked", "step first", "step second")
			sys.Root.Stop(pid)
			late := sys.Root.RequestFuture(pid, "late", bound) // one sent after it is refused
			close(p.release)

			assert.Equal(t, want, p.take(len(want), "the queue, then the steps"), "the queue, in order, then the steps")
			res, err := asked.Result()
			require.NoError(t, err, "the answer to the request queued before the stop")
			assert.Equal(t, "ok asked", res)
			res, err = late.Result()
			require.NoError(t, err, "the refusal of the request sent after the stop")
			assert.ErrorIs(t, refusal(t, res), mailbox.ErrStopping)

			recv(t, mb.Ticket().Done(), "the stop to end")
			rep := mb.Ticket().Report()
			assert.Equal(t, queued+1, rep.Drained, "what was queued when the stop began; not what came before")
			assert.Equal(t, 1, rep.Refused)
			require.Len(t, rep.Steps, 2)
			for _, s := range rep.Steps {
				assert.Equal(t, lifecycle.Completed, s.Status, s.Name)
			}
			assert.Empty(t, p.got)
		})
	}
}

func TestNoticesAreAdmittedWhileStoppingWhenOtherMessagesAreNot(t *testing.T) {
	sys := newSystem()
	p := newProbe(t)
	hold := make(chan struct{})
	plan := lifecycle.MustPlan(p.step("hold", policy.DeferFlag, hold))
	pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan}, p.Receive))
	dead, unsubscribe := deadLetters(sys, pid)
	defer unsubscribe()
	sys.Root.Stop(pid)
	require.Equal(t, "step hold", p.next("the step to begin"))

	childReport := &lifecycle.Report{Actor: "child"}
	notices := []mailbox.Notice{
		&mailbox.DeferredCancel{Step: "x"},
		&mailbox.Interrupted{Step: "y"},
		&mailbox.Forced{Step: "z"},
		&mailbox.Abandoned{Step: "w"},
		&mailbox.Finished{Report: childReport},
	}
	for _, n := range notices {
		sys.Root.Send(pid, n)
	}
	sys.Root.Send(pid, "late")
	refused := refusal(t, recv(t, dead, "the refusal of \"late\""))
	assert.Equal(t, "late", refused.Message)
	close(hold)

	for _, n := range notices {
		assert.Same(t, n, p.next("each notice, once the step is over"), "each notice reaches Receive once the step is over, in order")
	}
	recv(t, mb.Ticket().Done(), "the stop to end")
	rep := mb.Ticket().Report()
	assert.Equal(t, 1, rep.Refused, "only the ordinary message was refused")
	assert.EqualValues(t, 1, mb.RefusedCount())
	assert.Equal(t, []*lifecycle.Report{childReport}, rep.Children, "a Finished notice brings its report into the stop's")
	assert.Empty(t, p.got)
	assert.Empty(t, dead)
}
