package mailbox_test

import (
	"testing"

	"github.com/quiesce/quiesce/internal/testwait"
)

// The waits of these tests, bounded by bound (see internal/testwait); recv is in
// faults_test.go.

// recvN returns the next n values from ch, or fails the test saying how many of
// what it got.
func recvN[T any](t testing.TB, ch <-chan T, n int, what string) []T {
	t.Helper()
	return testwait.RecvN(t, ch, n, what)
}

// recvUntil reads ch until done returns true for a value, and returns what it
// read, or fails the test saying what it waited for.
func recvUntil[T any](t testing.TB, ch <-chan T, what string, done func(T) bool) []T {
	t.Helper()
	return testwait.RecvUntil(t, ch, what, done)
}

// await is recv for an example, which has no t: it panics, saying what it waited
// for, and the panic fails the example by name.
func await[T any](ch <-chan T, what string) T { return testwait.Await(ch, what) }
