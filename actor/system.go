package actor

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/trigger"
)

// TopLevel returns the live Quiesce components of system that no other Quiesce
// component stops: those spawned from the root, and those whose parent is a plain
// protoactor actor. Stopping them gracefully stops everything else Quiesce runs, each
// by its parent's Children step.
func TopLevel(system *actor.ActorSystem) []*actor.PID {
	// The registry's buckets are read under their own locks, with a callback that
	// only collects (mailbox.Of takes the same locks): no goroutine per shard, as
	// the map's channel iterators start.
	var ids []string
	for _, bucket := range system.ProcessRegistry.LocalPIDs.LocalPIDs {
		bucket.IterCb(func(id string, p any) {
			if _, ok := p.(*actor.ActorProcess); ok {
				ids = append(ids, id)
			}
		})
	}
	var roots []*actor.PID
	for _, id := range ids {
		pid := system.NewLocalPID(id)
		mb := mailbox.Of(system, pid)
		if mb == nil {
			continue
		}
		if parent := mb.Parent(); parent == nil || mailbox.Of(system, parent) == nil {
			roots = append(roots, pid)
		}
	}
	return roots
}

// ShutdownSystem stops every top-level component of system (TopLevel) gracefully,
// for cause, under ctx's deadline, as Shutdown does, and then shuts protoactor's
// actor system down: the graceful form of `defer system.Shutdown()`, which skips
// every plan. It returns the tree report; called again while the first one runs, it
// forces the components (the second SIGTERM).
func ShutdownSystem(ctx context.Context, system *actor.ActorSystem, cause error) (*Tree, error) {
	tree, err := Shutdown(ctx, system, cause, TopLevel(system)...)
	system.Shutdown()
	return tree, err
}

// ShutdownWhen waits until w fires, then shuts system down (ShutdownSystem) within
// grace, with what fired as the cause ("shutdown: signal SIGTERM"), and forces the
// stop if w escalates meanwhile (a second signal) or grace runs out. It returns the
// tree report, or ctx's cause if ctx ends before w fires. Watch the source before
// calling, so that its signals are caught from then on.
func ShutdownWhen(ctx context.Context, system *actor.ActorSystem, w *trigger.Watcher, grace time.Duration) (*Tree, error) {
	select {
	case <-w.Context().Done():
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	cause := context.Cause(w.Context())
	// Done at the grace period's end, or at once on escalation: Shutdown then forces.
	sctx, cancel := context.WithTimeoutCause(w.ForceContext(), grace, fmt.Errorf("grace period of %v over", grace))
	defer cancel()
	return ShutdownSystem(sctx, system, cause)
}

// RunUntilSignal is the one line main needs: it blocks until SIGINT or SIGTERM, then
// shuts system down gracefully within grace (a pod's termination grace period, say),
// every top-level component by its plan; a second signal forces the stop, and a
// third gets Go's default (the process ends). It returns the tree report.
//
//	tree, err := qactor.RunUntilSignal(system, 25*time.Second)
func RunUntilSignal(system *actor.ActorSystem, grace time.Duration) (*Tree, error) {
	return runUntilSignal(system, grace, nil)
}

// runUntilSignal is RunUntilSignal, calling watching (if not nil) once the signals
// are caught: a test's sync point.
func runUntilSignal(system *actor.ActorSystem, grace time.Duration, watching func()) (*Tree, error) {
	w, err := trigger.Watch(context.Background(), trigger.Signal(os.Interrupt, syscall.SIGTERM))
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	if watching != nil {
		watching()
	}
	return ShutdownWhen(context.Background(), system, w, grace)
}
