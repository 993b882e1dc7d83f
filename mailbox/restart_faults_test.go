package mailbox_test

// Faults the chaos suite found around restarts. Each failed before its fix.

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// restarting returns props whose actor panics on "crash", and whose plan's one step
// says it began on began and waits for release: a restart holds there.
func restarting(t *testing.T, starts *atomic.Int32, began chan<- struct{}, release <-chan struct{}) *actor.Props {
	t.Helper()
	plan := lifecycle.MustPlan(lifecycle.Step{Name: "hand-back", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
		began <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}})
	return props(t, mailbox.Config{Plan: plan}, func(c actor.Context) {
		switch c.Message() {
		case "crash":
			panic(errors.New("crash"))
		}
		if _, ok := c.Message().(*actor.Started); ok {
			starts.Add(1)
		}
	})
}

// Fault A: a force during a restart's plan only forced the restart, and a new
// incarnation came after it. A force is a stop: nothing comes back.
func TestAForceDuringARestartStopsTheActor(t *testing.T) {
	sys := newSystem()
	var starts atomic.Int32
	began, release := make(chan struct{}, 4), make(chan struct{})
	defer close(release)
	pid := supervised(t, sys, actor.RestartDirective, restarting(t, &starts, began, release))
	mb := mailbox.Of(sys, pid)
	require.NotNil(t, mb)
	sys.Root.Send(pid, "crash")
	recv(t, began, "the restart's plan")
	require.Equal(t, lifecycle.Restarting, mb.Ticket().Reason().Kind)
	rep := stopped(t, mb.Force(errors.New("enough")), "the actor")
	assert.ErrorContains(t, rep.Forced, "enough", "the stop was forced")
	assert.Equal(t, int32(1), starts.Load(), "no new incarnation")
	assert.Nil(t, mailbox.Of(sys, pid), "gone")
}

// Fault B: protoactor's final Stop from a parent to a child that restarts was taken
// for a repeat of a stop under way, and dropped: the child restarted, and the parent
// never ended. Here a parent stops its children one at a time, youngest first, and
// a second request interrupts its Children step before it asks the older child,
// which is restarting: the parent's own end, through protoactor, must end it.
func TestAParentsFinalStopEndsAChildThatRestarts(t *testing.T) {
	sys := newSystem()
	var starts atomic.Int32
	restartBegan := make(chan struct{}, 4)
	older := props(t, mailbox.Config{Plan: lifecycle.MustPlan(lifecycle.Step{Name: "hand-back", Run: func(ctx context.Context) error {
		restartBegan <- struct{}{}
		<-ctx.Done() // a plain step: a stop request interrupts it
		return ctx.Err()
	}})}, func(c actor.Context) {
		if c.Message() == "crash" {
			panic(errors.New("crash"))
		}
		if _, ok := c.Message().(*actor.Started); ok {
			starts.Add(1)
		}
	})
	gate, asked := make(chan struct{}), make(chan struct{}, 1)
	younger := props(t, mailbox.Config{Plan: lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag,
		Run: func(context.Context) error { asked <- struct{}{}; <-gate; return nil }})}, func(actor.Context) {})
	kids := make(chan *actor.PID, 2)
	decide := func(any) actor.Directive { return actor.RestartDirective }
	plan := lifecycle.MustPlan(mailbox.ChildrenStep(policy.Plain, 0))
	ppid := sys.Root.Spawn(props(t, mailbox.Config{Plan: plan, Order: mailbox.Reverse}, func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			kids <- c.Spawn(older)
			kids <- c.Spawn(younger)
		}
	}, actor.WithSupervisor(actor.NewOneForOneStrategy(10, 0, decide))))
	old := recv(t, kids, "the older child")
	recv(t, kids, "the younger child")
	sys.Root.Send(old, "crash")
	recv(t, restartBegan, "the older child's restart")
	pm := mailbox.Of(sys, ppid)
	tk := pm.Stop(nil, nil)
	recv(t, asked, "the parent to ask the younger child")
	pm.Stop(nil, nil) // interrupts the Children step: the older child is never asked
	close(gate)
	rep := stopped(t, tk, "the parent")
	assert.Equal(t, lifecycle.Interrupted, rep.Steps[0].Status)
	assert.Nil(t, mailbox.Of(sys, old), "the older child is gone too")
	assert.Equal(t, int32(1), starts.Load(), "and it did not come back first")
}

// Fault B, by the path protoactor takes: a child born while its parent drains, after
// the parent's plan was built without a Children step, is stopped by protoactor's
// own Stop when the parent finalizes. If the child is restarting then, that Stop is
// a new request (the restart becomes a stop), not a repeat to drop: dropped, the
// child's restart would wait for ever and the parent with it.
func TestProtoactorsFinalStopEndsAChildBornDuringTheDrainThatRestarts(t *testing.T) {
	sys := newSystem()
	var starts atomic.Int32
	restartBegan := make(chan struct{}, 4)
	child := props(t, mailbox.Config{Plan: lifecycle.MustPlan(lifecycle.Step{Name: "hand-back", Run: func(ctx context.Context) error {
		restartBegan <- struct{}{}
		<-ctx.Done() // a plain step: only a stop request ends it
		return ctx.Err()
	}})}, func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			starts.Add(1)
		}
	})
	inReceive, goOn := make(chan struct{}), make(chan struct{})
	ppid := sys.Root.Spawn(props(t, mailbox.Config{}, func(c actor.Context) {
		switch c.Message() {
		case "hold":
			inReceive <- struct{}{}
			<-goOn
		case "spawn": // handled by the drain: the plan has no Children step
			kid := c.Spawn(child)
			// A restart, as a supervisor's directive sends it (without the failure,
			// whose escalation would need this goroutine).
			p, _ := sys.ProcessRegistry.Get(kid)
			p.SendSystemMessage(kid, &actor.Restart{})
			select {
			case <-restartBegan:
			case <-time.After(10 * time.Second):
				t.Error("waited 10s for the child's restart")
			}
		}
	}))
	sys.Root.Send(ppid, "hold")
	recv(t, inReceive, "the parent busy")
	sys.Root.Send(ppid, "spawn") // queued before the stop
	tk := mailbox.Of(sys, ppid).Stop(nil, nil)
	close(goOn)
	rep := stopped(t, tk, "the parent")
	assert.Empty(t, rep.Steps, "no Children step: the parent had no child when its plan was built")
	assert.Equal(t, 1, rep.Drained)
	assert.Equal(t, int32(1), starts.Load(), "the child did not come back")
}

// A forced parent whose Children step goes one child at a time forces the children
// it had not asked yet too, with its reason: none is left to protoactor's plain stop.
func TestAForcedReverseOrderParentForcesTheChildrenItHadNotAsked(t *testing.T) {
	sys := newSystem()
	hold := make(chan struct{})
	defer close(hold)
	deaf := lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Always: true, Run: func(ctx context.Context) error {
		select {
		case <-hold:
		case <-ctx.Done():
		}
		return context.Cause(ctx)
	}})
	child := props(t, mailbox.Config{Plan: deaf}, func(actor.Context) {})
	kids := make(chan *actor.PID, 3)
	plan := lifecycle.MustPlan(mailbox.ChildrenStep(policy.DeferFlag, 0))
	ppid := sys.Root.Spawn(props(t, mailbox.Config{Plan: plan, Order: mailbox.Reverse}, func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			for range 3 {
				kids <- c.Spawn(child)
			}
		}
	}))
	for range 3 {
		recv(t, kids, "a child")
	}
	pm := mailbox.Of(sys, ppid)
	tk := pm.Stop(nil, nil)
	pm.Force(errors.New("deadline"))
	rep := stopped(t, tk, "the parent")
	require.Len(t, rep.Children, 3)
	for _, c := range rep.Children {
		assert.ErrorContains(t, c.Forced, "deadline", "%s", c.Actor)
		assert.Equal(t, lifecycle.ParentStopping, c.Reason.Kind, "%s: asked by its parent, with its reason", c.Actor)
	}
}

// Fault C: a step that returned just as it was abandoned left two goroutines running
// one mailbox (the stuck one saw its step's end before the generation changed), and
// the stop's Finished went out twice. The step here returns at the very moment its
// abandonment comes due; whichever comes first, one goroutine goes on, once.
func TestAStepThatReturnsAsItIsAbandonedLeavesOneGoroutine(t *testing.T) {
	for round := range 30 {
		synctest.Test(t, func(t *testing.T) {
			sys := newSystem()
			finished, unsubscribe := events[*mailbox.Finished](sys)
			defer unsubscribe()
			plan := lifecycle.MustPlan(
				lifecycle.Step{Name: "flush", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
					<-ctx.Done()            // forced at 100 ms...
					time.Sleep(time.Second) // ...and back exactly when abandoned
					return nil
				}},
				lifecycle.Step{Name: "close", Always: true, Run: func(context.Context) error { return nil }},
			)
			pid := sys.Root.Spawn(props(t, mailbox.Config{Plan: plan, Budget: mailbox.After(100 * time.Millisecond),
				AbandonAfter: time.Second}, func(actor.Context) {}))
			synctest.Wait()
			<-mailbox.Of(sys, pid).Stop(nil, nil).Done()
			time.Sleep(time.Minute)
			synctest.Wait()
			require.Len(t, finished, 1, "round %d: one Finished", round)
			rep := (<-finished).Report
			assert.Contains(t, []lifecycle.Status{lifecycle.Abandoned, lifecycle.Forced, lifecycle.Completed}, rep.Steps[0].Status)
			assert.Equal(t, lifecycle.Completed, rep.Steps[1].Status, "round %d: close ran once", round)
			settle()
		})
	}
}

// Found by the chaos suite: a parent stopping its children one at a time waited for
// ever for a child that had ended on its own while it waited for another: it had
// seen that child's Terminated already, and waited for it again.
func TestAReverseOrderParentDoesNotWaitForAChildThatEndedMeanwhile(t *testing.T) {
	sys := newSystem()
	gate, asked := make(chan struct{}), make(chan struct{}, 1)
	younger := props(t, mailbox.Config{Plan: lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag,
		Run: func(context.Context) error { asked <- struct{}{}; <-gate; return nil }})}, func(actor.Context) {})
	older := props(t, mailbox.Config{}, func(actor.Context) {})
	kids := make(chan *actor.PID, 2)
	plan := lifecycle.MustPlan(mailbox.ChildrenStep(policy.DeferFlag, 0))
	ppid := sys.Root.Spawn(props(t, mailbox.Config{Plan: plan, Order: mailbox.Reverse}, func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			kids <- c.Spawn(older)
			kids <- c.Spawn(younger)
		}
	}))
	old := recv(t, kids, "the older child")
	recv(t, kids, "the younger child")
	tk := mailbox.Of(sys, ppid).Stop(nil, nil)
	recv(t, asked, "the parent to ask the younger child first")
	recv(t, mailbox.Of(sys, old).Stop(nil, nil).Done(), "the older child to end on its own")
	close(gate)
	rep := stopped(t, tk, "the parent")
	assert.Equal(t, lifecycle.Completed, rep.Steps[0].Status)
}

// Found by the chaos suite: a PoisonPill that met a full queue was refused for
// capacity, so Poison never stopped the actor. A pill is a stop, not work.
func TestAPoisonPillIsNotRefusedForCapacity(t *testing.T) {
	sys := newSystem()
	p := newProbe(t)
	finished, unsubscribe := events[*mailbox.Finished](sys)
	defer unsubscribe()
	pid, mb := fill(t, sys, p, mailbox.Config{Capacity: 1})
	sys.Root.Poison(pid) // the queue is full
	assert.Zero(t, mb.RefusedCount(), "not refused")
	close(p.release)
	f := recv(t, finished, "the poisoned actor's report")
	assert.Equal(t, lifecycle.Poisoned, f.Report.Reason.Kind)
}

// failurePosted is mailbox middleware that says on posted when a child's Failure has
// been posted to its mailbox.
type failurePosted struct{ posted chan struct{} }

func (f failurePosted) MailboxStarted() {}
func (f failurePosted) MessagePosted(m any) {
	if _, ok := m.(*actor.Failure); ok {
		f.posted <- struct{}{}
	}
}
func (f failurePosted) MessageReceived(any) {}
func (f failurePosted) MailboxEmpty()       {}

// Found by the chaos suite: a child's failure that the stopping parent's supervisor
// escalates suspends the parent with no panic of its own, and the parent's drain
// waited for ever for messages a suspended actor never takes. The suspension ends
// the drain: the stop goes on, and what was left is refused.
func TestAnEscalatedFailureDuringTheDrainEndsItAndTheStopGoesOn(t *testing.T) {
	sys := newSystem()
	child := props(t, mailbox.Config{}, func(c actor.Context) {
		if c.Message() == "crash" {
			panic(errors.New("crash"))
		}
	})
	escalate := func(any) actor.Directive { return actor.EscalateDirective }
	mw := failurePosted{make(chan struct{}, 1)}
	inHold, release, kids := make(chan struct{}), make(chan struct{}), make(chan *actor.PID, 1)
	plan := lifecycle.MustPlan(lifecycle.Step{Name: "close", Always: true, Run: func(context.Context) error { return nil }})
	self, pm := spawn(t, sys, props(t, mailbox.Config{Plan: plan, Middleware: []actor.MailboxMiddleware{mw}}, func(c actor.Context) {
		switch c.Message() {
		case "spawn":
			kids <- c.Spawn(child)
		case "hold":
			inHold <- struct{}{}
			<-release
		}
	}, actor.WithSupervisor(actor.NewOneForOneStrategy(10, 0, escalate))))
	sys.Root.Send(self, "spawn")
	kid := recv(t, kids, "the child")
	sys.Root.Send(self, "hold")
	recv(t, inHold, "the parent busy")
	sys.Root.Send(self, "a")
	sys.Root.Send(self, "b") // queued before the stop: the drain's
	tk := pm.Stop(nil, nil)
	sys.Root.Send(kid, "crash")
	recv(t, mw.posted, "the child's failure posted to the parent")
	close(release) // the parent drains, meets the failure, escalates it, is suspended
	rep := stopped(t, tk, "the parent")
	assert.Equal(t, 2, rep.Drained+rep.Refused, "each queued message drained or refused, none lost")
	assert.Equal(t, lifecycle.Completed, rep.Steps[len(rep.Steps)-1].Status, "the plan ran")
}
