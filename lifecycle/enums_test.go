package lifecycle_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
)

func TestStatusNamesRoundTripAsText(t *testing.T) {
	for _, tc := range []struct {
		status lifecycle.Status
		name   string
	}{
		{lifecycle.Pending, "pending"},
		{lifecycle.Completed, "completed"},
		{lifecycle.Failed, "failed"},
		{lifecycle.Interrupted, "interrupted"},
		{lifecycle.TimedOut, "timed out"},
		{lifecycle.Forced, "forced"},
		{lifecycle.Skipped, "skipped"},
		{lifecycle.Abandoned, "abandoned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.name, tc.status.String())
			text, err := tc.status.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.name, string(text))

			var back lifecycle.Status = 99
			require.NoError(t, back.UnmarshalText(text))
			assert.Equal(t, tc.status, back)
		})
	}
}

func TestStatusUnknownIsNamedButNeitherMarshalledNorParsed(t *testing.T) {
	s := lifecycle.Status(42)
	assert.Equal(t, "Status(42)", s.String())
	_, err := s.MarshalText()
	assert.Error(t, err)

	back := lifecycle.Completed
	assert.Error(t, back.UnmarshalText([]byte("timed_out")))
	assert.Equal(t, lifecycle.Completed, back, "a rejected name must not change the status")
}

func TestVerdictAndReasonKindHaveNames(t *testing.T) {
	for want, s := range map[string]interface{ String() string }{
		"all completed":   lifecycle.AllCompleted,
		"some forced":     lifecycle.SomeForced,
		"some abandoned":  lifecycle.SomeAbandoned,
		"Verdict(9)":      lifecycle.Verdict(9),
		"stop requested":  lifecycle.Requested,
		"poisoned":        lifecycle.Poisoned,
		"restart":         lifecycle.Restarting,
		"parent stopping": lifecycle.ParentStopping,
		"start failed":    lifecycle.StartFailed,
		"shutdown":        lifecycle.Shutdown,
		"ReasonKind(0)":   lifecycle.ReasonKind(0),
		"ReasonKind(200)": lifecycle.ReasonKind(200),
	} {
		assert.Equal(t, want, s.String())
	}
}

func TestReasonCarriesItsCause(t *testing.T) {
	parent := lifecycle.NewReason(lifecycle.Shutdown, errDeadline)
	child := lifecycle.NewReason(lifecycle.ParentStopping, parent)

	assert.Equal(t, "parent stopping: shutdown: pod deadline near", child.Error())
	assert.ErrorIs(t, child, errDeadline, "errors.Is sees through a chain of reasons")
	var got *lifecycle.Reason
	require.ErrorAs(t, error(child), &got)
	assert.Same(t, child, got)
	assert.NotErrorIs(t, child, errSecondStop)

	bare := lifecycle.NewReason(lifecycle.Poisoned, nil)
	assert.Equal(t, "poisoned", bare.Error())
	assert.NoError(t, bare.Unwrap())
	var none *lifecycle.Reason
	assert.Equal(t, "no reason", none.Error())
}

func TestReasonCanBeAContextCause(t *testing.T) {
	r := lifecycle.NewReason(lifecycle.Restarting, errDeadline)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(r)
	assert.ErrorIs(t, context.Cause(ctx), errDeadline)
	var got *lifecycle.Reason
	require.True(t, errors.As(context.Cause(ctx), &got))
	assert.Equal(t, lifecycle.Restarting, got.Kind)
}

func TestReasonFromReadsWithReasonAndNothingElse(t *testing.T) {
	assert.Nil(t, lifecycle.ReasonFrom(context.Background()), "a plain ctx carries no reason")
	ctx := lifecycle.WithReason(context.Background(), reason)
	assert.Same(t, reason, lifecycle.ReasonFrom(ctx))
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	assert.Same(t, reason, lifecycle.ReasonFrom(child), "derived contexts keep the reason")
}

func TestReportProgressOutsideAStepDoesNothing(t *testing.T) {
	assert.NotPanics(t, func() {
		lifecycle.ReportProgress(context.Background(), "draining", 1, 2)
		lifecycle.ReportProgress(lifecycle.WithReason(context.Background(), reason), "draining", 1, 2)
	})
}

func TestProgressPrintsCountsWithAndWithoutTotal(t *testing.T) {
	assert.Equal(t, "draining (3/10)", lifecycle.Progress{Message: "draining", Done: 3, Total: 10}.String())
	assert.Equal(t, "draining (3)", lifecycle.Progress{Message: "draining", Done: 3}.String())
}
