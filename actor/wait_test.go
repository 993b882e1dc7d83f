package actor_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// bound limits every wait in these tests: far longer than anything here takes on
// a slow machine under -race, so that running out of it means a fault, reported as
// a failure that names what was awaited instead of a hang until the package
// timeout. Inside a synctest bubble it is read on the bubble's clock: the bound
// fires as soon as everything else is blocked that long.
const bound = 10 * time.Second

// recv returns the next value from ch (the zero value once ch is closed), or fails
// the test, saying what it waited for, when none comes within bound.
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

// within returns a ctx that ends after bound with a cause that says what was
// awaited, for a call that waits as long as its ctx lets it (qactor.Stop): the call
// returns that cause, and the test fails with it. Not for Shutdown, whose deadline
// sets the roots' budgets.
func within(t testing.TB, what string) context.Context {
	ctx, cancel := context.WithTimeoutCause(context.Background(), bound, fmt.Errorf("waited %v for %s", bound, what))
	t.Cleanup(cancel)
	return ctx
}
