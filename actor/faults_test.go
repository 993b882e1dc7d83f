package actor_test

// Regression tests for the Shutdown faults issue 8 found. Each failed before its fix.

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// sleeper is a component whose one step takes d, deaf to its ctx if deaf is set.
func sleeper(t *testing.T, d time.Duration, deaf bool, budget mailbox.Budget) *actor.Props {
	t.Helper()
	return mustProps(t, qactor.Component[*worker]{
		New:    func() *worker { return &worker{trail: &trail{}} },
		Budget: budget,
		Steps: []qactor.Step[*worker]{{Name: "flush", Policy: policy.DeferFlag, Run: func(_ *worker, ctx context.Context) error {
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				if deaf {
					<-time.After(d)
					return nil
				}
				return context.Cause(ctx)
			}
		}}},
	})
}

// Fault 3: a Shutdown with an outer deadline under 2 s gave the roots a negative
// budget, which read as Brutal: nothing drained and the error was nil.
func TestAShortShutdownIsStillGraceful(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		block := make(chan struct{})
		pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
			New: func() *worker { return &worker{trail: &trail{}, block: block} },
			Steps: []qactor.Step[*worker]{{Name: "flush", Policy: policy.DeferFlag, Run: func(*worker, context.Context) error {
				time.Sleep(100 * time.Millisecond)
				return nil
			}}},
		}))
		sys.Root.Send(pid, "block")  // the actor is busy with it...
		sys.Root.Send(pid, "queued") // ...so this is queued when the stop begins: drained, not refused
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		go func() { synctest.Wait(); close(block) }()
		tree, err := qactor.Shutdown(ctx, sys, errors.New("SIGTERM"), pid)
		require.NoError(t, err)
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "the step runs its full 100 ms")
		require.Len(t, tree.Roots, 1)
		rep := tree.Roots[0]
		assert.Equal(t, lifecycle.AllCompleted, rep.Verdict())
		assert.NoError(t, rep.Forced)
		assert.Equal(t, lifecycle.Completed, rep.Steps[0].Status)
		assert.Equal(t, 1, rep.Drained)
		settle()
	})
}

// Fault 3, the bound: under a 1 s Shutdown, a step that overruns is forced at half the
// deadline (the AbandonAfter shrinks to a quarter of it), abandoned a quarter later,
// and the force says it came from the deadline.
func TestAShortShutdownFitsItsForceIntoTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		pid := sys.Root.Spawn(sleeper(t, time.Hour, true, mailbox.Infinity))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		tree, err := qactor.Shutdown(ctx, sys, errors.New("SIGTERM"), pid)
		require.NoError(t, err)
		assert.Equal(t, 750*time.Millisecond, time.Since(start), "forced at 500 ms, abandoned 250 ms later")
		rep := tree.Roots[0]
		assert.Equal(t, lifecycle.SomeAbandoned, rep.Verdict())
		assert.ErrorIs(t, rep.Forced, mailbox.ErrDeadline, "the force names the deadline, not silence")
		assert.Equal(t, 750*time.Millisecond, rep.Steps[0].Duration, "an abandoned step runs, as far as the report goes, until it is abandoned")
		time.Sleep(time.Hour) // let the abandoned step return, so the bubble can end
		settle()
	})
}

// Fault 4: Shutdown replaced a root's own budget with the deadline's, so a root with
// a 200 ms budget ran for seconds under a 10 s Shutdown. The smaller one holds.
func TestShutdownKeepsARootsOwnTighterBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		pid := sys.Root.Spawn(sleeper(t, time.Second, false, mailbox.After(200*time.Millisecond)))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		tree, err := qactor.Shutdown(ctx, sys, errors.New("SIGTERM"), pid)
		require.NoError(t, err)
		assert.Equal(t, 200*time.Millisecond, time.Since(start))
		rep := tree.Roots[0]
		assert.ErrorIs(t, rep.Forced, mailbox.ErrBudgetExpired, "its own budget forced it")
		assert.Equal(t, lifecycle.Forced, rep.Steps[0].Status)
		settle()
	})
}

// The deadline reaches the children: under a 1 s Shutdown, a child that overruns is
// forced by the deadline too, not after its own (infinite) budget.
func TestShutdownsDeadlineReachesTheChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		child := sleeper(t, time.Hour, false, mailbox.Infinity)
		parent := qactor.Component[*spawnsOne]{New: func() *spawnsOne { return &spawnsOne{child: child} }}.MustProps()
		pid := sys.Root.Spawn(parent)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		tree, err := qactor.Shutdown(ctx, sys, errors.New("SIGTERM"), pid)
		require.NoError(t, err)
		assert.Equal(t, 500*time.Millisecond, time.Since(start))
		require.Len(t, tree.Roots[0].Children, 1)
		kid := tree.Roots[0].Children[0]
		assert.ErrorIs(t, kid.Forced, mailbox.ErrDeadline)
		assert.Equal(t, lifecycle.Forced, kid.Steps[0].Status)
		settle()
	})
}

// spawnsOne is a component that spawns one child of props child when it starts.
type spawnsOne struct{ child *actor.Props }

func (s *spawnsOne) Receive(c actor.Context) {
	if _, ok := c.Message().(*actor.Started); ok {
		c.Spawn(s.child)
	}
}

// A second Shutdown forces; a Shutdown that finds a root stopping for another reason
// is one more request, and does not force it.
func TestAShutdownOfARootStoppingForAnotherReasonDoesNotForceIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		pid := sys.Root.Spawn(sleeper(t, 100*time.Millisecond, false, mailbox.Infinity))
		synctest.Wait()
		sys.Root.Poison(pid)
		synctest.Wait()
		phase, _ := qactor.PhaseOf(sys, pid)
		require.Equal(t, lifecycle.Stopping, phase)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tree, err := qactor.Shutdown(ctx, sys, errors.New("SIGTERM"), pid)
		require.NoError(t, err)
		rep := tree.Roots[0]
		assert.Equal(t, lifecycle.Poisoned, rep.Reason.Kind)
		assert.NoError(t, rep.Forced)
		assert.Equal(t, 1, rep.Steps[0].Deferred, "the Shutdown was one more request, deferred by the step")
		settle()
	})
}
