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

// TestARequestWhileAStepRunsIsHandledByItsPolicy sends one request two seconds into
// a step of five, under each policy, and checks the step, the receipt and the rest of
// the plan.
func TestARequestWhileAStepRunsIsHandledByItsPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy    policy.Policy
		status    lifecycle.Status
		took      time.Duration
		cancelled bool
		deferred  int
		reraised  bool
		next      lifecycle.Status // a later ordinary step
	}{
		{policy.Plain, lifecycle.Interrupted, 2 * time.Second, true, 0, false, lifecycle.Completed},
		{policy.DeferFlag, lifecycle.Completed, 5 * time.Second, false, 1, false, lifecycle.Completed},
		{policy.DeferReraise, lifecycle.Completed, 5 * time.Second, false, 1, true, lifecycle.Skipped},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var o observed
				p := mustPlan(t,
					step("work", tc.policy, workFor(5*time.Second, &o)),
					step("next", policy.Plain, ok),
					always("last", policy.Plain, ok),
				)
				e := p.Start(reason, lifecycle.Options{})
				receipt := make(chan lifecycle.Receipt, 1)
				go func() {
					time.Sleep(2 * time.Second)
					receipt <- e.Cancel(errSecondStop)
				}()
				runAll(e)
				rc := <-receipt
				rep := e.Report()
				work := rep.Steps[0]

				assert.Equal(t, lifecycle.Receipt{
					Step: "work", Policy: tc.policy, Deferred: tc.policy.Deferred(),
					Elapsed: 2 * time.Second, StopRequests: 1,
				}, rc)
				assert.Equal(t, !tc.policy.Deferred(), rc.Interrupted())

				assert.Equal(t, tc.status, work.Status)
				assert.Equal(t, tc.took, work.Duration)
				assert.Equal(t, tc.cancelled, o.cancelled, "the step's ctx is cancelled only under plain")
				assert.Equal(t, 1, work.StopRequests)
				assert.Equal(t, tc.deferred, work.Deferred)
				assert.Equal(t, tc.reraised, work.Reraised)
				assert.Equal(t, 1, rep.StopRequests)
				if tc.cancelled {
					assert.ErrorIs(t, o.cause, errSecondStop, "the step's ctx carries the request's cause")
					assert.ErrorIs(t, work.Err, errSecondStop)
					assert.ErrorIs(t, work.Err, context.Canceled)
					assert.ErrorIs(t, work.Err, policy.ErrCallerCanceled)
				} else {
					assert.NoError(t, work.Err, "a deferred step that finished did not fail")
				}

				assert.Equal(t, tc.next, rep.Steps[1].Status)
				if tc.next == lifecycle.Skipped {
					assert.ErrorIs(t, rep.Steps[1].Err, errSecondStop, "a skipped step says which request skipped it")
					assert.ErrorIs(t, rep.Steps[1].Err, context.Canceled)
					assert.True(t, rep.Steps[1].Start.IsZero(), "a skipped step never started")
				} else {
					assert.NoError(t, rep.Steps[1].Err)
				}
				assert.Equal(t, lifecycle.Completed, rep.Steps[2].Status, "an Always step runs whatever the policy")
				assert.Nil(t, rep.Forced, "a request is not a force")
				want := lifecycle.AllCompleted // a deferred request leaves the plan whole...
				if tc.status == lifecycle.Interrupted || tc.next == lifecycle.Skipped {
					want = lifecycle.SomeCutShort // ...an interruption or a re-raise cuts it short
				}
				assert.Equal(t, want, rep.Verdict())
			})
		})
	}
}

func TestEveryRequestIsCountedButTheFirstCauseWins(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var o observed
				e := mustPlan(t, step("work", p, workFor(5*time.Second, &o))).Start(reason, lifecycle.Options{})
				var receipts []lifecycle.Receipt
				sent := make(chan struct{})
				go func() {
					defer close(sent)
					for _, cause := range []error{errSecondStop, errDeadline, nil} {
						time.Sleep(time.Second)
						receipts = append(receipts, e.Cancel(cause))
					}
				}()
				runAll(e)
				<-sent
				require.Len(t, receipts, 3)
				for i, rc := range receipts {
					assert.Equal(t, i+1, rc.StopRequests)
				}
				work := e.Report().Steps[0]
				if p == policy.Plain {
					// The first request ended the step; the others found nothing running.
					assert.Equal(t, 1, work.StopRequests)
					assert.ErrorIs(t, o.cause, errSecondStop)
					assert.NotErrorIs(t, o.cause, errDeadline)
					assert.Equal(t, "", receipts[1].Step)
				} else {
					assert.Equal(t, 3, work.StopRequests)
					assert.Equal(t, 3, work.Deferred)
				}
				if p == policy.Plain {
					assert.Equal(t, 1, e.Report().StopRequests, "a finished report no longer changes: the later two count in their receipts only")
				} else {
					assert.Equal(t, 3, e.Report().StopRequests)
				}
			})
		})
	}
}

// TestARequestBetweenStepsIsHeldForTheNextStep cancels after the first step has
// returned and before the second starts: the second step gets it, the first does not.
func TestARequestBetweenStepsIsHeldForTheNextStep(t *testing.T) {
	for _, tc := range []struct {
		policy   policy.Policy
		status   lifecycle.Status
		atStart  bool
		deferred int
		reraised bool
	}{
		{policy.Plain, lifecycle.Interrupted, true, 0, false},
		{policy.DeferFlag, lifecycle.Completed, false, 1, false},
		{policy.DeferReraise, lifecycle.Completed, false, 1, true},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var o observed
				p := mustPlan(t, step("first", policy.Plain, ok), step("second", tc.policy, workFor(time.Second, &o)))
				e := p.Start(reason, lifecycle.Options{})
				_, more := e.RunNext()
				require.True(t, more)

				rc := e.Cancel(errSecondStop)
				assert.Equal(t, lifecycle.Receipt{Held: true, StopRequests: 1}, rc)
				assert.False(t, rc.Interrupted(), "a held request interrupted nothing yet")

				second, more := e.RunNext()
				require.True(t, more)
				assert.Equal(t, tc.atStart, o.atStart, "only a plain step starts with its ctx cancelled")
				if tc.atStart {
					assert.ErrorIs(t, o.cause, errSecondStop)
					assert.Zero(t, second.Duration, "a plain step sees the held request at once")
				}
				assert.Equal(t, tc.status, second.Status)
				assert.Equal(t, 1, second.StopRequests)
				assert.Equal(t, tc.deferred, second.Deferred)
				assert.Equal(t, tc.reraised, second.Reraised)

				first := e.Report().Steps[0]
				assert.Zero(t, first.StopRequests, "the request reached no step that had finished")
				assert.Equal(t, lifecycle.Completed, first.Status)
			})
		})
	}
}

// In a synctest bubble, as every test whose step could work for an hour: should the
// request not reach the step, the hour passes at once, and the test fails by name.
func TestARequestBeforeTheFirstStepIsHeldForIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var o observed
		e := mustPlan(t, step("first", policy.Plain, workFor(time.Hour, &o))).Start(reason, lifecycle.Options{})
		assert.True(t, e.Cancel(nil).Held)
		reps := runAll(e)
		assert.True(t, o.atStart)
		assert.ErrorIs(t, o.cause, context.Canceled, "a request without a cause is context.Canceled")
		assert.Equal(t, lifecycle.Interrupted, reps[0].Status)
	})
}

func TestARequestAfterThePlanIsCountedButHeldForNothing(t *testing.T) {
	e := mustPlan(t, step("first", policy.Plain, ok)).Start(reason, lifecycle.Options{})
	runAll(e)
	rc := e.Cancel(errSecondStop)
	assert.False(t, rc.Held)
	assert.Empty(t, rc.Step)
	assert.Equal(t, 1, rc.StopRequests)
	assert.Zero(t, e.Report().Steps[0].StopRequests)
}

// TestGraceBoundsADeferredStepOnceARequestArrives: the grace starts with the request,
// not with the step.
func TestGraceBoundsADeferredStepOnceARequestArrives(t *testing.T) {
	for _, tc := range []struct {
		name    string
		request bool
		status  lifecycle.Status
		took    time.Duration
	}{
		{"a request starts the grace and the step times out after it", true, lifecycle.TimedOut, 3 * time.Second},
		{"without a request the grace never starts", false, lifecycle.Completed, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var o observed
				s := step("drain", policy.DeferFlag, workFor(10*time.Second, &o))
				s.Grace = time.Second
				e := mustPlan(t, s, step("next", policy.Plain, ok)).Start(reason, lifecycle.Options{})
				if tc.request {
					go func() {
						time.Sleep(2 * time.Second)
						e.Cancel(errSecondStop)
					}()
				}
				reps := runAll(e)
				drain := reps[0]
				assert.Equal(t, tc.status, drain.Status)
				assert.Equal(t, tc.took, drain.Duration)
				if tc.request {
					assert.ErrorIs(t, drain.Err, policy.ErrGraceExpired)
					assert.ErrorIs(t, o.cause, policy.ErrGraceExpired, "the step's own ctx ends with the grace")
					assert.Equal(t, 1, drain.Deferred)
				} else {
					assert.NoError(t, drain.Err)
					assert.False(t, o.cancelled)
				}
				assert.Equal(t, lifecycle.Completed, reps[1].Status, "the next step still runs")
			})
		})
	}
}

func TestPlanRunTurnsCtxCancellationIntoOneRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var o observed
		p := mustPlan(t, step("work", policy.Plain, workFor(time.Hour, &o)), step("next", policy.DeferFlag, ok))
		ctx, cancel := context.WithCancelCause(context.Background())
		go func() {
			time.Sleep(time.Second)
			cancel(errDeadline)
		}()
		rep := p.Run(ctx, reason, lifecycle.Options{})
		assert.Same(t, reason, rep.Reason)
		assert.Equal(t, 1, rep.StopRequests)
		assert.Equal(t, lifecycle.Interrupted, rep.Steps[0].Status)
		assert.Equal(t, time.Second, rep.Steps[0].Duration)
		assert.ErrorIs(t, o.cause, errDeadline, "the request carries ctx's cause")
		assert.ErrorIs(t, rep.Steps[0].Err, errDeadline)
		assert.Equal(t, lifecycle.Completed, rep.Steps[1].Status, "one request, not a stop of the whole plan")
		assert.Zero(t, rep.Steps[1].StopRequests)
		assert.Equal(t, time.Second, rep.Duration)
	})
}

func TestPlanRunWithAQuietCtxMakesNoRequest(t *testing.T) {
	p := mustPlan(t, step("work", policy.Plain, ok), step("next", policy.DeferReraise, ok))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep := p.Run(ctx, reason, lifecycle.Options{})
	assert.Zero(t, rep.StopRequests)
	assert.Equal(t, map[string]lifecycle.Status{"work": lifecycle.Completed, "next": lifecycle.Completed}, statuses(rep))
}

func TestPlanRunWithADoneCtxDeliversItsRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // the step could work for an hour: see above
		var o observed
		p := mustPlan(t, step("work", policy.Plain, workFor(time.Hour, &o)))
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errDeadline)
		rep := p.Run(ctx, reason, lifecycle.Options{})
		assert.Equal(t, 1, rep.StopRequests)
		assert.Equal(t, lifecycle.Interrupted, rep.Steps[0].Status)
		assert.ErrorIs(t, o.cause, errDeadline)
	})
}

// In a plan, a DeferReraise step raises the request it deferred again as it ends,
// whether it succeeded or failed: the steps after it are skipped, but the Always ones.
func TestADeferReraiseStepThatFailsStillRaisesTheRequestAgain(t *testing.T) {
	var e *lifecycle.Execution
	p := lifecycle.MustPlan(
		lifecycle.Step{Name: "flush", Policy: policy.DeferReraise, Run: func(context.Context) error {
			e.Cancel(errSecondStop) // a request while it runs: deferred
			return errors.New("disk full")
		}},
		lifecycle.Step{Name: "deregister", Run: func(context.Context) error { return nil }},
		lifecycle.Step{Name: "close", Always: true, Run: func(context.Context) error { return nil }},
	)
	e = p.Start(lifecycle.NewReason(lifecycle.Requested, nil), lifecycle.Options{})
	runAll(e)
	rep := e.Report()
	assert.Equal(t, lifecycle.Failed, rep.Steps[0].Status)
	assert.True(t, rep.Steps[0].Reraised)
	assert.Equal(t, lifecycle.Skipped, rep.Steps[1].Status)
	assert.Equal(t, lifecycle.Completed, rep.Steps[2].Status)
}
