package actor_test

import (
	"errors"
	"testing"
	"testing/synctest"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

func TestQueuedMessagesDrainBeforeTheFirstStepAndStepsRunInOrder(t *testing.T) {
	synctest.Test(t, queuedMessagesDrainBeforeTheFirstStep)
}

func queuedMessagesDrainBeforeTheFirstStep(t *testing.T) {
	sys := newSystem()
	tr := &trail{}
	block, entered := make(chan struct{}), make(chan struct{})
	props := mustProps(t, qactor.Component[*worker]{
		New: func() *worker { return &worker{name: "w", trail: tr, block: block, entered: entered} },
		Steps: []qactor.Step[*worker]{
			step("drain", policy.DeferFlag, nil, false),
			step("bye", policy.Plain, nil, false),
			step("close", policy.DeferReraise, nil, false),
		},
	})
	pid := sys.Root.Spawn(props)
	sys.Root.Send(pid, "block")
	sys.Root.Send(pid, "a")
	sys.Root.Send(pid, "b")
	recv(t, entered, `"block" to be handled`) // "a" and "b" are queued
	done := make(chan *lifecycle.Report)
	go func() {
		rep, err := qactor.Stop(within(t, "the component to stop"), sys, pid, errors.New("deploy"))
		assert.NoError(t, err)
		done <- rep
	}()
	synctest.Wait() // Stop has asked, and waits: the component is stopping, still in "block"
	p, _ := qactor.PhaseOf(sys, pid)
	require.Equal(t, lifecycle.Stopping, p)
	late := sys.Root.RequestFuture(pid, "late", bound)
	close(block)
	rep := recv(t, done, "Stop to return")

	assert.Equal(t, []string{
		"w got block", "w got a", "w got b",
		"w drain start", "w drain end", "w bye start", "w bye end", "w close start", "w close end",
		"w stopping", "w stopped",
	}, tr.all())
	_, err := qactor.Result(late)
	var refused *mailbox.Refused
	require.ErrorAs(t, err, &refused, "a request during the stop is refused, not timed out")
	assert.ErrorIs(t, err, mailbox.ErrStopping)
	assert.NotErrorIs(t, err, actor.ErrTimeout)
	assert.Equal(t, "late", refused.Message)
	assert.Equal(t, "stop requested: deploy", refused.Reason.Error())

	assert.Equal(t, 2, rep.Drained, "a and b were queued when the stop began")
	assert.Equal(t, 1, rep.Refused)
	require.Len(t, rep.Steps, 3)
	for _, s := range rep.Steps {
		assert.Equal(t, lifecycle.Completed, s.Status, s.Name)
	}
	assert.Equal(t, lifecycle.Requested, rep.Reason.Kind)
	_, live := qactor.PhaseOf(sys, pid)
	assert.False(t, live, "the actor is gone once Stop returns")
}
