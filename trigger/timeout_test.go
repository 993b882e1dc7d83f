package trigger_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/trigger"
)

func TestAfterFiresAtExactlyItsDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		w := watch(t, t.Context(), trigger.After(60*time.Second))

		time.Sleep(60*time.Second - time.Nanosecond)
		synctest.Wait()
		require.False(t, done(w.Context()), "fired before 60 s")
		require.Nil(t, w.Cause())

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		require.True(t, done(w.Context()), "not fired at 60 s")
		f := w.Cause()
		require.NotNil(t, f)
		assert.Equal(t, trigger.KindTimeout, f.Kind)
		assert.Equal(t, 60*time.Second, f.After)
		assert.True(t, f.Deadline.IsZero())
		assert.Equal(t, start.Add(60*time.Second), f.Time)
		assert.False(t, f.Escalation)
		assert.Equal(t, "timeout after 1m0s", f.Error())
		assert.Same(t, f, context.Cause(w.Context()), "the Fired is the context's cause")
		assert.False(t, done(w.ForceContext()), "a timeout never escalates")
		assert.Nil(t, w.ForceCause())
	})
}

func TestAtFiresAtItsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		deadline := time.Now().Add(90 * time.Minute)
		w := watch(t, t.Context(), trigger.At(deadline))

		time.Sleep(90*time.Minute - time.Nanosecond)
		synctest.Wait()
		require.False(t, done(w.Context()), "fired before its time")

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		f := w.Cause()
		require.NotNil(t, f, "not fired at its time")
		assert.Equal(t, trigger.KindTimeout, f.Kind)
		assert.True(t, f.Deadline.Equal(deadline))
		assert.Zero(t, f.After)
		assert.Equal(t, "timeout at 2000-01-01T01:30:00Z", f.Error(), "synctest's clock starts at 2000-01-01 00:00 UTC")
	})
}

func TestTimeoutsAlreadyDueFireAtOnce(t *testing.T) {
	for name, src := range map[string]trigger.Source{
		"after zero":       trigger.After(0),
		"after negative":   trigger.After(-time.Hour),
		"at a past time":   trigger.At(time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)),
		"at the same time": trigger.At(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)),
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				w := watch(t, t.Context(), src)
				synctest.Wait()
				f := w.Cause()
				require.NotNil(t, f, "an already due timeout must fire at once")
				assert.Equal(t, trigger.KindTimeout, f.Kind)
				assert.Equal(t, start, f.Time, "no virtual time may pass")
			})
		})
	}
}
