package policy_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: Run must never
// let op's goroutine outlive it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
