package actor_test

import (
	"context"
	"testing"

	"github.com/quiesce/quiesce/internal/testwait"
)

// bound limits every wait in these tests (see internal/testwait).
const bound = testwait.Bound

func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return testwait.Recv(t, ch, what)
}

func recvUntil[T any](t testing.TB, ch <-chan T, what string, done func(T) bool) []T {
	t.Helper()
	return testwait.RecvUntil(t, ch, what, done)
}

func await[T any](ch <-chan T, what string) T { return testwait.Await(ch, what) }

// within is a ctx for a call that waits as long as its ctx lets it (qactor.Stop).
// Not for Shutdown, whose deadline sets the roots' budgets.
func within(t testing.TB, what string) context.Context { return testwait.Within(t, what) }
