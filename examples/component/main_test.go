package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTheExamplePrintsThePlanTheRefusalTheReportAndTheRejection(t *testing.T) {
	var out strings.Builder
	assert.NoError(t, run(&out))
	for _, want := range []string{
		"plan: 3 steps, budget 8s (deadline 30s)",
		"A request after the stop began: quiesce: $1 refused a message of type string: stopping (stop requested: deploy v2)",
		"flush       defer-flag  completed",
		"deregister  plain       interrupted",
		"progress: flushed (",
		`plan step 2 "flush": duplicate name (also step 1)`,
		"over the 2s deadline",
	} {
		assert.Contains(t, out.String(), want)
	}
}
