package lifecycle_test

// A step's ctx: the Reason, the values of Options.Context (and not its
// cancellation), and progress reports.

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

func TestAStepSeesTheReasonAndTheOptionsValues(t *testing.T) {
	type key struct{}
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			var (
				got   *lifecycle.Reason
				value any
			)
			run := func(ctx context.Context) error {
				got, value = lifecycle.ReasonFrom(ctx), ctx.Value(key{})
				return nil
			}
			base := context.WithValue(context.Background(), key{}, "from options")
			e := mustPlan(t, step("work", p, run)).Start(reason, lifecycle.Options{Context: base})
			runAll(e)
			assert.Same(t, reason, got)
			assert.Same(t, reason, e.Reason())
			assert.Equal(t, "from options", value)
		})
	}
}

func TestReasonFromPrefersTheExecutionOverWithReason(t *testing.T) {
	other := lifecycle.NewReason(lifecycle.Poisoned, nil)
	var got *lifecycle.Reason
	base := lifecycle.WithReason(context.Background(), other)
	e := mustPlan(t, step("work", policy.DeferFlag, func(ctx context.Context) error {
		got = lifecycle.ReasonFrom(ctx)
		return nil
	})).Start(reason, lifecycle.Options{Context: base})
	runAll(e)
	assert.Same(t, reason, got, "the execution's Reason wins over one found in Options.Context")
}

func TestReportProgressKeepsTheLastAndTellsTheObserver(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				obs := &recorder{}
				run := func(ctx context.Context) error {
					for i := 1; i <= 3; i++ {
						time.Sleep(time.Second)
						lifecycle.ReportProgress(ctx, "draining", i, 3)
					}
					return nil
				}
				e := mustPlan(t, step("drain", p, run), step("close", p, ok)).
					Start(reason, lifecycle.Options{Observer: obs})
				start := time.Now()
				reps := runAll(e)

				require.NotNil(t, reps[0].Progress)
				assert.Equal(t, "draining", reps[0].Progress.Message)
				assert.Equal(t, 3, reps[0].Progress.Done)
				assert.Equal(t, 3, reps[0].Progress.Total)
				assert.Equal(t, start.Add(3*time.Second), reps[0].Progress.At)
				assert.Nil(t, reps[1].Progress, "a step that reported nothing has no progress")

				calls := obs.progressCopy()
				require.Len(t, calls, 3)
				for i, c := range calls {
					assert.Equal(t, "drain", c.step)
					assert.Equal(t, i+1, c.p.Done)
				}
				lifecycle.ReportProgress(context.Background(), "outside", 9, 9)
				assert.Len(t, obs.progressCopy(), 3, "outside a step, progress goes nowhere")
			})
		})
	}
}

// TestOptionsContextGivesValuesButNotCancellation: a stop is cancelled only through
// Cancel and Force, which count and classify what they do. A cancelled
// Options.Context reaches no step, under any policy.
func TestOptionsContextGivesValuesButNotCancellation(t *testing.T) {
	type key struct{}
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					o     observed
					value any
				)
				run := workFor(5*time.Second, &o)
				base, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
				e := mustPlan(t,
					step("work", p, func(ctx context.Context) error { value = ctx.Value(key{}); return run(ctx) }),
					step("next", policy.Plain, ok),
				).Start(reason, lifecycle.Options{Context: base})
				go func() {
					time.Sleep(time.Second)
					cancel(errDeadline)
				}()
				rep := func() *lifecycle.Report { runAll(e); return e.Report() }()
				assert.Equal(t, "v", value, "the values arrive")
				assert.False(t, o.cancelled, "the cancellation does not")
				assert.Equal(t, map[string]lifecycle.Status{"work": lifecycle.Completed, "next": lifecycle.Completed}, statuses(rep))
				assert.Equal(t, 5*time.Second, rep.Steps[0].Duration)
				assert.Zero(t, rep.StopRequests)
				assert.False(t, rep.Steps[0].Reraised)
			})
		})
	}
}
