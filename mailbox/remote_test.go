package mailbox_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// recordingRemote is a mailbox.Remote that keeps what it is given, and is deaf to
// the actors named in deaf.
type recordingRemote struct {
	mu   sync.Mutex
	got  map[string][]any // by PID id
	deaf map[string]bool
}

func newRecordingRemote() *recordingRemote {
	return &recordingRemote{got: map[string][]any{}, deaf: map[string]bool{}}
}

func (r *recordingRemote) Deliver(pid *actor.PID, msg any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[pid.Id] = append(r.got[pid.Id], msg)
}

func (r *recordingRemote) Deaf(pid *actor.PID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deaf[pid.Id]
}

func (r *recordingRemote) delivered(id string) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any(nil), r.got[id]...)
}

// A PID on another node: an address that is not this system's.
var far = actor.NewPID("elsewhere:8090", "future$far")

func TestRefusalsAndNoticesForAnotherNodeGoToTheRemote(t *testing.T) {
	sys := newSystem()
	p := newProbe(t)
	release := make(chan struct{})
	pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: lifecycle.MustPlan(p.step("drain", policy.DeferFlag, release))}, p.Receive))
	r := newRecordingRemote()
	mailbox.InstallRemote(sys, r)
	defer mailbox.InstallRemote(sys, nil)

	assert.Nil(t, mailbox.RemoteFor(sys, pid), "a local PID has no Remote")
	assert.Same(t, r, mailbox.RemoteFor(sys, far))

	reason := lifecycle.NewReason(lifecycle.Requested, errDeploy)
	mb.Stop(reason, nil)
	assert.Equal(t, "step drain", p.next("the drain step"))

	sys.Root.RequestWithCustomSender(pid, "late", far) // refused on this goroutine
	got := r.delivered(far.Id)
	require.Len(t, got, 1)
	refused := got[0].(*mailbox.Refused)
	assert.Same(t, mailbox.ErrStopping, refused.Err)
	assert.Same(t, reason, refused.Reason)
	assert.Equal(t, "late", refused.Message)

	res, err := sys.Root.RequestFuture(pid, "local", time.Minute).Result()
	require.NoError(t, err)
	assert.IsType(t, &mailbox.Refused{}, res, "a local requester is answered as before")
	assert.Len(t, r.delivered(far.Id), 1)

	mb.Stop(lifecycle.NewReason(lifecycle.Requested, errors.New("again")), far) // the request's notice
	got = r.delivered(far.Id)
	require.Len(t, got, 2)
	dc := got[1].(*mailbox.DeferredCancel)
	assert.Equal(t, "drain", dc.Step)

	mailbox.InstallRemote(sys, nil)
	assert.Nil(t, mailbox.InstalledRemote(sys))
	sys.Root.RequestWithCustomSender(pid, "after", far)
	assert.Len(t, r.delivered(far.Id), 2, "removed: offered nothing more")
	close(release)
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
}

// A plain parent that the Remote says is deaf (remote's activator) hears no notice.
func TestADeafParentHearsNoNotices(t *testing.T) {
	sys := newSystem()
	r := newRecordingRemote()
	mailbox.InstallRemote(sys, r)
	defer mailbox.InstallRemote(sys, nil)
	for _, deaf := range []bool{true, false} {
		heard := make(chan any, 16)
		child := props(t, mailbox.Config{}, func(actor.Context) {})
		parent := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			switch m := c.Message().(type) {
			case string:
				c.Respond(c.Spawn(child))
			case mailbox.Notice:
				heard <- m
			case *actor.Touch:
			}
		}))
		r.mu.Lock()
		r.deaf[parent.Id] = deaf
		r.mu.Unlock()
		res, err := sys.Root.RequestFuture(parent, "spawn", time.Minute).Result()
		require.NoError(t, err)
		kid := res.(*actor.PID)
		require.NoError(t, sys.Root.StopFuture(kid).Wait())
		// The Finished went to the parent before the child stopped: a request now
		// comes behind it.
		_, err = sys.Root.RequestFuture(parent, &actor.Touch{}, time.Minute).Result()
		require.NoError(t, err)
		if deaf {
			assert.Empty(t, heard, "deaf: no notice")
		} else {
			require.Len(t, heard, 1)
			assert.IsType(t, &mailbox.Finished{}, <-heard)
		}
		require.NoError(t, sys.Root.StopFuture(parent).Wait())
	}
	assert.Empty(t, r.delivered(far.Id))
}

// protoactor gives a system's PIDs the address "nonhost" until its remote starts,
// and they stay local after: the mailbox counts on that name.
func TestPIDsMadeBeforeRemoteAreLocal(t *testing.T) {
	sys := newSystem()
	assert.Equal(t, "nonhost", sys.Address())
	mailbox.InstallRemote(sys, newRecordingRemote())
	defer mailbox.InstallRemote(sys, nil)
	assert.Nil(t, mailbox.RemoteFor(sys, sys.NewLocalPID("x")))
	assert.Nil(t, mailbox.RemoteFor(sys, nil))
	assert.NotNil(t, mailbox.RemoteFor(sys, far))
}
