package main

import (
	"regexp"
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

func TestTheLadderShowsEachRung(t *testing.T) {
	var out strings.Builder
	assert.NoError(t, within(t, "the example to run", func() error { return run(&out) }))
	for _, want := range []string{
		"notice: supervisor/slow forced in step \"drain\"",
		"notice: supervisor/deaf abandoned step \"flush\", goroutine op=flush",
		"notice: supervisor/quick finished: all completed",
		"shutdown: some abandoned in",
		"drain defer-flag forced",
		"deregister plain skipped",
		"flush defer-reraise abandoned",
	} {
		assert.Contains(t, out.String(), want)
	}
	assert.Equal(t, 3, strings.Count(out.String(), "close plain completed"),
		"every worker closed: slow and deaf too, after the force, since close is Always")
	notices := regexp.MustCompile(`(?m)^notice: .*$`).FindAllString(out.String(), -1)
	assert.Equal(t, []string{
		"notice: supervisor/quick finished: all completed",
		`notice: supervisor/deaf forced in step "flush" (mailbox: stop budget expired)`,
		`notice: supervisor/deaf abandoned step "flush", goroutine op=flush`,
		"notice: supervisor/deaf finished: some abandoned",
		`notice: supervisor/slow forced in step "drain" (mailbox: stop budget expired)`,
		"notice: supervisor/slow finished: some forced",
	}, notices, "the rungs, in the order they come, as the README shows them")
	assert.Regexp(t, `(?s)── supervisor/quick .*── supervisor/deaf .*── supervisor/slow `, out.String(),
		"the children in the order they finished")
	assert.Contains(t, out.String(), "│   forced: lifecycle: forced: mailbox: stop budget expired", "each forced child says why")
}
