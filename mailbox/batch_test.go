package mailbox_test

import (
	"fmt"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// batch is an actor.MessageBatch.
type batch []any

func (b batch) GetMessages() []any { return b }

// unpacked is a Receive that reports each message it gets, and answers a batch
// that comes with a sender.
func unpacked(got chan<- string) actor.ReceiveFunc {
	return func(c actor.Context) {
		switch m := c.Message().(type) {
		case string:
			got <- m
		case batch:
			got <- fmt.Sprintf("batch of %d", len(m))
			if c.Sender() != nil {
				c.Respond("ok batch")
			}
		}
	}
}

func TestAMessageBatchIsUnpackedAsTheStockMailboxDoes(t *testing.T) {
	want := []string{"a", "b", "c", "batch of 3"} // each message, then the batch itself
	for _, quiesce := range []bool{false, true} {
		name := "with the stock mailbox"
		if quiesce {
			name = "with the Quiesce mailbox"
		}
		t.Run(name, func(t *testing.T) {
			sys := newSystem()
			got := make(chan string, 16)
			p := actor.PropsFromFunc(unpacked(got))
			if quiesce {
				p = props(t, mailbox.Config{}, unpacked(got))
			}
			pid := sys.Root.Spawn(p)
			defer sys.Root.Stop(pid)

			sys.Root.Send(pid, batch{"a", "b", "c"})
			assert.Equal(t, want, recvN(t, got, len(want), "the batch sent, message by message"), "sent")

			res, err := sys.Root.RequestFuture(pid, batch{"a", "b", "c"}, bound).Result()
			require.NoError(t, err, "the answer to the batch requested")
			assert.Equal(t, "ok batch", res, "requested: the batch carries the sender, its messages do not")
			assert.Equal(t, want, recvN(t, got, len(want), "the batch requested, message by message"), "requested")
		})
	}
}

func TestABatchSentWhileStoppingIsRefusedMessageByMessage(t *testing.T) {
	sys := newSystem()
	p := newProbe(t)
	hold := make(chan struct{})
	pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: lifecycle.MustPlan(p.step("hold", policy.Plain, hold))}, p.Receive))
	dead, unsubscribe := deadLetters(sys, pid)
	defer unsubscribe()
	sys.Root.Stop(pid)
	require.Equal(t, "step hold", p.next("the step to begin"))

	b := batch{"a", "b"}
	sys.Root.Send(pid, b)
	var refused []any
	for range 3 {
		r := refusal(t, recv(t, dead, "the refusal of each message of the batch"))
		assert.ErrorIs(t, r, mailbox.ErrStopping)
		refused = append(refused, r.Message)
	}
	assert.Equal(t, []any{"a", "b", b}, refused, "each message, then the batch")
	close(hold)
	recv(t, mb.Ticket().Done(), "the stop to end")
	assert.Equal(t, 3, mb.Ticket().Report().Refused)
	assert.Empty(t, p.got)
}
