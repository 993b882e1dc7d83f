package actor

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// Remote stops, forces and reads the phase of components on other nodes, for Stop,
// Force and PhaseOf given a PID of another node. It is the system's mailbox.Remote,
// installed by github.com/quiesce/quiesce/remote; without one, those calls return
// ErrNotComponent for such a PID, as for any PID that is not a local component.
type Remote interface {
	mailbox.Remote
	// Stop asks pid to stop for reason and waits, as Stop does, until it has stopped
	// or ctx is done, returning its report.
	Stop(ctx context.Context, pid *actor.PID, reason *lifecycle.Reason) (*lifecycle.Report, error)
	// Force forces pid's stop, as Force does, and returns once pid's node has.
	Force(pid *actor.PID, cause error) error
	// Phase returns pid's phase, and false if it is not a live component.
	Phase(pid *actor.PID) (lifecycle.Phase, bool)
}

// remoteFor returns the Remote that reaches pid, or nil if pid is local or none is
// installed.
func remoteFor(system *actor.ActorSystem, pid *actor.PID) Remote {
	r, _ := mailbox.RemoteFor(system, pid).(Remote)
	return r
}
