package trigger_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/trigger"
)

func TestAnyOfFiresWithTheFirstPartAndStopsTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counter{}
		src, fire := manual()
		w := watch(t, t.Context(), trigger.AnyOf(trigger.After(5*time.Minute), src, trigger.Condition("never", time.Second, c.cond)))

		time.Sleep(10 * time.Second)
		fire(errDeploy)
		synctest.Wait()
		f := w.Cause()
		require.NotNil(t, f)
		assert.Equal(t, trigger.KindManual, f.Kind, "the AnyOf reports its part's Fired, not a wrapper")
		assert.ErrorIs(t, f, errDeploy)
		calls := c.calls()

		time.Sleep(10 * time.Minute)
		synctest.Wait()
		assert.Equal(t, calls, c.calls(), "a part that cannot escalate is stopped once the AnyOf has fired")
		assert.Same(t, f, w.Cause(), "the timeout at 5 min must not replace the cause")
	})
}

func TestAllOfWaitsForTheLastPart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		items := &counter{from: start.Add(90 * time.Second)}
		w := watch(t, t.Context(), trigger.AllOf(
			trigger.After(60*time.Second),
			trigger.Condition("1000 items done", time.Second, items.cond),
		))

		time.Sleep(90*time.Second - time.Nanosecond)
		synctest.Wait()
		require.False(t, done(w.Context()), "fired with only the timeout done")

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		f := w.Cause()
		require.NotNil(t, f, "not fired when the last part fired")
		assert.Equal(t, trigger.KindAllOf, f.Kind)
		require.Len(t, f.Parts, 2)
		assert.Equal(t, trigger.KindTimeout, f.Parts[0].Kind, "parts in the order of the AllOf's parts")
		assert.Equal(t, start.Add(60*time.Second), f.Parts[0].Time)
		assert.Equal(t, trigger.KindCondition, f.Parts[1].Kind)
		assert.Equal(t, start.Add(90*time.Second), f.Parts[1].Time)
		assert.Equal(t, start.Add(90*time.Second), f.Time, "an AllOf fires when its last part does")
		assert.Equal(t, "all of (timeout after 1m0s, condition 1000 items done)", f.Error())
	})
}

func TestAllOfWhoseConditionCameFirstFiresAtExactly60s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		items := &counter{from: start.Add(10 * time.Second)}
		w := watch(t, t.Context(), trigger.AllOf(
			trigger.Condition("1000 items done", time.Second, items.cond),
			trigger.After(60*time.Second),
		))

		time.Sleep(60*time.Second - time.Nanosecond)
		synctest.Wait()
		require.False(t, done(w.Context()), "fired before 60 s")
		assert.Equal(t, 11, items.calls(), "the condition is not polled once it has fired")

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		f := w.Cause()
		require.NotNil(t, f)
		assert.Equal(t, start.Add(60*time.Second), f.Time)
	})
}

// The seed's example: (hard timeout OR SIGTERM) OR (at least 60 s AND 1000 items
// done). A manual source stands in for SIGTERM: real signals cannot reach a synctest
// bubble, and the signal's own behaviour is tested in signal_test.go.
func TestTheSeedsNestedExample(t *testing.T) {
	for _, tc := range []struct {
		name    string
		items   time.Duration // when 1000 items are done; 0: never
		sigterm time.Duration // when the stand-in fires; 0: never
		at      time.Duration
		want    string
	}{
		{"items early, fires at the minimum run", 30 * time.Second, 0, 60 * time.Second,
			"all of (timeout after 1m0s, condition 1000 items done)"},
		{"items late, fires when they are done", 3 * time.Minute, 0, 3 * time.Minute,
			"all of (timeout after 1m0s, condition 1000 items done)"},
		{"items never, fires at the hard timeout", 0, 0, 5 * time.Minute, "timeout after 5m0s"},
		{"terminated before the minimum", 0, 20 * time.Second, 20 * time.Second, "manual: sigterm"},
		{"terminated wins over items not yet counted", 50 * time.Second, 40 * time.Second, 40 * time.Second, "manual: sigterm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				items := &counter{}
				if tc.items > 0 {
					items.from = start.Add(tc.items)
				}
				sigterm, fire := manual()
				w := watch(t, t.Context(), trigger.AnyOf(
					trigger.AnyOf(trigger.After(5*time.Minute), sigterm),
					trigger.AllOf(trigger.After(60*time.Second), trigger.Condition("1000 items done", time.Second, items.cond)),
				))
				if tc.sigterm > 0 {
					time.AfterFunc(tc.sigterm, func() { fire(errors.New("sigterm")) })
				}

				time.Sleep(tc.at - time.Nanosecond)
				synctest.Wait()
				require.False(t, done(w.Context()), "fired before %v", tc.at)
				time.Sleep(time.Nanosecond)
				synctest.Wait()
				f := w.Cause()
				require.NotNil(t, f, "not fired at %v", tc.at)
				assert.Equal(t, tc.want, f.Error())
				assert.Equal(t, start.Add(tc.at), f.Time)
			})
		})
	}
}

func TestEscalateCountsItsForceFromTheFire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		graceful, fire := manual()
		w := watch(t, t.Context(), trigger.Escalate(graceful, trigger.After(25*time.Second)))

		time.Sleep(time.Hour)
		synctest.Wait()
		require.False(t, done(w.Context()), "the force timeout must not run before the fire")

		fire(errDeploy)
		synctest.Wait()
		f := w.Cause()
		require.NotNil(t, f)
		assert.ErrorIs(t, f, errDeploy)

		time.Sleep(25*time.Second - time.Nanosecond)
		synctest.Wait()
		require.False(t, done(w.ForceContext()), "escalated before 25 s after the fire")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		e := w.ForceCause()
		require.NotNil(t, e, "not escalated 25 s after the fire")
		assert.True(t, e.Escalation)
		assert.Equal(t, trigger.KindTimeout, e.Kind)
		assert.Equal(t, "timeout after 25s", e.Error())
		assert.Equal(t, start.Add(time.Hour+25*time.Second), e.Time)
		assert.Same(t, e, context.Cause(w.ForceContext()))
		assert.Same(t, f, w.Cause(), "the escalation leaves the fire's cause alone")
	})
}

func TestEscalateWithManualParts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		graceful, fire := manual()
		force, forceNow := manual()
		w := watch(t, t.Context(), trigger.Escalate(graceful, force))

		forceNow(errForce)
		synctest.Wait()
		require.False(t, done(w.Context()), "a force before the fire neither fires nor escalates")
		require.False(t, done(w.ForceContext()))

		fire(errDeploy)
		synctest.Wait()
		require.ErrorIs(t, w.Cause(), errDeploy)
		e := w.ForceCause()
		require.NotNil(t, e, "a force part already done when the fire comes escalates at once")
		assert.ErrorIs(t, e, errForce)
		assert.True(t, e.Escalation)
	})
}

func TestEscalateWhoseGracefulPartEscalatesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, fireA := manual()
		b, fireB := manual()
		w := watch(t, t.Context(), trigger.Escalate(trigger.Escalate(a, b), trigger.After(time.Hour)))
		fireA(errDeploy)
		time.Sleep(time.Second)
		fireB(errForce)
		synctest.Wait()
		e := w.ForceCause()
		require.NotNil(t, e, "the inner escalation must escalate the outer Escalate")
		assert.ErrorIs(t, e, errForce)
		assert.Equal(t, time.Date(2000, 1, 1, 0, 0, 1, 0, time.UTC), e.Time.UTC(), "without waiting for the hour")
	})
}

func TestAnyOfEscalatesWhenAPartEscalates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, fireA := manual()
		b, fireB := manual()
		w := watch(t, t.Context(), trigger.AnyOf(trigger.After(time.Minute), trigger.Escalate(a, b)))

		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, trigger.KindTimeout, w.Cause().Kind)

		fireA(errDeploy)
		synctest.Wait()
		require.False(t, done(w.ForceContext()), "a part's own fire after the AnyOf fired is not an escalation")
		assert.Equal(t, trigger.KindTimeout, w.Cause().Kind, "nor does it change the cause")

		fireB(errForce)
		synctest.Wait()
		e := w.ForceCause()
		require.NotNil(t, e)
		assert.ErrorIs(t, e, errForce)
	})
}

func TestAllOfEscalatesOnlyOnceItHasFired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		a, fireA := manual()
		b, fireB := manual()
		w := watch(t, t.Context(), trigger.AllOf(trigger.After(time.Minute), trigger.Escalate(a, b)))

		fireA(errDeploy)
		time.Sleep(time.Second)
		fireB(errForce)
		time.Sleep(time.Minute - time.Second - time.Nanosecond)
		synctest.Wait()
		require.False(t, done(w.Context()), "the AllOf fired before its minimum")
		require.False(t, done(w.ForceContext()), "a part's escalation got through the AllOf before it fired")

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		require.NotNil(t, w.Cause())
		e := w.ForceCause()
		require.NotNil(t, e, "an early escalation escalates the AllOf the moment it fires")
		assert.ErrorIs(t, e, errForce)
		assert.Equal(t, start.Add(time.Second), e.Time, "the escalation is the part's")
	})
}

func TestAllOfEscalatesWhenAPartEscalatesAfterItsFire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, fireA := manual()
		b, fireB := manual()
		w := watch(t, t.Context(), trigger.AllOf(trigger.After(time.Minute), trigger.Escalate(a, b)))
		fireA(errDeploy)
		time.Sleep(time.Minute)
		synctest.Wait()
		require.NotNil(t, w.Cause())
		require.False(t, done(w.ForceContext()))

		time.Sleep(10 * time.Second)
		fireB(errForce)
		synctest.Wait()
		require.ErrorIs(t, w.ForceCause(), errForce)
	})
}

func TestOneSourceCanBeWatchedTwiceAndAppearTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		minute := trigger.After(time.Minute)
		both := trigger.AllOf(minute, minute)
		w1 := watch(t, t.Context(), both)
		time.Sleep(30 * time.Second)
		w2 := watch(t, t.Context(), both)

		time.Sleep(30 * time.Second)
		synctest.Wait()
		require.NotNil(t, w1.Cause())
		require.False(t, done(w2.Context()), "each watch counts from its own start")
		time.Sleep(30 * time.Second)
		synctest.Wait()
		require.NotNil(t, w2.Cause())
		assert.Equal(t, "all of (timeout after 1m0s, timeout after 1m0s)", w2.Cause().Error())
	})
}
