package mailbox_test

import (
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// A Stop during a restart's plan turns it into a stop (doc.go): the plan runs to
// its end as the restart's, then the actor stops for good. No new incarnation
// comes back; what was held for one is refused, like anything sent after the stop.
func TestAStopDuringARestartsPlanTurnsItIntoAStop(t *testing.T) {
	ways := []struct {
		name string
		stop func(sys *actor.ActorSystem, pid *actor.PID, mb *mailbox.Mailbox)
	}{
		{"protoactor's Stop", func(sys *actor.ActorSystem, pid *actor.PID, _ *mailbox.Mailbox) { sys.Root.Stop(pid) }},
		{"Request", func(_ *actor.ActorSystem, _ *actor.PID, mb *mailbox.Mailbox) {
			mb.Stop(lifecycle.NewReason(lifecycle.Requested, errDeploy), nil)
		}},
	}
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			sys := newSystem()
			finished, unsubscribe := events[*mailbox.Finished](sys)
			defer unsubscribe()
			p := newProbe(t)
			hold := make(chan struct{})
			producer, err := mailbox.Producer(mailbox.Config{Plan: lifecycle.MustPlan(p.step("hold", policy.DeferFlag, hold))})
			require.NoError(t, err)
			var made atomic.Int32
			// Spawned from the root, the actor restarts on a panic: protoactor's default strategy.
			pid, mb := spawn(t, sys, actor.PropsFromProducer(func() actor.Actor {
				made.Add(1)
				return actor.ReceiveFunc(func(c actor.Context) {
					if c.Message() == "crash" {
						panic(errBoom)
					}
					p.Receive(c)
				})
			}, actor.WithMailbox(producer)))
			dead, unsubscribeDead := deadLetters(sys, pid)
			defer unsubscribeDead()

			sys.Root.Send(pid, "crash")
			require.Equal(t, "step hold", p.next("the restart's step to begin"))
			tk := mb.Ticket()
			require.NotNil(t, tk)
			require.Equal(t, lifecycle.Restarting, tk.Reason().Kind, "a restart's plan runs")
			sys.Root.Send(pid, "held") // held for the next incarnation, while it is a restart

			w.stop(sys, pid, mb)
			sys.Root.Send(pid, "late")
			late := refusal(t, recv(t, dead, `the refusal of "late", sent after the stop`))
			assert.Equal(t, "late", late.Message)
			assert.ErrorIs(t, late, mailbox.ErrStopping, "refused at once: the restart is a stop now")
			close(hold)

			recv(t, tk.Done(), "the end of the stop")
			require.Equal(t, lifecycle.Stopped, mb.Phase(), "the actor stopped; it did not restart")
			require.Nil(t, mailbox.Of(sys, pid), "the actor is gone")
			require.Equal(t, int32(1), made.Load(), "no new incarnation was made")

			held := refusal(t, recv(t, dead, `the refusal of "held", which no incarnation will take`))
			assert.Equal(t, "held", held.Message)
			assert.ErrorIs(t, held, mailbox.ErrStopping)
			rep := tk.Report()
			require.NotNil(t, rep)
			assert.Equal(t, lifecycle.Restarting, rep.Reason.Kind, "the request that began the plan stays its reason")
			assert.Equal(t, 1, rep.StopRequests, "the stop reached the plan as one more request")
			require.Len(t, rep.Steps, 1)
			assert.Equal(t, lifecycle.Completed, rep.Steps[0].Status, "deferred: the step finished its work")
			assert.Equal(t, 1, rep.Steps[0].Deferred)
			assert.Equal(t, 2, rep.Refused, `"late", and "held" once the plan was over`)
			f := recv(t, finished, "the Finished notice")
			assert.Same(t, rep, f.Report)
			assert.Empty(t, p.got, "no incarnation took a message")
		})
	}
}
