package lifecycle_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// sentinels are every validation sentinel, so a test can check that an error
// matches its own and no other.
var sentinels = []error{
	lifecycle.ErrEmptyName, lifecycle.ErrDuplicateName, lifecycle.ErrNilRun,
	lifecycle.ErrNegativeDuration, lifecycle.ErrUnknownPolicy, lifecycle.ErrGraceUnderPlain,
	lifecycle.ErrNoTimeout, lifecycle.ErrOverDeadline,
}

// planErrors unpacks the joined error NewPlan returns into its *PlanErrors.
func planErrors(t *testing.T, err error) []*lifecycle.PlanError {
	t.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "NewPlan joins its errors: %T", err)
	var out []*lifecycle.PlanError
	for _, e := range joined.Unwrap() {
		var pe *lifecycle.PlanError
		require.ErrorAs(t, e, &pe)
		out = append(out, pe)
	}
	return out
}

func TestNewPlanRejectsEachProblemNamingTheStep(t *testing.T) {
	timed := func(name string, d time.Duration) lifecycle.Step {
		s := step(name, policy.DeferFlag, ok)
		s.Timeout = d
		return s
	}
	for _, tc := range []struct {
		name     string
		deadline time.Duration
		steps    []lifecycle.Step
		index    int
		step     string
		want     error
	}{
		{"an empty name is rejected", 0,
			[]lifecycle.Step{step("drain", 0, ok), step("", 0, ok)}, 1, "", lifecycle.ErrEmptyName},
		{"a duplicate name is rejected at its second use", 0,
			[]lifecycle.Step{step("drain", 0, ok), step("close", 0, ok), step("drain", 0, ok)}, 2, "drain", lifecycle.ErrDuplicateName},
		{"a nil Run is rejected", 0,
			[]lifecycle.Step{step("drain", 0, nil)}, 0, "drain", lifecycle.ErrNilRun},
		{"an unknown policy is rejected", 0,
			[]lifecycle.Step{step("drain", policy.Policy(3), ok)}, 0, "drain", lifecycle.ErrUnknownPolicy},
		{"a negative Timeout is rejected", 0,
			[]lifecycle.Step{timed("drain", -time.Second)}, 0, "drain", lifecycle.ErrNegativeDuration},
		{"a negative Grace is rejected", 0,
			[]lifecycle.Step{{Name: "drain", Policy: policy.DeferFlag, Grace: -1, Run: ok}}, 0, "drain", lifecycle.ErrNegativeDuration},
		{"a Grace under plain is rejected", 0,
			[]lifecycle.Step{{Name: "drain", Policy: policy.Plain, Grace: time.Second, Run: ok}}, 0, "drain", lifecycle.ErrGraceUnderPlain},
		{"a step without Timeout is rejected under a deadline", 30 * time.Second,
			[]lifecycle.Step{timed("drain", time.Second), timed("close", 0)}, 1, "close", lifecycle.ErrNoTimeout},
		{"budgets over the deadline are rejected at the step that crosses it", 30 * time.Second,
			[]lifecycle.Step{timed("drain", 20*time.Second), timed("close", 11*time.Second), timed("flush", time.Second)}, 1, "close", lifecycle.ErrOverDeadline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran atomic.Int32
			steps := countRuns(tc.steps, &ran)
			p, err := lifecycle.NewPlanWithin(tc.deadline, steps...)
			require.Error(t, err)
			assert.Nil(t, p, "an invalid plan is not returned")

			pes := planErrors(t, err)
			require.Len(t, pes, 1, "one problem, one error: %v", err)
			assert.Equal(t, tc.index, pes[0].Index)
			assert.Equal(t, tc.step, pes[0].Step)
			assert.ErrorIs(t, err, tc.want)
			for _, other := range sentinels {
				if other != tc.want {
					assert.NotErrorIs(t, err, other)
				}
			}
			assert.Contains(t, err.Error(), "plan step")
			assert.Zero(t, ran.Load(), "validation must run nothing")
		})
	}
}

// countRuns wraps each non-nil Run so that a call is counted.
func countRuns(steps []lifecycle.Step, ran *atomic.Int32) []lifecycle.Step {
	out := append([]lifecycle.Step(nil), steps...)
	for i := range out {
		if run := out[i].Run; run != nil {
			out[i].Run = func(ctx context.Context) error { ran.Add(1); return run(ctx) }
		}
	}
	return out
}

func TestNewPlanAcceptsTheBoundaryCases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline time.Duration
		steps    []lifecycle.Step
	}{
		{"no steps at all", 0, nil},
		{"steps without Timeout when there is no deadline", 0,
			[]lifecycle.Step{step("drain", policy.DeferFlag, ok), step("close", policy.Plain, ok)}},
		{"a Grace under a deferred policy", 0,
			[]lifecycle.Step{{Name: "drain", Policy: policy.DeferFlag, Grace: time.Second, Run: ok},
				{Name: "close", Policy: policy.DeferReraise, Grace: time.Second, Run: ok}}},
		{"budgets exactly at the deadline", 30 * time.Second,
			[]lifecycle.Step{{Name: "drain", Timeout: 20 * time.Second, Run: ok}, {Name: "close", Timeout: 10 * time.Second, Run: ok}}},
		{"same names differing in case", 0,
			[]lifecycle.Step{step("drain", 0, ok), step("Drain", 0, ok)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran atomic.Int32
			p, err := lifecycle.NewPlanWithin(tc.deadline, countRuns(tc.steps, &ran)...)
			require.NoError(t, err)
			require.NotNil(t, p)
			assert.Equal(t, len(tc.steps), p.Len())
			assert.Equal(t, tc.deadline, p.Deadline())
			assert.Zero(t, ran.Load(), "building a plan must run nothing")
		})
	}
}

func TestNewPlanReportsEveryProblemInOrder(t *testing.T) {
	p, err := lifecycle.NewPlanWithin(10*time.Second,
		lifecycle.Step{Name: "", Timeout: time.Second, Run: ok},                                    // empty name
		lifecycle.Step{Name: "drain", Timeout: 8 * time.Second},                                    // nil Run
		lifecycle.Step{Name: "drain", Policy: policy.Plain, Grace: time.Second, Run: ok},           // duplicate, Grace under plain, no Timeout
		lifecycle.Step{Name: "close", Policy: policy.DeferFlag, Timeout: 2 * time.Second, Run: ok}, // crosses the deadline
		lifecycle.Step{Name: "flush", Policy: policy.DeferFlag, Timeout: time.Second, Run: ok},     // already over: not blamed again
	)
	require.Error(t, err)
	assert.Nil(t, p)

	type problem struct {
		index int
		step  string
		err   error
	}
	var got []problem
	for _, pe := range planErrors(t, err) {
		for _, s := range sentinels {
			if errors.Is(pe, s) {
				got = append(got, problem{pe.Index, pe.Step, s})
			}
		}
	}
	assert.Equal(t, []problem{
		{0, "", lifecycle.ErrEmptyName},
		{1, "drain", lifecycle.ErrNilRun},
		{2, "drain", lifecycle.ErrDuplicateName},
		{2, "drain", lifecycle.ErrGraceUnderPlain},
		{2, "drain", lifecycle.ErrNoTimeout},
		{3, "close", lifecycle.ErrOverDeadline},
	}, got)
	assert.Contains(t, err.Error(), `plan step 3 "drain": duplicate name (also step 2)`, "the message numbers steps from 1")
	assert.Contains(t, err.Error(), "timeouts reach 11s here, over the 10s deadline")
}

func TestNewPlanWithinRejectsANegativeDeadline(t *testing.T) {
	p, err := lifecycle.NewPlanWithin(-time.Second, step("drain", 0, ok))
	assert.Nil(t, p)
	assert.ErrorIs(t, err, lifecycle.ErrNegativeDuration)
	var pe *lifecycle.PlanError
	assert.False(t, errors.As(err, &pe), "the deadline is no step's fault")
}

func TestPlanKeepsItsOwnCopyOfTheSteps(t *testing.T) {
	steps := []lifecycle.Step{step("drain", policy.DeferFlag, ok), step("close", policy.Plain, ok)}
	p := mustPlan(t, steps...)
	steps[0].Name = "changed by the caller"

	got := p.Steps()
	assert.Equal(t, "drain", got[0].Name, "the caller's slice is not the plan's")
	got[1].Name = "changed by a reader"
	assert.Equal(t, "close", p.Steps()[1].Name, "Steps returns a copy")
}

func TestPlanBudgetIsBoundedOnlyWhenEveryStepHasATimeout(t *testing.T) {
	bounded := mustPlan(t,
		lifecycle.Step{Name: "drain", Timeout: 2 * time.Second, Run: ok},
		lifecycle.Step{Name: "close", Timeout: 3 * time.Second, Run: ok})
	total, isBounded := bounded.Timeouts()
	assert.Equal(t, 5*time.Second, total)
	assert.True(t, isBounded)

	open := mustPlan(t,
		lifecycle.Step{Name: "drain", Timeout: 2 * time.Second, Run: ok},
		lifecycle.Step{Name: "close", Run: ok})
	total, isBounded = open.Timeouts()
	assert.Equal(t, 2*time.Second, total)
	assert.False(t, isBounded)
}

func TestPrependValidatesAgainstThePlansDeadline(t *testing.T) {
	p, err := lifecycle.NewPlanWithin(10*time.Second, lifecycle.Step{Name: "close", Timeout: 8 * time.Second, Run: ok})
	require.NoError(t, err)

	q, err := p.Prepend(lifecycle.Step{Name: "children", Timeout: 2 * time.Second, Run: ok})
	require.NoError(t, err)
	assert.Equal(t, []string{"children", "close"}, names(q.Steps()))
	assert.Equal(t, 10*time.Second, q.Deadline())
	assert.Equal(t, 1, p.Len(), "Prepend leaves the original plan alone")

	_, err = p.Prepend(lifecycle.Step{Name: "children", Timeout: 3 * time.Second, Run: ok})
	assert.ErrorIs(t, err, lifecycle.ErrOverDeadline)
	_, err = p.Prepend(lifecycle.Step{Name: "close", Timeout: time.Second, Run: ok})
	assert.ErrorIs(t, err, lifecycle.ErrDuplicateName)
}

func TestMustPlanPanicsOnlyOnAnInvalidPlan(t *testing.T) {
	assert.NotPanics(t, func() { lifecycle.MustPlan(step("drain", 0, ok)) })
	assert.PanicsWithError(t, `lifecycle: plan step 1 "drain": nil Run`, func() { lifecycle.MustPlan(step("drain", 0, nil)) })
}

func TestPlanStringIsADryRun(t *testing.T) {
	p, err := lifecycle.NewPlanWithin(30*time.Second,
		lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Timeout: 10 * time.Second, Grace: 2 * time.Second, Run: ok},
		lifecycle.Step{Name: "disconnect", Policy: policy.Plain, Timeout: 5 * time.Second, Run: ok},
		lifecycle.Step{Name: "flush-logs", Policy: policy.DeferReraise, Timeout: time.Second, Always: true, Run: ok},
	)
	require.NoError(t, err)
	out := p.String()
	assert.Contains(t, out, "plan: 3 steps, timeouts 16s (deadline 30s)\n")
	assert.Regexp(t, `1\.\s+drain\s+defer-flag\s+timeout 10s\s+grace 2s`, out)
	assert.Regexp(t, `2\.\s+disconnect\s+plain\s+timeout 5s\s+grace none`, out)
	assert.Regexp(t, `3\.\s+flush-logs\s+defer-reraise\s+timeout 1s\s+grace none\s+always`, out)
	assert.NotRegexp(t, `(drain|disconnect).*always`, out, "only Always steps say so")

	open := mustPlan(t, step("drain", policy.DeferFlag, ok))
	out = open.String()
	assert.Contains(t, out, "plan: 1 step, timeouts unbounded\n")
	assert.NotContains(t, out, "deadline", "a plan without a deadline shows none")
	assert.Contains(t, out, "timeout none")
}

func names(steps []lifecycle.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name)
	}
	return out
}
