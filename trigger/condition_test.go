package trigger_test

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/trigger"
)

func TestConditionIsCheckedAtOnceThenEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		c := &counter{from: start.Add(25 * time.Second)}
		w := watch(t, t.Context(), trigger.Condition("memory above 90%", 10*time.Second, c.cond))

		synctest.Wait()
		assert.Equal(t, 1, c.calls(), "checked once at start")

		time.Sleep(30*time.Second - time.Nanosecond)
		synctest.Wait()
		require.False(t, done(w.Context()), "fired before the check at 30 s")
		assert.Equal(t, 3, c.calls(), "checked at 0, 10 and 20 s")

		time.Sleep(time.Nanosecond)
		synctest.Wait()
		f := w.Cause()
		require.NotNil(t, f, "the check at 30 s sees the condition hold")
		assert.Equal(t, 4, c.calls())
		assert.Equal(t, trigger.KindCondition, f.Kind)
		assert.Equal(t, "memory above 90%", f.Name)
		assert.Equal(t, start.Add(30*time.Second), f.Time)
		assert.NoError(t, f.Cause)
		assert.Equal(t, "condition memory above 90%", f.Error())

		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, 4, c.calls(), "never called again once it has fired")
	})
}

func TestConditionThatHoldsAtStartFiresAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counter{from: time.Now()}
		w := watch(t, t.Context(), trigger.Condition("ready", time.Hour, c.cond))
		synctest.Wait()
		require.NotNil(t, w.Cause())
		assert.Equal(t, 1, c.calls())
	})
}

func TestConditionIsNotCalledAfterStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counter{}
		w, err := trigger.Watch(t.Context(), trigger.Condition("never", time.Second, c.cond))
		require.NoError(t, err)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		require.Equal(t, 6, c.calls(), "checked at 0..5 s")

		w.Stop()
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, 6, c.calls(), "called after Stop returned")
	})
}

func TestConditionThatPanicsFiresWithAPanicError(t *testing.T) {
	errDisk := errors.New("disk gone")
	for _, tc := range []struct {
		name  string
		value any
		text  string
	}{
		{"a string", "boom", "condition probe: panic: boom"},
		{"an error", errDisk, "condition probe: panic: disk gone"},
		{"nil", nil, "condition probe: panic: panic called with nil argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := watch(t, t.Context(), trigger.Condition("probe", time.Second, func() bool { panic(tc.value) }))
				synctest.Wait()
				f := w.Cause()
				require.NotNil(t, f, "a panicking condition must fire, not crash")
				assert.Equal(t, trigger.KindCondition, f.Kind)
				assert.Equal(t, tc.text, f.Error())

				var pe *trigger.PanicError
				require.ErrorAs(t, f, &pe)
				assert.Contains(t, string(pe.Stack), "condition_test.go", "the stack is the condition's")
				if tc.value != nil {
					assert.Equal(t, tc.value, pe.Value)
				} else {
					var pn *runtime.PanicNilError
					assert.ErrorAs(t, f, &pn, "panic(nil) is a *runtime.PanicNilError since Go 1.21")
				}
				assert.Equal(t, tc.value == errDisk, errors.Is(f, errDisk), "an error panic value is reachable")
			})
		})
	}
}

func TestHeapAboveFiresOnTheLiveHeap(t *testing.T) {
	runtime.GC() // the live heap reads 0 until a first collection
	synctest.Test(t, func(t *testing.T) {
		w := watch(t, t.Context(), trigger.HeapAbove(1, time.Second))
		synctest.Wait()
		f := w.Cause()
		require.NotNil(t, f, "a live heap is always above 1 byte")
		assert.Equal(t, "condition live heap above 1 B", f.Error())
	})
	synctest.Test(t, func(t *testing.T) {
		w := watch(t, t.Context(), trigger.HeapAbove(1<<60, time.Second))
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.False(t, done(w.Context()), "no test has an exbibyte of live heap")
	})
}

func TestHeapAboveNamesItsLimitInBinaryUnits(t *testing.T) {
	for limit, want := range map[uint64]string{
		100:                "100 B",
		1023:               "1023 B",
		1024:               "1 KiB",
		512 << 20:          "512 MiB",
		1536 << 20:         "1.5 GiB",
		1000 * 1000 * 1000: "953.7 MiB",
		1 << 60:            "1 EiB",
		1<<64 - 1:          "16 EiB",
	} {
		assert.Equal(t, fmt.Sprintf("condition live heap above %s (every 1s)", want), trigger.HeapAbove(limit, time.Second).String())
	}
}
