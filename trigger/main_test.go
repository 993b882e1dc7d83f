package trigger_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a leaf, a
// watcher's own goroutine, a ticker's poller must all be gone once Stop returns.
//
// When the signal tests re-run this binary as a child process (childEnv set), it
// runs the child's script instead of the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	goleak.VerifyTestMain(m)
}
