package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTheLadderShowsEachRung(t *testing.T) {
	var out strings.Builder
	assert.NoError(t, run(&out))
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
}
