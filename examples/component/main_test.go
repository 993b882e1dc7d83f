package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bound limits every wait in these tests: far longer than anything here takes,
// so that running out of it means a fault, reported as a failure that names what
// was awaited instead of a hang until the package timeout.
const bound = 10 * time.Second

// within runs f on a goroutine of its own and returns what it returned, or fails
// the test, saying what it waited for, when f takes longer than bound.
func within[T any](t testing.TB, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case v := <-done:
		return v
	case <-timer.C:
		t.Fatalf("waited %v for %s", bound, what)
		panic("unreachable")
	}
}

func TestTheExamplePrintsThePlanTheRefusalTheReportAndTheRejection(t *testing.T) {
	var out strings.Builder
	assert.NoError(t, within(t, "the example to run", func() error { return run(&out) }))
	for _, want := range []string{
		"plan: 3 steps, timeouts 8s (deadline 30s)",
		"A request after the stop began: quiesce: $1 refused a message of type string: stopping (stop requested: deploy v2)",
		"messages: 3 drained, 1 refused; 2 stop requests after the first",
		"flush       defer-flag  completed",
		"deregister  plain       interrupted",
		"progress: flushed (3/3)",
		`plan step 2 "flush": duplicate name (also step 1)`,
		"over the 2s deadline",
	} {
		assert.Contains(t, out.String(), want)
	}
}
