package lifecycle_test

import (
	"bytes"
	"context"
	"runtime/pprof"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// stuck is a step body that ignores its ctx and returns only when release is closed.
func stuck(release <-chan struct{}) func(context.Context) error {
	return func(context.Context) error {
		<-release
		return nil
	}
}

// result is what a RunNext in another goroutine returned.
type result struct {
	r    lifecycle.StepReport
	more bool
}

// runNextIn calls RunNext in a new goroutine and hands back what it returned.
func runNextIn(e *lifecycle.Execution) <-chan result {
	ch := make(chan result, 1)
	go func() {
		r, more := e.RunNext()
		ch <- result{r, more}
	}()
	return ch
}

// goroutineProfile returns the goroutine profile with labels.
func goroutineProfile(t *testing.T) string {
	var b bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&b, 1))
	return b.String()
}

// TestAForcedStepThatIgnoresItsCtxIsAbandoned forces a step that never looks at its
// ctx. After the AbandonAfter it is abandoned; the owner carries on from another
// goroutine; when the step finally returns it changes nothing.
func TestAForcedStepThatIgnoresItsCtxIsAbandoned(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				obs := &recorder{}
				release := make(chan struct{})
				e := mustPlan(t,
					step("stuck", p, stuck(release)),
					step("close", policy.Plain, ok),
					always("flush", policy.DeferFlag, ok),
				).Start(reason, lifecycle.Options{Actor: "cache", AbandonAfter: abandonAfter, Observer: obs})

				first := runNextIn(e)
				time.Sleep(2 * time.Second)
				require.True(t, e.Force(errDeadline).First)

				time.Sleep(abandonAfter - time.Nanosecond)
				synctest.Wait()
				assert.Empty(t, obs.abandonedCopy(), "not abandoned before the AbandonAfter")
				assert.Equal(t, lifecycle.Pending, e.Report().Steps[0].Status)
				_, _, _, running := e.Running()
				assert.True(t, running)

				time.Sleep(time.Nanosecond)
				synctest.Wait()
				heard := obs.abandonedCopy()
				require.Len(t, heard, 1, "the Observer hears of the abandonment")
				ab := heard[0]
				assert.Equal(t, "stuck", ab.Name)
				assert.Equal(t, lifecycle.Abandoned, ab.Status)
				assert.ErrorIs(t, ab.Err, lifecycle.ErrAbandoned)
				assert.Equal(t, "op=stuck", ab.Goroutine, "the step's label; the report's Actor names the component")
				assert.Equal(t, 2*time.Second+abandonAfter, ab.Duration)
				assert.Equal(t, ab, e.Report().Steps[0], "the report says what the Observer heard")
				assert.Contains(t, goroutineProfile(t), `"op":"stuck"`, "the label finds the stuck goroutine")
				_, _, _, running = e.Running()
				assert.False(t, running, "an abandoned step no longer counts as running")
				select {
				case <-first:
					t.Fatal("the first RunNext cannot return while its step is stuck")
				default:
				}

				// The owner carries on from another goroutine.
				reps := runAll(e)
				assert.Equal(t, []string{"flush"}, reportNames(reps))
				assert.Equal(t, lifecycle.Completed, reps[0].Status)
				assert.True(t, e.Finished())
				before := e.Report()
				assert.Equal(t, lifecycle.Skipped, before.Steps[1].Status)
				assert.ErrorIs(t, before.Steps[1].Err, errDeadline)
				assert.Equal(t, lifecycle.SomeAbandoned, before.Verdict())
				assert.ErrorIs(t, before.Forced, errDeadline)

				// The stuck step returns at last.
				time.Sleep(time.Minute)
				close(release)
				late := <-first
				assert.True(t, late.more)
				assert.Equal(t, ab, late.r, "the late RunNext returns the Abandoned report")
				assert.Equal(t, before, e.Report(), "and overwrites nothing")
				assert.Len(t, obs.abandonedCopy(), 1)
				assert.NotContains(t, obs.finishedNames(), "stuck", "StepFinished never hears of an abandoned step")
				assert.Equal(t, []string{"close", "flush"}, obs.finishedNames())
			})
		})
	}
}

// TestAnAlwaysStepUnderForceIsAbandonedAfterTwiceTheBudget: its Timeout is the
// AbandonAfter, and it has one more to return once that has run out.
func TestAnAlwaysStepUnderForceIsAbandonedAfterTwiceTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &recorder{}
		release := make(chan struct{})
		e := mustPlan(t, always("flush", policy.Plain, stuck(release))).
			Start(reason, lifecycle.Options{AbandonAfter: abandonAfter, Observer: obs})
		require.True(t, e.Force(nil).First)
		first := runNextIn(e)

		time.Sleep(2*abandonAfter - time.Nanosecond)
		synctest.Wait()
		assert.Empty(t, obs.abandonedCopy())
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		require.Len(t, obs.abandonedCopy(), 1)
		ab := e.Report().Steps[0]
		assert.Equal(t, lifecycle.Abandoned, ab.Status)
		assert.Equal(t, 2*abandonAfter, ab.Duration)
		assert.Equal(t, "op=flush", ab.Goroutine, "the step's name")

		close(release)
		assert.Equal(t, ab, (<-first).r)
		_, more := e.RunNext()
		assert.False(t, more)
	})
}

// TestALongStepWithoutAForceIsNeverAbandoned: only a force arms abandonment.
func TestALongStepWithoutAForceIsNeverAbandoned(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				obs := &recorder{}
				e := mustPlan(t, step("slow", p, sleepFor(100*abandonAfter))).
					Start(reason, lifecycle.Options{AbandonAfter: abandonAfter, Observer: obs})
				reps := runAll(e)
				assert.Equal(t, lifecycle.Completed, reps[0].Status)
				assert.Equal(t, 100*abandonAfter, reps[0].Duration)
				assert.Empty(t, obs.abandonedCopy())
				assert.Equal(t, lifecycle.AllCompleted, e.Report().Verdict())
			})
		})
	}
}

func TestDefaultAbandonAfterAppliesWhenOptionsLeaveItZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		e := mustPlan(t, step("stuck", policy.DeferFlag, stuck(release))).Start(reason, lifecycle.Options{})
		first := runNextIn(e)
		synctest.Wait() // the step is running
		e.Force(nil)
		time.Sleep(lifecycle.DefaultAbandonAfter - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, lifecycle.Pending, e.Report().Steps[0].Status)
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, lifecycle.Abandoned, e.Report().Steps[0].Status)
		close(release)
		<-first
	})
}

// An abandoned step that goes on and reports progress, or records a partial result,
// while a later Always step runs does not have them recorded as the running step's:
// it is not the step whose ctx this is.
func TestAnAbandonedStepsLateProgressIsNotTheRunningStepsProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &recorder{}
		release, reported := make(chan struct{}), make(chan struct{})
		inFlush, flushed := make(chan struct{}), make(chan struct{})
		e := mustPlan(t,
			step("stuck", policy.DeferFlag, func(ctx context.Context) error {
				<-release
				lifecycle.ReportProgress(ctx, "stuck, late", 1, 2)
				lifecycle.RecordPartial(ctx, "stuck's, late")
				close(reported)
				return nil
			}),
			always("flush", policy.Plain, func(ctx context.Context) error {
				close(inFlush)
				<-flushed
				lifecycle.ReportProgress(ctx, "flushing", 1, 1)
				return nil
			}),
		).Start(reason, lifecycle.Options{AbandonAfter: abandonAfter, Observer: obs})

		first := runNextIn(e)
		synctest.Wait()
		e.Force(errDeadline)
		time.Sleep(abandonAfter)
		synctest.Wait()
		require.Len(t, obs.abandonedCopy(), 1, "the stuck step is abandoned")

		second := runNextIn(e) // the owner carries on: flush runs
		<-inFlush
		close(release) // the abandoned step reports while flush runs
		<-reported
		assert.Nil(t, e.Snapshot().Progress, "flush has reported nothing yet")
		assert.Empty(t, obs.progressCopy(), "the Observer hears nothing of the abandoned step's report")
		close(flushed)
		r := (<-second).r
		require.Equal(t, "flush", r.Name)
		require.NotNil(t, r.Progress)
		assert.Equal(t, "flushing", r.Progress.Message, "flush's progress is its own")
		assert.Nil(t, r.Partial, "and so is its partial result: it recorded none")
		<-first
	})
}
