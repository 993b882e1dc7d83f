package lifecycle_test

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

// A stop under way can be read from any goroutine: the step that runs, for how
// long, the requests so far and the last progress; not only its report at the end.
func TestASnapshotShowsAStopUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		plan := lifecycle.MustPlan(
			lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
				time.Sleep(300 * time.Millisecond)
				lifecycle.ReportProgressOf(ctx, lifecycle.Progress{Message: "drained", Done: 30, Total: 100, Phase: "sessions",
					Fields: map[string]any{"shard": 3}})
				<-release
				return nil
			}},
			lifecycle.Step{Name: "close", Run: ok},
		)
		e := plan.Start(reason, lifecycle.Options{Actor: "conn-1", ID: 42})
		done := make(chan []lifecycle.StepReport)
		go func() { done <- runAll(e) }()
		time.Sleep(time.Second)
		synctest.Wait()
		e.Cancel(errSecondStop)

		s := e.Snapshot()
		assert.Equal(t, lifecycle.StopID(42), s.ID)
		assert.Equal(t, "conn-1", s.Actor)
		assert.Same(t, reason, s.Reason)
		assert.Equal(t, time.Second, s.Elapsed)
		assert.False(t, s.Finished)
		assert.Equal(t, "drain", s.Step)
		assert.Equal(t, policy.DeferFlag, s.Policy)
		assert.Equal(t, time.Second, s.StepElapsed)
		assert.Equal(t, 1, s.StopRequests)
		assert.Equal(t, 1, s.Deferred)
		require.NotNil(t, s.Progress)
		assert.Equal(t, 100.0, s.Progress.Rate, "30 units in 300 ms")
		assert.Equal(t, 700*time.Millisecond, s.Progress.ETA, "70 left at 100 a second")
		assert.Equal(t, "sessions: drained (30/100), 100/s, 700ms left, shard=3", s.Progress.Detail())

		close(release)
		<-done
		s = e.Snapshot()
		assert.True(t, s.Finished)
		assert.Empty(t, s.Step)
		assert.Equal(t, 30, s.Progress.Done, "the last progress stays")
		assert.Equal(t, lifecycle.StopID(42), e.Report().ID)
	})
}

// What a step recorded it had achieved survives however the step ends.
func TestAPartialResultSurvivesInterruptionTimeoutForceAndAbandonment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy policy.Policy
		opts   func(s *lifecycle.Step)
		end    func(e *lifecycle.Execution)
		want   lifecycle.Status
	}{
		{"interrupted", policy.Plain, nil, func(e *lifecycle.Execution) { e.Cancel(errSecondStop) }, lifecycle.Interrupted},
		{"timed out", policy.DeferFlag, func(s *lifecycle.Step) { s.Timeout = 500 * time.Millisecond }, nil, lifecycle.TimedOut},
		{"forced", policy.DeferFlag, nil, func(e *lifecycle.Execution) { e.Force(errDeadline) }, lifecycle.Forced},
		{"abandoned", policy.DeferFlag, nil, func(e *lifecycle.Execution) { e.Force(errDeadline) }, lifecycle.Abandoned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				step := lifecycle.Step{Name: "flush", Policy: tc.policy, Run: func(ctx context.Context) error {
					lifecycle.RecordPartial(ctx, "flushed 812 of 1000")
					if tc.want == lifecycle.Abandoned {
						time.Sleep(time.Hour) // deaf to its ctx
						return nil
					}
					<-ctx.Done()
					return context.Cause(ctx)
				}}
				if tc.opts != nil {
					tc.opts(&step)
				}
				e := lifecycle.MustPlan(step).Start(reason, lifecycle.Options{})
				go runAll(e)
				time.Sleep(100 * time.Millisecond)
				if tc.end != nil {
					tc.end(e)
				}
				time.Sleep(10 * time.Second)
				synctest.Wait()
				r := e.Report().Steps[0]
				assert.Equal(t, tc.want, r.Status)
				assert.Equal(t, "flushed 812 of 1000", r.Partial)
				time.Sleep(time.Hour) // let an abandoned step return
			})
		})
	}
}

func TestStopIDsReadAndParseAsHex(t *testing.T) {
	id := lifecycle.NewStopID()
	assert.NotZero(t, id)
	assert.NotEqual(t, id, lifecycle.NewStopID())
	text, err := id.MarshalText()
	require.NoError(t, err)
	assert.Len(t, text, 16)
	var back lifecycle.StopID
	require.NoError(t, back.UnmarshalText(text))
	assert.Equal(t, id, back)
	assert.Error(t, back.UnmarshalText([]byte("xyz")))
}
