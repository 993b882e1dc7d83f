package mailbox_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// A later request's notice reaches the parent and the requester (Request's from),
// and says exactly what became of the request: the step, its policy, the request's
// reason, the requests so far, how long the step has run and the budget left. A
// requester that is the parent hears it once. Times are exact on synctest's clock.
func TestANoticeTellsTheParentAndTheRequesterExactlyWhatBecameOfTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		parent, requester := newProbe(t), newProbe(t)
		nap := func(d time.Duration) func(context.Context) error {
			return func(ctx context.Context) error {
				select {
				case <-time.After(d):
					return nil
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
		}
		plan := lifecycle.MustPlan(
			lifecycle.Step{Name: "work", Policy: policy.DeferFlag, Run: nap(5 * time.Second)},
			lifecycle.Step{Name: "bye", Policy: policy.Plain, Run: nap(5 * time.Second)},
			lifecycle.Step{Name: "last", Policy: policy.DeferFlag, Run: nap(5 * time.Second)},
		)
		child := props(t, mailbox.Config{Plan: plan, Budget: mailbox.After(time.Minute)}, newProbe(t).Receive)
		kids := make(chan *actor.PID, 1)
		ppid, _ := spawn(t, sys, props(t, mailbox.Config{}, func(c actor.Context) {
			if _, ok := c.Message().(*actor.Started); ok {
				kids <- c.Spawn(child)
			}
			parent.Receive(c)
		}))
		kid := <-kids
		rpid := sys.Root.Spawn(actor.PropsFromFunc(requester.Receive))
		synctest.Wait()
		mb := mailbox.Of(sys, kid)
		require.NotNil(t, mb)

		tk := mb.Stop(lifecycle.NewReason(lifecycle.Requested, errDeploy), nil) // begins the plan: work runs
		time.Sleep(3 * time.Second)
		second := lifecycle.NewReason(lifecycle.Requested, errors.New("second"))
		mb.Stop(second, rpid)
		synctest.Wait()
		for who, p := range map[string]*probe{"the parent": parent, "the requester": requester} {
			n, ok := p.next("the DeferredCancel notice to " + who).(*mailbox.DeferredCancel)
			require.True(t, ok, "%s hears a DeferredCancel", who)
			assert.True(t, kid.Equal(n.Actor), who)
			assert.Equal(t, "work", n.Step, who)
			assert.Equal(t, policy.DeferFlag, n.Policy, who)
			assert.Same(t, second, n.Cause, who)
			assert.Equal(t, 1, n.StopRequests, who)
			assert.Equal(t, 3*time.Second, n.Elapsed, "%s: the step began with the stop, 3 s ago", who)
			assert.Equal(t, 57*time.Second, n.BudgetLeft, "%s: a minute from the first request", who)
		}

		time.Sleep(3 * time.Second) // work ended at 5 s; bye has run for 1 s
		third := lifecycle.NewReason(lifecycle.Requested, errors.New("third"))
		mb.Stop(third, rpid)
		synctest.Wait()
		for who, p := range map[string]*probe{"the parent": parent, "the requester": requester} {
			n, ok := p.next("the Interrupted notice to " + who).(*mailbox.Interrupted)
			require.True(t, ok, "%s hears an Interrupted", who)
			assert.True(t, kid.Equal(n.Actor), who)
			assert.Equal(t, "bye", n.Step, who)
			assert.Same(t, third, n.Cause, who)
			assert.Equal(t, 2, n.StopRequests, who)
			assert.Equal(t, time.Second, n.Elapsed, who)
		}

		time.Sleep(2 * time.Second) // bye was cut at 6 s: last has run for 2 s
		fourth := lifecycle.NewReason(lifecycle.Requested, errors.New("fourth"))
		mb.Stop(fourth, ppid)
		<-tk.Done()
		n, ok := parent.next("the DeferredCancel notice to the parent, who asked").(*mailbox.DeferredCancel)
		require.True(t, ok)
		assert.Equal(t, "last", n.Step)
		assert.Same(t, fourth, n.Cause)
		assert.Equal(t, 3, n.StopRequests)
		assert.Equal(t, 2*time.Second, n.Elapsed)
		assert.Equal(t, 52*time.Second, n.BudgetLeft)
		f, ok := parent.next("the Finished notice").(*mailbox.Finished)
		require.True(t, ok, "the parent heard the fourth request's notice once, then Finished")
		assert.Same(t, tk.Report(), f.Report)
		synctest.Wait()
		assert.Empty(t, parent.got, "nothing else")
		assert.Empty(t, requester.got, "the requester hears only of its own requests")

		require.NoError(t, sys.Root.StopFuture(ppid).Wait())
		require.NoError(t, sys.Root.StopFuture(rpid).Wait())
		settle()
	})
}
