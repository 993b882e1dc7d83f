package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

const abandonAfter = 2 * time.Second

// TestForceCancelsTheRunningStepWhateverItsPolicy forces three seconds into a step
// that waits on its ctx, and checks that step, the steps after it and the report.
func TestForceCancelsTheRunningStepWhateverItsPolicy(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var o observed
				plan := mustPlan(t,
					step("work", p, workFor(time.Hour, &o)),
					step("skipped", p, ok),
					always("flush", p, ok),
					lifecycle.Step{Name: "wait", Policy: p, Timeout: 10 * time.Second, Always: true, Run: waitCtx},
					lifecycle.Step{Name: "short", Policy: p, Timeout: time.Second, Always: true, Run: waitCtx},
				)
				e := plan.Start(reason, lifecycle.Options{AbandonAfter: abandonAfter})
				firsts := make(chan []bool, 1)
				go func() {
					time.Sleep(3 * time.Second)
					firsts <- []bool{e.Force(errDeadline).First, e.Force(errSecondStop).First}
				}()
				reps := runAll(e)
				assert.Equal(t, []bool{true, false}, <-firsts, "Force returns true only the first time")
				assert.False(t, e.Force(errDeadline).First, "nor after the plan is over")
				rep := e.Report()

				assert.True(t, o.cancelled, "the step's own ctx is cancelled, under every policy")
				assert.ErrorIs(t, o.cause, lifecycle.ErrForced)
				assert.ErrorIs(t, o.cause, errDeadline, "the force's cause travels with ErrForced")
				assert.NotErrorIs(t, o.cause, errSecondStop, "a second force changes nothing")

				work := rep.Steps[0]
				assert.Equal(t, lifecycle.Forced, work.Status)
				assert.Equal(t, 3*time.Second, work.Duration)
				assert.ErrorIs(t, work.Err, lifecycle.ErrForced)
				assert.ErrorIs(t, work.Err, context.Canceled)
				assert.Zero(t, work.StopRequests, "a force is not a request")
				assert.False(t, work.Reraised)

				skipped := rep.Steps[1]
				assert.Equal(t, lifecycle.Skipped, skipped.Status)
				assert.ErrorIs(t, skipped.Err, lifecycle.ErrForced)
				assert.ErrorIs(t, skipped.Err, errDeadline)
				assert.True(t, skipped.Start.IsZero())

				assert.Equal(t, lifecycle.Completed, rep.Steps[2].Status, "an Always step runs after a force")
				wait := rep.Steps[3]
				assert.Equal(t, lifecycle.TimedOut, wait.Status)
				assert.Equal(t, abandonAfter, wait.Duration, "under force an Always step's Timeout is at most the AbandonAfter")
				assert.ErrorIs(t, wait.Err, policy.ErrTimeout)
				short := rep.Steps[4]
				assert.Equal(t, lifecycle.TimedOut, short.Status)
				assert.Equal(t, time.Second, short.Duration, "a Timeout under the AbandonAfter stays")

				assert.Equal(t, []string{"work", "flush", "wait", "short"}, reportNames(reps))
				assert.ErrorIs(t, rep.Forced, lifecycle.ErrForced)
				assert.ErrorIs(t, rep.Forced, errDeadline)
				assert.Equal(t, rep.Forced, e.Forced())
				assert.Equal(t, lifecycle.SomeForced, rep.Verdict())
				assert.Equal(t, 3*time.Second+abandonAfter+time.Second, rep.Duration)
			})
		})
	}
}

func TestForceCauseIsErrForcedAloneOrWrappedOnce(t *testing.T) {
	wrapped := errors.Join(lifecycle.ErrForced, errDeadline)
	for _, tc := range []struct {
		name  string
		cause error
		check func(t *testing.T, got error)
	}{
		{"no cause is ErrForced itself", nil, func(t *testing.T, got error) {
			assert.Same(t, lifecycle.ErrForced, got)
		}},
		{"a cause is wrapped with ErrForced", errDeadline, func(t *testing.T, got error) {
			assert.ErrorIs(t, got, lifecycle.ErrForced)
			assert.ErrorIs(t, got, errDeadline)
		}},
		{"a cause that is already a force is kept as it is", wrapped, func(t *testing.T, got error) {
			assert.Same(t, wrapped, got)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// In a bubble: should the step run after all, its hour passes at once.
			synctest.Test(t, func(t *testing.T) {
				var o observed
				e := mustPlan(t, step("work", policy.DeferFlag, workFor(time.Hour, &o))).Start(reason, lifecycle.Options{})
				require.True(t, e.Force(tc.cause).First)
				runAll(e) // an Always-less plan: nothing runs, but the force is kept
				tc.check(t, e.Forced())
				tc.check(t, e.Report().Forced)
			})
		})
	}
}

func TestForceBeforeAnyStepRunsOnlyTheAlwaysSteps(t *testing.T) {
	var ran []string
	mark := func(name string) func(context.Context) error {
		return func(context.Context) error { ran = append(ran, name); return nil }
	}
	obs := &recorder{}
	e := mustPlan(t,
		step("drain", policy.DeferFlag, mark("drain")),
		always("flush", policy.Plain, mark("flush")),
		step("close", policy.DeferReraise, mark("close")),
	).Start(reason, lifecycle.Options{Observer: obs})
	require.True(t, e.Force(nil).First)
	reps := runAll(e)
	assert.Equal(t, []string{"flush"}, ran)
	assert.Equal(t, []string{"flush"}, reportNames(reps))
	assert.Equal(t, []string{"drain", "flush", "close"}, obs.finishedNames())
	assert.Equal(t, lifecycle.SomeForced, e.Report().Verdict(), "a force with no step to cut is still a force")
}

func TestForceAfterDeferredRequestsKeepsTheirCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var o observed
		e := mustPlan(t, step("drain", policy.DeferReraise, workFor(time.Hour, &o)), always("flush", policy.Plain, ok)).
			Start(reason, lifecycle.Options{})
		go func() {
			time.Sleep(time.Second)
			e.Cancel(errSecondStop)
			e.Cancel(errSecondStop)
			time.Sleep(time.Second)
			e.Force(errDeadline)
		}()
		reps := runAll(e)
		drain := reps[0]
		assert.Equal(t, lifecycle.Forced, drain.Status)
		assert.Equal(t, 2, drain.StopRequests)
		assert.Equal(t, 2, drain.Deferred)
		assert.False(t, drain.Reraised, "a forced step re-raises nothing")
		assert.Equal(t, 2*time.Second, drain.Duration)
		assert.ErrorIs(t, o.cause, lifecycle.ErrForced)
		assert.Equal(t, lifecycle.Completed, reps[1].Status)
	})
}

// TestAPlainStepInterruptedThenForcedStaysInterrupted: the request cancelled the
// step's ctx first, so the force finds nothing left to cancel; the step returned the
// request's cancellation and is Interrupted, not Failed.
func TestAPlainStepInterruptedThenForcedStaysInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cause error
		slow := func(ctx context.Context) error {
			<-ctx.Done()
			cause = context.Cause(ctx)
			time.Sleep(time.Second) // slow to wind down
			return ctx.Err()
		}
		e := mustPlan(t, step("work", policy.Plain, slow), always("flush", policy.Plain, ok)).
			Start(reason, lifecycle.Options{AbandonAfter: abandonAfter})
		go func() {
			time.Sleep(time.Second)
			e.Cancel(errSecondStop)
			time.Sleep(500 * time.Millisecond)
			e.Force(errDeadline)
		}()
		reps := runAll(e)
		work := reps[0]
		assert.ErrorIs(t, cause, errSecondStop)
		assert.Equal(t, lifecycle.Interrupted, work.Status)
		assert.ErrorIs(t, work.Err, errSecondStop)
		assert.Equal(t, 2*time.Second, work.Duration)
		assert.Empty(t, e.Report().Failed(), "an interrupted step did not fail")
		assert.Equal(t, lifecycle.SomeForced, e.Report().Verdict())
	})
}

func TestAForcedStepThatReturnsWithinTheBudgetIsNotAbandoned(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				obs := &recorder{}
				lingering := func(ctx context.Context) error {
					<-ctx.Done()
					time.Sleep(abandonAfter - time.Nanosecond)
					return ctx.Err()
				}
				e := mustPlan(t, step("work", p, lingering)).Start(reason, lifecycle.Options{AbandonAfter: abandonAfter, Observer: obs})
				go func() {
					time.Sleep(time.Second)
					e.Force(nil)
				}()
				reps := runAll(e)
				assert.Equal(t, lifecycle.Forced, reps[0].Status)
				assert.Empty(t, reps[0].Goroutine)
				assert.Empty(t, obs.abandonedCopy())
				assert.Equal(t, lifecycle.SomeForced, e.Report().Verdict())
			})
		})
	}
}
