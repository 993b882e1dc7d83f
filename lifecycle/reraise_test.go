package lifecycle_test

// A defer-reraise step that received a request: once it returns, however it
// returns, the rest of the plan is skipped but for the Always steps.

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

func TestADeferReraiseStepSkipsTheRestHoweverItReturns(t *testing.T) {
	// Each body starts at 0, gets a request at 1s, and returns at 2s (or at the
	// grace or timeout).
	for _, tc := range []struct {
		name   string
		step   lifecycle.Step
		status lifecycle.Status
		err    error // what the step's own Err matches; nil for none
		panics bool
	}{
		{"it completes", lifecycle.Step{Run: sleepFor(2 * time.Second)},
			lifecycle.Completed, nil, false},
		{"it fails", lifecycle.Step{Run: func(context.Context) error { time.Sleep(2 * time.Second); return errStep }},
			lifecycle.Failed, errStep, false},
		{"it panics", lifecycle.Step{Run: func(context.Context) error { time.Sleep(2 * time.Second); panic("boom") }},
			lifecycle.Failed, nil, true},
		{"its grace runs out", lifecycle.Step{Grace: 500 * time.Millisecond, Run: workFor(time.Hour, &observed{})},
			lifecycle.TimedOut, policy.ErrGraceExpired, false},
		{"its own Timeout runs out", lifecycle.Step{Timeout: 2 * time.Second, Run: waitCtx},
			lifecycle.TimedOut, policy.ErrTimeout, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := tc.step
				s.Name, s.Policy = "drain", policy.DeferReraise
				obs := &recorder{}
				e := mustPlan(t, s,
					step("close", policy.DeferFlag, ok),
					always("flush", policy.Plain, ok),
					step("log", policy.Plain, ok),
				).Start(reason, lifecycle.Options{Observer: obs})
				go func() {
					time.Sleep(time.Second)
					e.Cancel(errSecondStop)
				}()
				var reps []lifecycle.StepReport
				require.NotPanics(t, func() { reps = runAll(e) })
				rep := e.Report()
				drain := rep.Steps[0]

				assert.Equal(t, tc.status, drain.Status)
				assert.True(t, drain.Reraised, "the request it deferred is raised again")
				assert.Equal(t, 1, drain.Deferred)
				switch {
				case tc.err != nil:
					assert.ErrorIs(t, drain.Err, tc.err, "the step keeps its own error")
				case tc.panics:
					var pe *policy.PanicError
					assert.ErrorAs(t, drain.Err, &pe)
				default:
					assert.NoError(t, drain.Err)
				}
				assert.Equal(t, []string{"drain", "flush"}, reportNames(reps))
				for _, i := range []int{1, 3} {
					assert.Equal(t, lifecycle.Skipped, rep.Steps[i].Status, rep.Steps[i].Name)
					assert.ErrorIs(t, rep.Steps[i].Err, errSecondStop, "a skipped step names the request")
				}
				assert.Equal(t, lifecycle.Completed, rep.Steps[2].Status, "Always steps still run")
				assert.Equal(t, []string{"drain", "close", "flush", "log"}, obs.finishedNames())
				assert.Nil(t, rep.Forced, "a re-raise is not a force")
			})
		})
	}
}

// TestOnlyADeferReraiseStepThatReceivedARequestSkipsTheRest checks the other way
// round: no request, or another policy, and every step runs.
func TestOnlyADeferReraiseStepThatReceivedARequestSkipsTheRest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  policy.Policy
		run     func(context.Context) error
		request bool
	}{
		{"defer-reraise failing without a request", policy.DeferReraise, fail, false},
		{"defer-reraise completing without a request", policy.DeferReraise, ok, false},
		{"defer-flag failing after a request", policy.DeferFlag, fail, true},
		{"defer-flag completing after a request", policy.DeferFlag, ok, true},
		{"plain failing after a request", policy.Plain, fail, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				run := func(ctx context.Context) error { time.Sleep(2 * time.Second); return tc.run(ctx) }
				e := mustPlan(t, step("drain", tc.policy, run), step("close", policy.Plain, ok)).
					Start(reason, lifecycle.Options{})
				if tc.request {
					go func() {
						time.Sleep(time.Second)
						e.Cancel(errSecondStop)
					}()
				}
				reps := runAll(e)
				require.Len(t, reps, 2, "every step ran")
				assert.False(t, reps[0].Reraised)
				assert.Equal(t, lifecycle.Completed, reps[1].Status)
			})
		})
	}
}
