package policy_test

import (
	"testing"

	"github.com/quiesce/quiesce/internal/testwait"
)

func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return testwait.Recv(t, ch, what)
}
