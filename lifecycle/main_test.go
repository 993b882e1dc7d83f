package lifecycle_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a step's
// goroutine, an abandon timer or a Plan.Run watcher must never outlive its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
