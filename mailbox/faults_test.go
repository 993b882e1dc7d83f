package mailbox_test

// Regression tests for the faults issue 8 found by trying Quiesce as users would.
// Each failed before its fix.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"

	"github.com/quiesce/quiesce/internal/testwait"
)

// bound is how long a test waits for anything before it fails, naming what it
// waited for (see internal/testwait).
const bound = testwait.Bound

func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return testwait.Recv(t, ch, what)
}

// stopped waits for the stop t follows, and returns its report.
func stopped(t testing.TB, tk *mailbox.Ticket, what string) *lifecycle.Report {
	t.Helper()
	recv(t, tk.Done(), what+" to stop")
	return tk.Report()
}

// Fault 1: a PoisonPill in the queue, then a Stop while the queue drains, left the actor
// stopping for ever: the drain counted the pill and never counted it off.
func TestAPillInTheDrainEndsItAndTheStopEnds(t *testing.T) {
	for _, pills := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d pills, then a Stop", pills), func(t *testing.T) {
			sys := newSystem()
			p := newProbe(t)
			plan := lifecycle.MustPlan(p.step("close", policy.Plain, nil))
			pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan}, p.Receive))
			sys.Root.Send(pid, "block")
			recv(t, p.entered, "the block message")
			before := sys.Root.RequestFuture(pid, "before", bound)
			for range pills {
				sys.Root.Poison(pid)
			}
			behind := sys.Root.RequestFuture(pid, "behind", bound)
			sys.Root.Stop(pid) // the stop begins while "block" runs: the drain holds all of the above
			close(p.release)

			rep := stopped(t, mb.Ticket(), "the actor")
			assert.Equal(t, []any{"block", "before", "step close"}, p.take(3, "the drain, then the step"), "the drain ends at the first pill")
			res, err := before.Result()
			require.NoError(t, err)
			assert.Equal(t, "ok before", res, "what came before the pill is answered")
			res, err = behind.Result()
			require.NoError(t, err)
			assert.ErrorIs(t, refusal(t, res), mailbox.ErrStopping, "what is behind it is refused")
			assert.Equal(t, 1, rep.Drained)
			assert.Equal(t, pills+1, rep.Refused, "each pill that finds the actor stopping is refused too, and counted")
			assert.Equal(t, lifecycle.Requested, rep.Reason.Kind)
		})
	}
}

// Fault 1, the other half: what is behind a pill that begins the stop was refused only
// when the plan ended; it is refused as soon as the pill begins the stop.
func TestAPillThatBeginsTheStopRefusesWhatIsBehindItAtOnce(t *testing.T) {
	sys := newSystem()
	p := newProbe(t)
	hold := make(chan struct{})
	plan := lifecycle.MustPlan(p.step("flush", policy.DeferFlag, hold))
	pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan}, p.Receive))
	sys.Root.Send(pid, "block")
	recv(t, p.entered, "the block message")
	sys.Root.Poison(pid)
	behind := sys.Root.RequestFuture(pid, "behind", bound)
	close(p.release)
	assert.Equal(t, []any{"block", "step flush"}, p.take(2, "the message, then the step"))

	res, err := behind.Result() // while flush still holds the plan
	require.NoError(t, err)
	r := refusal(t, res)
	assert.ErrorIs(t, r, mailbox.ErrStopping)
	assert.Equal(t, lifecycle.Poisoned, r.Reason.Kind)
	assert.Equal(t, lifecycle.Stopping, mb.Phase(), "refused before the plan is over")
	close(hold)
	rep := stopped(t, mb.Ticket(), "the actor")
	assert.Equal(t, 1, rep.Refused)
	assert.Zero(t, rep.Drained)
}

// family is a Quiesce parent with n children (each a Quiesce actor running childPlan),
// whose Receive records, in order, "finished <child>" and "terminated <child>", and
// whose own plan has the Children step, then a step that records "after".
type family struct {
	mu       sync.Mutex
	order    []string
	kids     []*actor.PID
	started  chan struct{}
	finished chan *actor.PID
}

func newFamily(t *testing.T, sys *actor.ActorSystem, n int, childPlan *lifecycle.Plan) (*family, *actor.PID, *mailbox.Mailbox) {
	f := &family{started: make(chan struct{}), finished: make(chan *actor.PID, n)}
	child := props(t, mailbox.Config{Plan: childPlan}, func(actor.Context) {})
	after := lifecycle.Step{Name: "after", Run: func(context.Context) error { f.add("after"); return nil }}
	plan := lifecycle.MustPlan(mailbox.ChildrenStep(policy.DeferFlag, 0), after)
	pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan}, func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actor.Started:
			for range n {
				f.kids = append(f.kids, c.Spawn(child))
			}
			close(f.started)
		case *mailbox.Finished:
			f.add("finished " + m.Actor.Id)
			f.finished <- m.Actor
		case *actor.Terminated:
			f.add("terminated " + m.Who.Id)
		}
	}))
	recv(t, f.started, "the children to be spawned")
	return f, pid, mb
}

func (f *family) add(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.order = append(f.order, s)
}

func (f *family) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.order...)
}

// Fault 2: protoactor handles system messages first, so a parent handled a child's
// Terminated before its Finished, 100 times in 100.
func TestAQuiesceParentHearsEachChildsFinishedBeforeItsTerminated(t *testing.T) {
	for round := range 20 {
		sys := newSystem()
		f, pid, mb := newFamily(t, sys, 10, nil)
		sys.Root.Stop(pid)
		rep := stopped(t, mb.Ticket(), "the parent")
		order := f.all()
		for _, kid := range f.kids {
			fin := indexOf(order, "finished "+kid.Id)
			term := indexOf(order, "terminated "+kid.Id)
			require.NotEqual(t, -1, fin, "round %d: %s's Finished: %v", round, kid.Id, order)
			require.NotEqual(t, -1, term, "round %d: %s's Terminated: %v", round, kid.Id, order)
			require.Less(t, fin, term, "round %d: %s: %v", round, kid.Id, order)
		}
		assert.Equal(t, "after", order[len(order)-1], "every child is heard of before the next step")
		assert.Len(t, rep.Children, 10)
	}
}

// Fault 2: a stopping parent heard its children's notices only after its plan. It hears
// them during its Children step: the second child's step waits until the parent has
// heard the first child's Finished, which would never happen if the notices waited
// for the step to end.
func TestAStoppingParentHearsItsChildrensNoticesDuringItsChildrenStep(t *testing.T) {
	sys := newSystem()
	heardFirst := make(chan struct{})
	var once sync.Once
	var firstKid atomicString
	childPlan := lifecycle.MustPlan(lifecycle.Step{Name: "wait", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
		if mailbox.ActorContext(ctx).Self().Id != firstKid.Load() {
			select {
			case <-heardFirst:
			case <-time.After(bound):
				return fmt.Errorf("waited %v for the parent to hear the first child's Finished", bound)
			}
		}
		return nil
	}})
	f, pid, mb := newFamily(t, sys, 2, childPlan)
	firstKid.Store(f.kids[0].Id)
	go func() {
		for kid := range f.finished {
			if kid.Id == f.kids[0].Id {
				once.Do(func() { close(heardFirst) })
			}
		}
	}()
	sys.Root.Stop(pid)
	rep := stopped(t, mb.Ticket(), "the parent")
	close(f.finished)
	require.Len(t, rep.Children, 2)
	for _, c := range rep.Children {
		assert.Equal(t, lifecycle.Completed, c.Steps[0].Status, "%s: %v", c.Actor, c.Steps[0].Err)
	}
}

// A system message that comes while a step runs (here a child's Finished and
// Terminated, from a child stopped on its own) is handled before the next step:
// the steps run in turn on the actor's goroutine, and one that waits goes first.
func TestANoticeThatComesDuringAStepIsHeardBeforeTheNextStep(t *testing.T) {
	sys := newSystem()
	var mu sync.Mutex
	var order []string
	add := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	inHold, release := make(chan struct{}), make(chan struct{})
	plan := lifecycle.MustPlan(
		lifecycle.Step{Name: "hold", Run: func(context.Context) error {
			add("hold")
			close(inHold)
			<-release
			return nil
		}},
		lifecycle.Step{Name: "next", Run: func(context.Context) error { add("next"); return nil }},
		mailbox.ChildrenStep(policy.DeferFlag, 0),
	)
	child := props(t, mailbox.Config{}, func(actor.Context) {})
	pid, mb, km := withChild(t, sys, mailbox.Config{Plan: plan}, child, func(c actor.Context) {
		switch c.Message().(type) {
		case *mailbox.Finished:
			add("finished")
		case *actor.Terminated:
			add("terminated")
		}
	})
	sys.Root.Stop(pid)
	recv(t, inHold, "the hold step")
	stopped(t, km.Stop(nil, nil), "the child") // its Finished and Terminated now wait in the parent's queue
	close(release)
	stopped(t, mb.Ticket(), "the parent")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"hold", "finished", "terminated", "next"}, order)
}

type atomicString struct {
	mu sync.Mutex
	s  string
}

func (a *atomicString) Store(s string) { a.mu.Lock(); a.s = s; a.mu.Unlock() }
func (a *atomicString) Load() string   { a.mu.Lock(); defer a.mu.Unlock(); return a.s }

// Fault 2, for a plain protoactor parent: it hears Finished as a user message, after any
// system message, so the child waits for it to be heard before protoactor stops it. A
// plain parent that is itself stopped used to lose the notices entirely.
func TestAPlainParentHearsFinishedBeforeTerminated(t *testing.T) {
	for _, how := range []string{"the child stops", "the parent is stopped"} {
		t.Run(how, func(t *testing.T) {
			sys := newSystem()
			events := make(chan string, 16)
			started := make(chan *actor.PID, 1)
			child := props(t, mailbox.Config{}, func(actor.Context) {})
			parent := actor.PropsFromFunc(func(c actor.Context) {
				switch c.Message().(type) {
				case *actor.Started:
					started <- c.Spawn(child)
				case *mailbox.Finished:
					events <- "finished"
				case *actor.Terminated:
					events <- "terminated"
				}
			})
			ppid := sys.Root.Spawn(parent)
			kid := recv(t, started, "the child")
			if how == "the child stops" {
				sys.Root.Stop(kid)
			} else {
				sys.Root.Stop(ppid)
			}
			assert.Equal(t, "finished", recv(t, events, "the first event"))
			assert.Equal(t, "terminated", recv(t, events, "the second event"))
		})
	}
}

// Fault 5: a refusal could carry a nil Reason, when admission changed before the stop
// was stored. Many senders race a stop; every refusal names the reason.
func TestEveryRefusalCarriesTheStopsReason(t *testing.T) {
	for round := range 50 {
		sys := newSystem()
		pid, mb := spawn(t, sys, props(t, mailbox.Config{}, func(actor.Context) {}))
		refusals, cancel := deadLetters(sys, pid)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 200 {
					sys.Root.Send(pid, "x")
				}
			})
		}
		sys.Root.Stop(pid)
		wg.Wait()
		stopped(t, mb.Ticket(), "the actor")
		cancel() // publishing is synchronous: every dead letter is in the channel now
		for len(refusals) > 0 {
			if ref, ok := (<-refusals).(*mailbox.Refused); ok { // else protoactor's own, once the actor is gone
				require.NotNil(t, ref.Reason, "round %d: %v", round, ref)
			}
		}
	}
}

// Fault 5: a Forced notice could arrive after Finished, naming the wrong step: the step
// was cancelled before the running step was read.
func TestAForcedNoticeNamesTheStepItCutAndComesBeforeFinished(t *testing.T) {
	for round := range 100 {
		sys := newSystem()
		notices := make(chan mailbox.Notice, 16)
		started := make(chan *actor.PID, 1)
		entered := make(chan struct{})
		childPlan := lifecycle.MustPlan(
			lifecycle.Step{Name: "long", Run: func(ctx context.Context) error {
				close(entered)
				<-ctx.Done() // a force cuts it at once
				return context.Cause(ctx)
			}},
			lifecycle.Step{Name: "close", Always: true, Run: func(context.Context) error { return nil }},
		)
		child := props(t, mailbox.Config{Plan: childPlan}, func(actor.Context) {})
		parent := props(t, mailbox.Config{}, func(c actor.Context) {
			switch m := c.Message().(type) {
			case *actor.Started:
				started <- c.Spawn(child)
			case mailbox.Notice:
				notices <- m
			}
		})
		spawn(t, sys, parent)
		kid := recv(t, started, "the child")
		cm := mailbox.Of(sys, kid)
		cm.Stop(nil, nil)
		recv(t, entered, "the long step")
		cm.Force(nil)
		f, ok := recv(t, notices, "the Forced notice").(*mailbox.Forced)
		require.True(t, ok, "round %d: Forced comes first", round)
		assert.Equal(t, "long", f.Step, "round %d", round)
		_, ok = recv(t, notices, "the Finished notice").(*mailbox.Finished)
		require.True(t, ok, "round %d", round)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// Found by the chaos suite: a parent's Receive that panics on a notice its Children
// step hands it escalates, and the escalation queued a message to self that the
// step's pump would not take: everything behind it waited, and the parent never
// stopped. A stopping parent whose Receive panics still stops. Here the first child
// reports progress (the parent panics on it) and the second finishes only once the
// panic has reached the parent's supervisor, so that its notices queue behind what
// the escalation queued.
func TestAParentWhoseReceivePanicsOnANoticeStillStops(t *testing.T) {
	sys := newSystem()
	started := make(chan *actor.PID, 2)
	var panicked atomic.Int32
	escalated := make(chan struct{})
	var once sync.Once
	reporter := props(t, mailbox.Config{Plan: lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag,
		Run: func(ctx context.Context) error {
			lifecycle.ReportProgress(ctx, "drained", 1, 1) // a notice to the parent, during its Children step
			return nil
		}})}, func(actor.Context) {})
	late := props(t, mailbox.Config{Plan: lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag,
		Run: func(ctx context.Context) error {
			select {
			case <-escalated:
				return nil
			case <-time.After(10 * time.Second):
				return errors.New("waited 10s for the parent's escalation")
			}
		}})}, func(actor.Context) {})
	plan := lifecycle.MustPlan(mailbox.ChildrenStep(policy.DeferFlag, 0))
	parent := props(t, mailbox.Config{Plan: plan}, func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			started <- c.Spawn(reporter)
			started <- c.Spawn(late)
		case *mailbox.Progressed:
			panicked.Add(1)
			panic("a handler that does not expect this notice")
		}
	})
	decide := func(any) actor.Directive {
		once.Do(func() { close(escalated) })
		return actor.ResumeDirective
	}
	parents := make(chan *actor.PID, 1)
	sys.Root.Spawn(props(t, mailbox.Config{}, func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			parents <- c.Spawn(parent)
		}
	}, actor.WithSupervisor(actor.NewOneForOneStrategy(10, 0, decide))))
	ppid := recv(t, parents, "the parent")
	recv(t, started, "the first child")
	recv(t, started, "the second child")
	pm := mailbox.Of(sys, ppid)
	require.NotNil(t, pm)
	rep := stopped(t, pm.Stop(nil, nil), "the parent")
	assert.Len(t, rep.Children, 2)
	for _, c := range rep.Children {
		assert.Equal(t, lifecycle.AllCompleted, c.Verdict(), "%v", c)
	}
	assert.Positive(t, panicked.Load(), "the parent's Receive panicked on a notice")
}
