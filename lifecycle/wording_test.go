package lifecycle_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
)

// A reason that travels down a tree says its root cause once, however deep.
func TestANestedReasonSaysItsRootCauseOnce(t *testing.T) {
	sigterm := errors.New("SIGTERM")
	root := lifecycle.NewReason(lifecycle.Shutdown, sigterm)
	child := lifecycle.NewReason(lifecycle.ParentStopping, root)
	grandchild := lifecycle.NewReason(lifecycle.ParentStopping, child)
	assert.Equal(t, "shutdown: SIGTERM", root.Error())
	assert.Equal(t, "parent stopping: shutdown: SIGTERM", child.Error())
	assert.Equal(t, "parent stopping: shutdown: SIGTERM", grandchild.Error())
	assert.ErrorIs(t, grandchild, sigterm, "the chain is still there for errors.Is")
	assert.ErrorIs(t, grandchild, child)
}

// The tree view says a component's own force, whatever step it came during, and
// even when no step ran (a Brutal budget).
func TestTheTreeSaysAComponentsOwnForce(t *testing.T) {
	forced := errors.New("lifecycle: forced: mailbox: stop budget expired")
	reason := lifecycle.NewReason(lifecycle.Requested, nil)
	r := &lifecycle.Report{Actor: "sup", Reason: reason, Duration: time.Second, Forced: forced,
		Steps:    []lifecycle.StepReport{{Name: "close", Status: lifecycle.Completed, Start: time.Unix(1, 0), Duration: time.Millisecond}},
		Children: []*lifecycle.Report{{Actor: "sup/w", Reason: reason, Forced: forced}}}
	assert.Equal(t, ""+
		"sup [some forced 1s] stop requested\n"+
		"│   forced: lifecycle: forced: mailbox: stop budget expired\n"+
		"├── close plain completed 1ms\n"+
		"└── sup/w [some forced 0s] stop requested\n"+
		"        forced: lifecycle: forced: mailbox: stop budget expired\n",
		r.Tree())
}

func TestVerdictsReadAndParseByName(t *testing.T) {
	for _, v := range []lifecycle.Verdict{lifecycle.AllCompleted, lifecycle.SomeCutShort, lifecycle.SomeFailed, lifecycle.SomeForced, lifecycle.SomeAbandoned} {
		text, err := v.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, v.String(), string(text))
		var back lifecycle.Verdict
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, v, back)
	}
	var v lifecycle.Verdict
	assert.ErrorContains(t, v.UnmarshalText([]byte("fine")), "valid: all completed, some cut short, some failed, some forced, some abandoned")
}
