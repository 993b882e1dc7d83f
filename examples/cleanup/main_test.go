package main

import (
	"bytes"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunPrintsEveryCase runs the program in a synctest bubble: the Timeout and
// Grace scenes wait on a virtual clock, so the test is instant and its outcome
// does not depend on the machine's speed.
func TestRunPrintsEveryCase(t *testing.T) {
	var buf bytes.Buffer
	synctest.Test(t, func(t *testing.T) { run(&buf) })
	got := buf.String()
	for _, want := range []string{
		"1. the flag: disconnect under defer-flag",
		`disconnect returned "ack received", cancel requested: true` + "\n   no error",
		"2. the re-raise: cleanup under defer-reraise",
		"finished, then re-raised the caller's cancellation (cause: shutting down)",
		"3. a core error, not masked: disconnect under defer-flag",
		"the transport's own error, as it was: connection reset by peer",
		"4. a timeout: disconnect under defer-reraise",
		`disconnect returned "no ack", cancel requested: false` + "\n   cancelled at the core: its Timeout ran out",
		"5. a grace expiry: cleanup under defer-flag",
		"cancelled at the core: the Grace after the caller's cancellation ran out",
		"6. the plain interruption: disconnect under plain",
		"interrupted by the caller (cause: shutting down)",
	} {
		assert.Contains(t, got, want)
	}
	assert.Equal(t, 5, strings.Count(got, "caller gives up half-way"), "every scene but the timeout gives up")
	assert.NotContains(t, got, "unexpected")
}

// TestRunIsDeterministic: the same output every time, ordered by channels.
func TestRunIsDeterministic(t *testing.T) {
	var first, second bytes.Buffer
	synctest.Test(t, func(t *testing.T) { run(&first) })
	synctest.Test(t, func(t *testing.T) { run(&second) })
	assert.Equal(t, first.String(), second.String())
}
