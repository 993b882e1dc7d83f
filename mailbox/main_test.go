package mailbox_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: a mailbox's
// dispatcher goroutine, a budget timer, a step abandoned and never let go.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
