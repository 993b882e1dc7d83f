// Package testwait is the bounded wait of the module's tests: every wait is far
// longer than anything here takes on a slow machine under -race, so that running
// out of it means a fault, reported as a failure that names what was awaited,
// instead of a hang until the package timeout. Inside a synctest bubble the bound
// is read on the bubble's clock: it fires as soon as everything else is blocked
// that long. It imports nothing of the module, so any package's tests may use it.
package testwait

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Bound limits every wait.
const Bound = 10 * time.Second

// Recv returns the next value from ch (the zero value once ch is closed), or fails
// the test, saying what it waited for, when none comes within Bound.
func Recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	v, ok := next(ch)
	if !ok {
		t.Fatalf("waited %v for %s", Bound, what)
	}
	return v
}

// next returns the next value from ch (the zero value once ch is closed), or
// false when none comes within Bound.
func next[T any](ch <-chan T) (T, bool) {
	timer := time.NewTimer(Bound)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v, true
	case <-timer.C:
		var zero T
		return zero, false
	}
}

// RecvN returns the next n values from ch, or fails the test saying how many of
// what it got.
func RecvN[T any](t testing.TB, ch <-chan T, n int, what string) []T {
	t.Helper()
	timer := time.NewTimer(Bound)
	defer timer.Stop()
	out := make([]T, 0, n)
	for len(out) < n {
		select {
		case v := <-ch:
			out = append(out, v)
		case <-timer.C:
			t.Fatalf("waited %v for %d of %s, got %d: %v", Bound, n, what, len(out), out)
		}
	}
	return out
}

// RecvUntil reads ch until done returns true for a value, and returns what it
// read, or fails the test saying what it waited for.
func RecvUntil[T any](t testing.TB, ch <-chan T, what string, done func(T) bool) []T {
	t.Helper()
	timer := time.NewTimer(Bound)
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
			t.Fatalf("waited %v for %s; read meanwhile: %v", Bound, what, out)
		}
	}
}

// Await is Recv for an example, which has no t: it panics, saying what it waited
// for, and the panic fails the example by name.
func Await[T any](ch <-chan T, what string) T {
	v, ok := next(ch)
	if !ok {
		panic(fmt.Sprintf("waited %v for %s", Bound, what))
	}
	return v
}

// Within returns a ctx that ends after Bound with a cause that says what was
// awaited, for a call that waits as long as its ctx lets it (qactor.Stop): the
// call returns that cause, and the test fails with it.
func Within(t testing.TB, what string) context.Context {
	ctx, cancel := context.WithTimeoutCause(context.Background(), Bound, fmt.Errorf("waited %v for %s", Bound, what))
	t.Cleanup(cancel)
	return ctx
}

// Call runs f on a goroutine of its own and returns what it returned, or fails the
// test, saying what it waited for, when f takes longer than Bound.
func Call[T any](t testing.TB, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	return Recv(t, done, what)
}
