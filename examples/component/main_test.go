package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/quiesce/quiesce/internal/testwait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// within runs f on a goroutine of its own and returns what it returned, or fails
// the test, saying what it waited for, when f takes longer than bound.
func within[T any](t testing.TB, what string, f func() T) T {
	t.Helper()
	return testwait.Call(t, what, f)
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
