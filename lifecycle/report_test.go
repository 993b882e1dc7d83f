package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// TestReportIsExactToTheStep runs a plan on virtual time, with pauses between the
// steps, and checks every start, duration and count in the report and its printout.
func TestReportIsExactToTheStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drain := func(ctx context.Context) error {
			time.Sleep(500 * time.Millisecond)
			lifecycle.ReportProgress(ctx, "halfway", 1, 2)
			time.Sleep(500 * time.Millisecond)
			return nil
		}
		failLate := func(context.Context) error { time.Sleep(2 * time.Second); return errStep }
		e := mustPlan(t,
			step("drain", policy.DeferFlag, drain),
			step("disconnect", policy.Plain, failLate),
			lifecycle.Step{Name: "close", Policy: policy.Plain, Timeout: 500 * time.Millisecond, Run: waitCtx},
		).Start(reason, lifecycle.Options{Actor: "cache"})
		t0 := time.Now()
		go func() {
			time.Sleep(750 * time.Millisecond) // half a second into drain
			e.Cancel(errSecondStop)
		}()

		time.Sleep(250 * time.Millisecond)
		_, _ = e.RunNext()
		mid := e.Report()
		assert.Equal(t, 1250*time.Millisecond, mid.Duration, "a running report's duration is up to now")
		assert.False(t, e.Finished())
		time.Sleep(100 * time.Millisecond)
		_, _ = e.RunNext()
		time.Sleep(100 * time.Millisecond)
		runAll(e)

		rep := e.Report()
		assert.Equal(t, t0, rep.Start)
		assert.Equal(t, 3950*time.Millisecond, rep.Duration)
		for i, want := range []struct {
			at, took time.Duration
			status   lifecycle.Status
			requests int
		}{
			{250 * time.Millisecond, time.Second, lifecycle.Completed, 1},
			{1350 * time.Millisecond, 2 * time.Second, lifecycle.Failed, 0},
			{3450 * time.Millisecond, 500 * time.Millisecond, lifecycle.TimedOut, 0},
		} {
			s := rep.Steps[i]
			assert.Equal(t, want.at, s.Start.Sub(rep.Start), "%s starts", s.Name)
			assert.Equal(t, want.took, s.Duration, "%s takes", s.Name)
			assert.Equal(t, want.status, s.Status, s.Name)
			assert.Equal(t, want.requests, s.StopRequests, s.Name)
		}
		assert.Equal(t, 1, rep.Steps[0].Deferred)
		assert.Equal(t, 1, rep.StopRequests)
		assert.Equal(t, []string{"disconnect", "close"}, reportNames(rep.Failed()))

		time.Sleep(time.Hour)
		assert.Equal(t, 3950*time.Millisecond, e.Report().Duration, "a finished report's duration is fixed")

		rep.Actor = "cache"
		out := rep.String()
		assert.Contains(t, out, "cache stopped in 3.95s (stop requested: deploy v2): some failed\n")
		assert.Contains(t, out, "  1 stop request after the first; 2 steps failed or timed out\n")
		assert.Regexp(t, `1\.\s+drain\s+defer-flag\s+completed\s+1s\s+1 stop request, 1 deferred\n`, out)
		assert.Regexp(t, `2\.\s+disconnect\s+plain\s+failed\s+2s\s+disk full\n`, out)
		assert.Regexp(t, `3\.\s+close\s+plain\s+timed out\s+500ms\s+policy: "close": canceled at the core: policy: timeout\n`, out)
		assert.NotContains(t, out, "+250ms", "String leaves out the start offsets")
		assert.NotContains(t, out, "progress", "and the progress")

		detail := fmt.Sprintf("%+v", rep)
		assert.Contains(t, detail, "+250ms  progress: halfway (1/2), 2/s, 500ms left  1 stop request, 1 deferred")
		assert.Contains(t, detail, "+1.35s  disk full")
		assert.Contains(t, detail, "+3.45s")
		assert.Equal(t, out, fmt.Sprintf("%v", rep), "%v is String")
	})
}

func TestVerdictIsTheWorstRungHereOrInTheChildren(t *testing.T) {
	with := func(statuses ...lifecycle.Status) *lifecycle.Report {
		r := &lifecycle.Report{}
		for _, s := range statuses {
			r.Steps = append(r.Steps, lifecycle.StepReport{Status: s})
		}
		return r
	}
	forced := with(lifecycle.Completed)
	forced.Forced = lifecycle.ErrForced
	parentOf := func(r *lifecycle.Report, children ...*lifecycle.Report) *lifecycle.Report {
		r.Children = children
		return r
	}
	for _, tc := range []struct {
		name   string
		report *lifecycle.Report
		want   lifecycle.Verdict
	}{
		{"an empty report is all completed", &lifecycle.Report{}, lifecycle.AllCompleted},
		{"every step completed is all completed", with(lifecycle.Completed, lifecycle.Completed), lifecycle.AllCompleted},
		{"an interruption is some cut short", with(lifecycle.Interrupted, lifecycle.Completed), lifecycle.SomeCutShort},
		{"a skip is some cut short", with(lifecycle.Completed, lifecycle.Skipped), lifecycle.SomeCutShort},
		{"a failure outranks a cut", with(lifecycle.Interrupted, lifecycle.Failed), lifecycle.SomeFailed},
		{"a failure is some failed", with(lifecycle.Completed, lifecycle.Failed), lifecycle.SomeFailed},
		{"a time-out is some failed", with(lifecycle.TimedOut), lifecycle.SomeFailed},
		{"a force outranks a failure", with(lifecycle.Failed, lifecycle.Forced), lifecycle.SomeForced},
		{"a forced step is some forced", with(lifecycle.Completed, lifecycle.Forced), lifecycle.SomeForced},
		{"a force with no step cut is some forced", forced, lifecycle.SomeForced},
		{"an abandoned step is some abandoned", with(lifecycle.Forced, lifecycle.Abandoned, lifecycle.Completed), lifecycle.SomeAbandoned},
		{"a forced child makes its parent some forced", parentOf(with(lifecycle.Completed), with(lifecycle.Forced)), lifecycle.SomeForced},
		{"an abandoned grandchild makes its grandparent some abandoned",
			parentOf(with(lifecycle.Completed), with(lifecycle.Completed), parentOf(with(), with(lifecycle.Abandoned))), lifecycle.SomeAbandoned},
		{"a parent abandoned outranks a child forced", parentOf(with(lifecycle.Abandoned), with(lifecycle.Forced)), lifecycle.SomeAbandoned},
		{"calm children keep a calm parent", parentOf(with(lifecycle.Completed), with(lifecycle.Completed), with()), lifecycle.AllCompleted},
		{"an interrupted child makes its parent some cut short", parentOf(with(lifecycle.Completed), with(lifecycle.Interrupted), with()), lifecycle.SomeCutShort},
		{"a failed child makes its parent some failed", parentOf(with(lifecycle.Completed), with(lifecycle.Failed)), lifecycle.SomeFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.report.Verdict())
		})
	}
}

func TestFailedListsFailuresAndTimeOutsHereAndInTheChildren(t *testing.T) {
	r := &lifecycle.Report{
		Steps: []lifecycle.StepReport{
			{Name: "a", Status: lifecycle.Failed}, {Name: "b", Status: lifecycle.Interrupted},
			{Name: "c", Status: lifecycle.TimedOut}, {Name: "d", Status: lifecycle.Forced},
			{Name: "e", Status: lifecycle.Skipped}, {Name: "f", Status: lifecycle.Abandoned},
			{Name: "g", Status: lifecycle.Completed},
		},
		Children: []*lifecycle.Report{{Steps: []lifecycle.StepReport{{Name: "child", Status: lifecycle.Failed}}}},
	}
	assert.Equal(t, []string{"a", "c", "child"}, reportNames(r.Failed()))
	assert.Empty(t, (&lifecycle.Report{}).Failed())
}

// handMade is a report built by hand, with everything a printout can show.
func handMade() *lifecycle.Report {
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	child := &lifecycle.Report{
		Actor: "root/worker", Reason: lifecycle.NewReason(lifecycle.ParentStopping, lifecycle.NewReason(lifecycle.Shutdown, nil)),
		Start: start, Duration: 2 * time.Second,
		Steps: []lifecycle.StepReport{{Name: "flush", Policy: policy.Plain, Status: lifecycle.Abandoned, Err: lifecycle.ErrAbandoned,
			Start: start.Add(time.Second), Duration: time.Second, Goroutine: "op=flush"}},
	}
	return &lifecycle.Report{
		Actor: "root", Reason: lifecycle.NewReason(lifecycle.Shutdown, nil), Start: start, Duration: 3 * time.Second,
		StopRequests: 2, Forced: fmt.Errorf("%w: %w", lifecycle.ErrForced, errDeadline), Drained: 5, Refused: 2,
		Steps: []lifecycle.StepReport{
			{Name: "drain", Policy: policy.DeferReraise, Status: lifecycle.Completed, StopRequests: 2, Deferred: 2, Reraised: true,
				Start: start, Duration: 1500 * time.Millisecond,
				Progress: &lifecycle.Progress{Message: "drained", Done: 5, Total: 5}},
			{Name: "close", Policy: policy.Plain, Status: lifecycle.Failed, Err: errors.Join(errStep, errSecondStop),
				Start: start.Add(1500 * time.Millisecond), Duration: 1234567 * time.Nanosecond},
			{Name: "disconnect", Policy: policy.DeferFlag, Status: lifecycle.Skipped, Err: lifecycle.ErrForced},
		},
		Children: []*lifecycle.Report{child},
	}
}

func TestReportPrintsForPeople(t *testing.T) {
	r := handMade()
	out := r.String()
	assert.Contains(t, out, "root stopped in 3s (shutdown): some abandoned\n", "the verdict counts the children")
	assert.Contains(t, out, "  messages: 5 drained, 2 refused; 2 stop requests after the first; forced: lifecycle: forced: pod deadline near; 1 step failed or timed out; 1 child stopped\n")
	assert.Regexp(t, `1\.\s+drain\s+defer-reraise\s+completed\s+1\.5s\s+2 stop requests, 2 deferred; re-raised after finishing\n`, out)
	assert.Regexp(t, `2\.\s+close\s+plain\s+failed\s+1\.235ms\s+disk full; second stop\n`, out, "durations round to the microsecond, errors fit one line")
	assert.Regexp(t, `3\.\s+disconnect\s+defer-flag\s+skipped\s+lifecycle: forced\n`, out)
	assert.NotContains(t, out, "root/worker", "String names the children but does not print them")
	assert.Equal(t, out, fmt.Sprintf("%s", r))
	assert.Equal(t, out, fmt.Sprint(r))

	detail := fmt.Sprintf("%+v", r)
	assert.Contains(t, detail, "+0s  progress: drained (5/5)  2 stop requests, 2 deferred")
	assert.Contains(t, detail, "+1.5s  disk full; second stop")
	assert.Contains(t, detail, "    root/worker stopped in 2s (parent stopping: shutdown): some abandoned\n", "%+v prints the children, indented")
	assert.Regexp(t, `    1\.\s+flush\s+plain\s+abandoned\s+1s\s+\+1s  goroutine op=flush  lifecycle: abandoned`, detail)

	assert.Equal(t, "%!d(*lifecycle.Report)", fmt.Sprintf("%d", r))
}

func TestAReportWithoutActorOrFactsPrintsTheBareHeader(t *testing.T) {
	r := &lifecycle.Report{Reason: lifecycle.NewReason(lifecycle.Poisoned, nil), Duration: time.Millisecond}
	assert.Equal(t, "component stopped in 1ms (poisoned): all completed\n", r.String())
}

func TestStepReportPrintsOnOneLine(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		r    lifecycle.StepReport
		want string
	}{
		{lifecycle.StepReport{Name: "drain", Policy: policy.DeferFlag, Status: lifecycle.Completed, Start: start, Duration: time.Second},
			"drain defer-flag completed in 1s"},
		{lifecycle.StepReport{Name: "close", Policy: policy.Plain, Status: lifecycle.Skipped, Err: errSecondStop},
			"close plain skipped: second stop"},
		{lifecycle.StepReport{Name: "drain", Policy: policy.DeferReraise, Status: lifecycle.Completed, Start: start,
			Duration: 2 * time.Second, StopRequests: 1, Deferred: 1, Reraised: true},
			"drain defer-reraise completed in 2s: 1 stop request, 1 deferred; re-raised after finishing"},
		{lifecycle.StepReport{Name: "x", Status: lifecycle.Failed, Start: start, Err: errors.Join(errStep, errDeadline)},
			"x plain failed in 0s: disk full; pod deadline near"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.r.String())
			assert.NotContains(t, tc.r.String(), "\n")
		})
	}
}

func TestReportIsACopy(t *testing.T) {
	e := mustPlan(t, step("drain", policy.Plain, ok)).Start(reason, lifecycle.Options{})
	r := e.Report()
	require.Len(t, r.Steps, 1)
	r.Steps[0].Name = "changed"
	r.StopRequests = 99
	assert.Equal(t, "drain", e.Report().Steps[0].Name)
	assert.Zero(t, e.Report().StopRequests)
}

func TestPrintoutsHaveNoTrailingSpaces(t *testing.T) {
	plan := mustPlan(t,
		lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Grace: time.Second, Run: ok},
		lifecycle.Step{Name: "flush", Always: true, Run: ok},
	)
	r := handMade()
	r.Steps = append(r.Steps, lifecycle.StepReport{Name: "quiet", Status: lifecycle.Completed, Start: r.Start})
	for name, out := range map[string]string{
		"dry run": plan.String(), "String": r.String(), "%+v": fmt.Sprintf("%+v", r),
	} {
		t.Run(name, func(t *testing.T) {
			require.Contains(t, out, "\n")
			assert.NotRegexp(t, `(?m) +$`, out, "a line ends in padding:\n%s", out)
		})
	}
}
