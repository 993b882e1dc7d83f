package mailbox_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/mailbox"
)

// In the Running phase a message costs no allocation (doc.go). Measured on a real
// actor system with testing.AllocsPerRun, one message per run, each handled before
// the next is sent, so that every message also schedules the actor anew; the
// message is a pointer made beforehand, so sending it allocates nothing either.
// protoactor's own mailbox is measured the same way, as the baseline the claim is
// made against: whatever protoactor itself allocates on the way shows in both.
func TestARunningMailboxAllocatesNothingPerMessage(t *testing.T) {
	quiesce, err := mailbox.Producer(mailbox.Config{})
	require.NoError(t, err)
	measure := func(t *testing.T, opts ...actor.PropsOption) float64 {
		sys := newSystem()
		msg := new(int)
		handled := make(chan struct{})
		pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			if c.Message() == msg {
				handled <- struct{}{}
			}
		}, opts...))
		defer func() { require.NoError(t, sys.Root.StopFuture(pid).Wait(), "the actor to stop") }()
		// One timer for the whole run, made outside it: a wait's bound that allocates nothing.
		deadline := time.NewTimer(bound)
		defer deadline.Stop()
		timedOut := false
		send := func() {
			sys.Root.Send(pid, msg)
			select {
			case <-handled:
			case <-deadline.C:
				timedOut = true
			}
		}
		for range 100 {
			send() // warm up: the queue has grown, the goroutines exist
		}
		allocs := testing.AllocsPerRun(1000, send)
		require.False(t, timedOut, "waited %v for a message to be handled", bound)
		return allocs
	}
	stock := measure(t)
	got := measure(t, actor.WithMailbox(quiesce))
	t.Logf("allocations per message: %v with the Quiesce mailbox, %v with protoactor's", got, stock)
	assert.Zero(t, got, "allocations per message in the Running phase")
	assert.LessOrEqual(t, got, stock, "no more than protoactor's own mailbox")
}
