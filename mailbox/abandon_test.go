package mailbox_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// The stuck goroutine leaves the mailbox alone (doc.go): a step abandoned after a
// force may return at last, long after a fresh goroutine has finished the plan.
// Nothing more happens then: no step runs again, no second Finished or Stopped is
// published, and the report stays as it was.
func TestAnAbandonedStepThatReturnsLateLeavesTheMailboxAlone(t *testing.T) {
	for _, pol := range []policy.Policy{policy.Plain, policy.DeferFlag} {
		t.Run("a "+pol.String()+" step", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sys := newSystem()
				published, unsubscribe := events[any](sys)
				defer unsubscribe()
				release := make(chan struct{})
				var afterRuns atomic.Int32
				plan := lifecycle.MustPlan(
					lifecycle.Step{Name: "work", Policy: pol, Run: func(context.Context) error {
						<-release // deaf to its ctx: only abandonment gets past it
						return errors.New("too late")
					}},
					lifecycle.Step{Name: "after", Always: true, Run: func(context.Context) error {
						afterRuns.Add(1)
						return nil
					}},
				)
				cfg := mailbox.Config{Plan: plan, Budget: mailbox.After(time.Second), AbandonAfter: time.Second}
				pid, mb := spawn(t, sys, props(t, cfg, newProbe(t).Receive))

				tk := mb.Stop(nil, nil)
				<-tk.Done() // forced at 1 s, abandoned at 2 s; a fresh goroutine finished the plan
				synctest.Wait()
				rep := tk.Report()
				require.NotNil(t, rep)
				require.Len(t, rep.Steps, 2)
				require.Equal(t, lifecycle.Abandoned, rep.Steps[0].Status)
				require.Equal(t, lifecycle.Completed, rep.Steps[1].Status)
				kept := *rep
				kept.Steps = append([]lifecycle.StepReport(nil), rep.Steps...)
				finishedBefore := 0
				for len(published) > 0 {
					if f, ok := (<-published).(*mailbox.Finished); ok && f.Actor.Equal(pid) {
						finishedBefore++
					}
				}
				require.Equal(t, 1, finishedBefore, "one Finished, when the plan was over")

				time.Sleep(time.Minute)
				close(release) // the abandoned step returns at last
				synctest.Wait()

				var late []any
				for len(published) > 0 {
					late = append(late, <-published)
				}
				assert.Empty(t, late, "nothing is published once the stuck goroutine is free")
				assert.Equal(t, int32(1), afterRuns.Load(), "no step runs again")
				assert.Equal(t, kept, *rep, "the report stays as it was")
				assert.Equal(t, kept.Steps, rep.Steps)
				assert.Equal(t, lifecycle.Stopped, mb.Phase())
				settle()
			})
		})
	}
}
