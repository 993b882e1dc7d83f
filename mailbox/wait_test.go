package mailbox_test

import (
	"fmt"
	"testing"
	"time"
)

// Every wait in these tests is bounded by bound (faults_test.go): far longer than
// anything here takes on a slow machine under -race, so that running out of it
// means a fault, reported as a failure that names what was awaited instead of a
// hang until the package timeout. Inside a synctest bubble it is read on the
// bubble's clock: it fires as soon as everything else is blocked that long. recv
// is there too.

// recvN returns the next n values from ch, or fails the test saying how many of
// what it got.
func recvN[T any](t testing.TB, ch <-chan T, n int, what string) []T {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	out := make([]T, 0, n)
	for len(out) < n {
		select {
		case v := <-ch:
			out = append(out, v)
		case <-timer.C:
			t.Fatalf("waited %v for %d of %s, got %d: %v", bound, n, what, len(out), out)
		}
	}
	return out
}

// recvUntil reads ch until done returns true for a value, and returns what it
// read, or fails the test saying what it waited for.
func recvUntil[T any](t testing.TB, ch <-chan T, what string, done func(T) bool) []T {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	var out []T
	for {
		select {
		case v := <-ch:
			out = append(out, v)
			if done(v) {
				return out
			}
		case <-timer.C:
			t.Fatalf("waited %v for %s; read meanwhile: %v", bound, what, out)
		}
	}
}

// await is recv for an example, which has no t: it panics, saying what it waited
// for, and the panic fails the example by name.
func await[T any](ch <-chan T, what string) T {
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		panic(fmt.Sprintf("waited %v for %s", bound, what))
	}
}
