package trigger_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/trigger"
)

func TestStopBeforeTheFireEndsBothContextsWithErrStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src, fire := manual()
		w, err := trigger.Watch(t.Context(), trigger.Escalate(src, trigger.After(time.Second)))
		require.NoError(t, err)
		w.Stop()

		assert.ErrorIs(t, context.Cause(w.Context()), trigger.ErrStopped)
		assert.ErrorIs(t, context.Cause(w.ForceContext()), trigger.ErrStopped)
		assert.ErrorIs(t, w.Context().Err(), context.Canceled)

		fire(errDeploy)
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Nil(t, w.Cause(), "a stopped watcher never fires")
		assert.Nil(t, w.ForceCause())
		assert.ErrorIs(t, context.Cause(w.Context()), trigger.ErrStopped)
	})
}

func TestStopIsSafeTwiceConcurrentlyAndAfterAFire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src, fire := manual()
		force, _ := manual()
		w, err := trigger.Watch(t.Context(), trigger.Escalate(src, force))
		require.NoError(t, err)
		fire(errDeploy)
		synctest.Wait()
		f := w.Cause()
		require.NotNil(t, f)

		var wg sync.WaitGroup
		for range 4 {
			wg.Go(w.Stop)
		}
		wg.Wait()
		w.Stop()
		assert.Same(t, f, w.Cause(), "Stop after a fire keeps its cause")
		assert.Same(t, f, context.Cause(w.Context()))
		assert.ErrorIs(t, context.Cause(w.ForceContext()), trigger.ErrStopped)
	})
}

func TestStopOnANilWatcherDoesNothing(t *testing.T) {
	w, err := trigger.Watch(context.Background(), nil)
	require.Error(t, err)
	assert.NotPanics(t, w.Stop, "defer w.Stop() before checking err must not panic")
}

func TestTheParentsEndStopsTheWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithCancelCause(t.Context())
		c := &counter{}
		graceful, _ := manual()
		force, _ := manual()
		w := watch(t, parent, trigger.AnyOf(trigger.Condition("never", time.Second, c.cond), trigger.Escalate(graceful, force)))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		require.Equal(t, 3, c.calls())

		cancel(errSystem)
		synctest.Wait()
		assert.ErrorIs(t, context.Cause(w.Context()), errSystem, "the system stopped first")
		assert.ErrorIs(t, context.Cause(w.ForceContext()), errSystem)
		assert.Nil(t, w.Cause())

		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, 3, c.calls(), "the watch goes on after its parent ended")
		// Every goroutine has returned by now, without Stop: synctest.Wait would not
		// have returned with a leaf still blocked on a timer, and the bubble would
		// report it. Stop (the cleanup) still returns.
	})
}

func TestContextAndForceContextCarryTheParentsValues(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	w := watch(t, ctx, trigger.After(time.Hour))
	assert.Equal(t, "v", w.Context().Value(key{}))
	assert.Equal(t, "v", w.ForceContext().Value(key{}))
}

func TestAFireThatRacesStopAgreesWithTheContext(t *testing.T) {
	for range 200 {
		ctx, fire := context.WithCancelCause(context.Background())
		w, err := trigger.Watch(context.Background(), trigger.Context(ctx))
		require.NoError(t, err)
		var wg sync.WaitGroup
		wg.Go(func() { fire(errDeploy) })
		wg.Go(w.Stop)
		wg.Wait()
		w.Stop()
		cause := context.Cause(w.Context())
		if f := w.Cause(); f != nil {
			require.Same(t, f, cause, "Cause and context.Cause must agree")
			require.ErrorIs(t, f, errDeploy)
		} else {
			require.ErrorIs(t, cause, trigger.ErrStopped, "no Cause, so Stop must have won")
		}
	}
}

func TestAFiredCauseReadsWellInALifecycleReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src, fire := manual()
		w := watch(t, t.Context(), src)
		fire(errDeploy)
		synctest.Wait()
		reason := lifecycle.NewReason(lifecycle.Shutdown, w.Cause())
		assert.Equal(t, "shutdown: manual: deploy v2", reason.Error())
		assert.ErrorIs(t, reason, errDeploy)
		var f *trigger.Fired
		require.ErrorAs(t, reason, &f)
		assert.Equal(t, trigger.KindManual, f.Kind)
	})
}

func TestAContextCancelledWithoutACauseFiresWithContextCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		w := watch(t, t.Context(), trigger.Context(ctx))
		cancel()
		synctest.Wait()
		f := w.Cause()
		require.NotNil(t, f)
		assert.ErrorIs(t, f, context.Canceled)
		assert.Equal(t, "manual: context canceled", f.Error())
	})
}
