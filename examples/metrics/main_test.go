package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The README shows this output: every line of it must come out of a run.
func TestTheExamplePrintsTheQuiesceSeries(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out))
	for _, want := range []string{
		`quiesce_forces_total{cause="budget"} 1`,
		`quiesce_refused_total{why="stopping"} 1`,
		`quiesce_step_duration_seconds_count{status="completed",step="close"} 4`,
		`quiesce_step_duration_seconds_count{status="completed",step="drain"} 3`,
		`quiesce_step_duration_seconds_count{status="forced",step="drain"} 1`,
		`quiesce_stop_duration_seconds_count{reason="stop requested",verdict="all completed"} 3`,
		`quiesce_stop_duration_seconds_count{reason="stop requested",verdict="some forced"} 1`,
		`quiesce_stopping 0`,
		`quiesce_stops_total{reason="stop requested",verdict="all completed"} 3`,
		`quiesce_stops_total{reason="stop requested",verdict="some forced"} 1`,
	} {
		assert.Contains(t, out.String(), want+"\n")
	}
}
