package policy_test

import (
	"testing"
	"time"
)

// bound limits every wait in these tests outside a synctest bubble (inside one,
// synctest reports a deadlock by itself): far longer than anything here takes, so
// that running out of it means a fault, reported as a failure that names what was
// awaited instead of a hang until the package timeout.
const bound = 10 * time.Second

// recv returns the next value from ch, or fails the test saying what it waited
// for. Inside a synctest bubble the bound is read on the bubble's clock.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited %v for %s", bound, what)
		panic("unreachable")
	}
}
