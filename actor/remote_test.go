package actor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/internal/testsys"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// farRemote is a qactor.Remote that records the calls it gets.
type farRemote struct {
	stopped *lifecycle.Reason
	forced  error
}

func (*farRemote) Deliver(*actor.PID, any)                  {}
func (*farRemote) Deaf(*actor.PID) bool                     { return false }
func (*farRemote) Phase(*actor.PID) (lifecycle.Phase, bool) { return lifecycle.Stopping, true }
func (f *farRemote) Force(_ *actor.PID, cause error) error {
	f.forced = cause
	return nil
}

func (f *farRemote) Stop(_ context.Context, pid *actor.PID, reason *lifecycle.Reason) (*lifecycle.Report, error) {
	f.stopped = reason
	return &lifecycle.Report{Actor: pid.Id, Reason: reason}, nil
}

func TestStopForceAndPhaseOfARemotePIDGoThroughTheRemote(t *testing.T) {
	sys := testsys.New()
	far := actor.NewPID("elsewhere:8090", "worker")
	ctx := context.Background()

	_, err := qactor.Stop(ctx, sys, far, nil)
	assert.ErrorIs(t, err, qactor.ErrNotComponent, "without a Remote")
	assert.ErrorContains(t, err, "elsewhere:8090/worker: quiesce: not a live Quiesce component (a PID of another node: install github.com/quiesce/quiesce/remote on both)",
		"the error names the PID and says what to do")
	_, ok := qactor.PhaseOf(sys, far)
	assert.False(t, ok)
	assert.ErrorIs(t, qactor.Force(sys, nil, far), qactor.ErrNotComponent)

	f := &farRemote{}
	mailbox.InstallRemote(sys, f)
	defer mailbox.InstallRemote(sys, nil)
	cause := errors.New("deploy v2")
	rep, err := qactor.Stop(ctx, sys, far, cause)
	require.NoError(t, err)
	assert.Equal(t, "worker", rep.Actor)
	assert.Equal(t, lifecycle.Requested, f.stopped.Kind)
	assert.Same(t, cause, f.stopped.Cause)
	phase, ok := qactor.PhaseOf(sys, far)
	assert.True(t, ok)
	assert.Equal(t, lifecycle.Stopping, phase)
	require.NoError(t, qactor.Force(sys, cause, far))
	assert.Same(t, cause, f.forced)

	_, err = qactor.Stop(ctx, sys, sys.NewLocalPID("nobody"), nil)
	assert.ErrorIs(t, err, qactor.ErrNotComponent, "a local PID never goes to the Remote")
}
