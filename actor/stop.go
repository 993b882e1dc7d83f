package actor

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// ErrNotComponent says the PID is not a live local actor with a Quiesce mailbox (it never
// was one, or it has already stopped).
var ErrNotComponent = errors.New("quiesce: not a live Quiesce component")

// notComponent is ErrNotComponent for pid, named, with what to do about a PID of
// another node when no Remote is installed.
func notComponent(system *actor.ActorSystem, pid *actor.PID) error {
	if pid != nil && !mailbox.IsLocal(system, pid) && remoteFor(system, pid) == nil {
		return fmt.Errorf("%s: %w (a PID of another node: install github.com/quiesce/quiesce/remote on both)", mailbox.PIDText(pid), ErrNotComponent)
	}
	return fmt.Errorf("%s: %w (it never was one, or it has stopped)", mailbox.PIDText(pid), ErrNotComponent)
}

// Stop asks pid to stop gracefully for cause, and waits until it has stopped or ctx
// is done: the caller's own deadline, never a fixed 10 s. It returns the stop's
// report. When ctx is done first, Stop returns ctx's cause and whatever report
// exists then (nil while the plan runs): the stop goes on, under the actor's budget.
//
// If the actor is already stopping, this is one more cancellation request, and Stop
// waits for the stop under way.
//
// A PID of another node is stopped through the system's Remote, when one is
// installed (github.com/quiesce/quiesce/remote), with the same reason and ctx.
func Stop(ctx context.Context, system *actor.ActorSystem, pid *actor.PID, cause error) (*lifecycle.Report, error) {
	mb := mailbox.Of(system, pid)
	if mb == nil {
		if r := remoteFor(system, pid); r != nil {
			return r.Stop(ctx, pid, lifecycle.NewReason(lifecycle.Requested, cause))
		}
		return nil, notComponent(system, pid)
	}
	t := mb.Stop(lifecycle.NewReason(lifecycle.Requested, cause), nil)
	select {
	case <-t.Done():
		return t.Report(), nil
	case <-ctx.Done():
		return t.Report(), context.Cause(ctx)
	}
}

// SnapshotOf returns pid's stop as it stands (see mailbox.Snapshot), and false if
// pid is running, not stopping; ErrNotComponent if pid is not a live local Quiesce
// component.
func SnapshotOf(system *actor.ActorSystem, pid *actor.PID) (mailbox.Snapshot, bool, error) {
	mb := mailbox.Of(system, pid)
	if mb == nil {
		return mailbox.Snapshot{}, false, notComponent(system, pid)
	}
	s, stopping := mb.Snapshot()
	return s, stopping, nil
}

// PhaseOf returns the phase of pid's current incarnation, and false if pid is not a
// live Quiesce component. A PID of another node is asked through the system's
// Remote, when one is installed.
func PhaseOf(system *actor.ActorSystem, pid *actor.PID) (lifecycle.Phase, bool) {
	if mb := mailbox.Of(system, pid); mb != nil {
		return mb.Phase(), true
	}
	if r := remoteFor(system, pid); r != nil {
		return r.Phase(pid)
	}
	return 0, false
}

// SetBudget sets pid's stop budget, overriding its props': how a parent gives each
// child its own, as an OTP child spec does.
func SetBudget(system *actor.ActorSystem, pid *actor.PID, b mailbox.Budget) error {
	mb := mailbox.Of(system, pid)
	if mb == nil {
		return notComponent(system, pid)
	}
	return mb.SetBudget(b)
}

// SpawnWithBudget spawns props from spawner (an actor.Context, or the root context)
// with budget as the child's own stop budget, set before anyone who learns the PID
// from this call can stop it: how a parent gives each child its own budget at spawn
// time, as an OTP child spec does, from one props. props must be a Quiesce
// component's (ErrNotComponent otherwise; the actor is then stopped again).
func SpawnWithBudget(spawner actor.SpawnerContext, props *actor.Props, budget mailbox.Budget) (*actor.PID, error) {
	return spawnWithBudget(spawner, budget, func() (*actor.PID, error) { return spawner.Spawn(props), nil })
}

// SpawnNamedWithBudget is SpawnWithBudget with the child's name, as
// actor.SpawnerContext.SpawnNamed: a name already taken is SpawnNamed's error
// (actor.ErrNameExists), and nothing is spawned.
func SpawnNamedWithBudget(spawner actor.SpawnerContext, props *actor.Props, name string, budget mailbox.Budget) (*actor.PID, error) {
	return spawnWithBudget(spawner, budget, func() (*actor.PID, error) { return spawner.SpawnNamed(props, name) })
}

func spawnWithBudget(spawner actor.SpawnerContext, budget mailbox.Budget, spawn func() (*actor.PID, error)) (*actor.PID, error) {
	if err := budget.Validate(); err != nil {
		return nil, err
	}
	pid, err := spawn()
	if err != nil {
		return nil, err
	}
	mb := mailbox.Of(spawner.ActorSystem(), pid)
	if mb == nil {
		spawner.ActorSystem().Root.Stop(pid)
		return nil, fmt.Errorf("%w: the props are not a Component's (no Quiesce mailbox), and the actor was stopped again", ErrNotComponent)
	}
	_ = mb.SetBudget(budget) // valid, checked above
	return pid, nil
}

// Result waits for f and returns its answer, with a refusal as an error: a
// *mailbox.Refused, which matches mailbox.ErrRefused and the stop's reason. A caller
// so tells "the actor is stopping" from actor.ErrTimeout and actor.ErrDeadLetter.
func Result(f *actor.Future) (any, error) {
	res, err := f.Result()
	if r, ok := res.(*mailbox.Refused); ok && err == nil {
		return nil, r
	}
	return res, err
}

// Force forces the stop of each pid, beginning one with reason Requested if it is not
// stopping yet: the running step's own ctx is cancelled (lifecycle.ErrForced, with
// cause), only Always steps run, and every descendant still stopping is forced too.
// It does not wait: Stop or Shutdown, called before the stop ends (before Force, or
// after it while the plan still runs), returns the report; once the component has
// stopped, it is no component any more (ErrNotComponent).
// A PID of another node is forced through the system's Remote, when one is
// installed: Force then waits until that node has forced it, or failed to.
func Force(system *actor.ActorSystem, cause error, pids ...*actor.PID) error {
	var errs []error
	for _, pid := range pids {
		mb := mailbox.Of(system, pid)
		if mb == nil {
			if r := remoteFor(system, pid); r != nil {
				errs = append(errs, r.Force(pid, cause))
				continue
			}
			errs = append(errs, notComponent(system, pid))
			continue
		}
		mb.Force(cause)
	}
	return errors.Join(errs...)
}
