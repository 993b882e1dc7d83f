package chaos

// The components a run spawns: one Quiesce component per node instance, whose
// Receive works on the traffic and keeps what it hears from its children, and whose
// steps behave as the scenario says and record themselves.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// Errors the steps and start hooks fail with.
var (
	errStep      = errors.New("chaos: step failed")
	errStart     = errors.New("chaos: start hook failed")
	errForce     = errors.New("chaos: force")
	errStop      = errors.New("chaos: stop")
	errShutdown  = errors.New("chaos: shutdown")
	errFinalStop = errors.New("chaos: the run is over")
)

// instance is one spawn of a node: one PID, one mailbox, one or more incarnations
// (a restart keeps the process). Its fields under mu are written from the actor's
// goroutine, its steps' and the EventStream's publishers.
type instance struct {
	r      *run
	node   *Node
	parent *instance
	name   string // its PID's Id, unique in the run
	pid    *actor.PID
	mb     *mailbox.Mailbox

	mu           sync.Mutex
	starts       int    // start hooks that ran
	stopAsked    uint64 // order of the first stop request that had returned (0: none)
	stopAskedBy  string
	stopping     uint64 // order of the first Stopping phase for a stop, not a restart
	stoppingWhy  *lifecycle.Reason
	restarts     int    // Stopping phases for a restart
	step         string // the step of its own plan running now
	stepSince    time.Time
	lastStep     string // the last step the EventStream said finished, built-in ones too
	stepsStarted int
	stopSteps    int         // steps of its own plan started in its latest stop
	deaf         []string    // deaf steps blocked now
	heard        []heard     // what its Receive got from its children, in order
	finished     []published // its own Finished notices, as published
	notices      []published // its own other notices, as published
	terminated   bool
	terminatedAt time.Time
	refusedSeen  int64 // refusals of messages to it, as their senders saw them
	budgets      []budgetSet
	did          []string // what the schedule did to it, for the diagnosis
}

// heard is one message a parent's Receive got about a child.
type heard struct {
	order  uint64
	at     time.Time
	child  string
	notice mailbox.Notice    // or nil for protoactor's Terminated
	term   *actor.Terminated // or nil
}

// published is one notice as the EventStream saw it.
type published struct {
	order  uint64
	at     time.Time
	notice mailbox.Notice
}

// budgetSet is one budget an instance was given: by its props, SetBudget or Shutdown.
type budgetSet struct {
	b        mailbox.Budget
	by       string
	from, to time.Time // the call's start and end (zero for the props')
}

func (in *instance) String() string { return in.name }

// note records what the schedule does to the instance, for a diagnosis.
func (in *instance) note(e Event) {
	at := time.Since(in.r.begin).Round(10 * time.Microsecond)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.did = append(in.did, fmt.Sprintf("%v at +%v (planned +%v)", e, at, e.At.Round(10*time.Microsecond)))
}

// askedToStop records a stop request that has returned: no incarnation may start
// after it (no resurrection).
func (in *instance) askedToStop(by string) {
	o := in.r.order.Add(1)
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stopAsked == 0 {
		in.stopAsked, in.stopAskedBy = o, by
	}
}

// msg is a message of the traffic.
type msg struct{ id int }

// answer is the reply to a request.
type answer struct{ id int }

// failure is what a message that fails panics with; the supervisor's decider reads
// its directive. An escalation goes up one level, and is then a restart.
type failure struct {
	directive actor.Directive
	hops      int
}

func (f *failure) Error() string { return fmt.Sprintf("chaos: failure (%v)", f.directive) }

func decide(reason any) actor.Directive {
	f, ok := reason.(*failure)
	if !ok {
		return actor.RestartDirective
	}
	if f.directive == actor.EscalateDirective {
		if f.hops++; f.hops > 1 {
			return actor.RestartDirective
		}
	}
	return f.directive
}

// node is the actor every instance runs.
type node struct{ in *instance }

func (a *node) Receive(c actor.Context) {
	in := a.in
	switch m := c.Message().(type) {
	case *msg:
		in.r.handle(c, in, m)
	case mailbox.Notice:
		in.hear(c, m, nil)
	case *actor.Terminated:
		in.hear(c, nil, m)
	}
}

func (in *instance) hear(c actor.Context, n mailbox.Notice, t *actor.Terminated) {
	h := heard{order: in.r.order.Add(1), at: time.Now(), notice: n, term: t}
	if t != nil {
		h.child = t.Who.Id
	} else {
		h.child = noticeChild(n).Id
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.heard = append(in.heard, h)
}

func noticeChild(n mailbox.Notice) *actor.PID {
	switch n := n.(type) {
	case *mailbox.DeferredCancel:
		return n.Actor
	case *mailbox.Interrupted:
		return n.Actor
	case *mailbox.Forced:
		return n.Actor
	case *mailbox.Abandoned:
		return n.Actor
	case *mailbox.Finished:
		return n.Actor
	case *mailbox.Progressed:
		return n.Actor
	}
	return nil
}

func noticeStep(n mailbox.Notice) string {
	switch n := n.(type) {
	case *mailbox.DeferredCancel:
		return n.Step
	case *mailbox.Interrupted:
		return n.Step
	case *mailbox.Forced:
		return n.Step
	case *mailbox.Abandoned:
		return n.Step
	case *mailbox.Progressed:
		return n.Step
	}
	return ""
}

// handle is Receive's work on a message of the traffic.
func (r *run) handle(c actor.Context, in *instance, m *msg) {
	spec := r.sc.Msgs[m.id]
	led := &r.ledger[m.id]
	led.handled.Add(1)
	led.by.Store(in)
	if spec.Work > 0 {
		work(spec.Work)
	}
	switch spec.Do {
	case FailNow:
		panic(&failure{directive: spec.Fail})
	case StopSelf:
		c.Stop(c.Self())
		in.askedToStop("its own ctx.Stop")
	case PoisonSelf:
		c.Poison(c.Self())
	case StopChild:
		if kid := r.current(spec.Child); kid != nil && kid.parent == in {
			c.Stop(kid.pid)
			kid.askedToStop("its parent's ctx.Stop")
		}
	}
	if c.Sender() != nil {
		c.Respond(&answer{m.id})
	}
}

// work stands for Receive or a step doing something for d. It orders nothing.
func work(d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
}

// workCtx works for d, or until ctx is done.
func workCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// props makes the component of an instance.
func (r *run) props(in *instance) *actor.Props {
	n := in.node
	var steps []qactor.Step[*node]
	for i, s := range n.Steps {
		if i == n.ChildrenAt {
			steps = append(steps, qactor.Children[*node](n.ChildrenPolicy, n.ChildrenTimeout))
		}
		steps = append(steps, qactor.Step[*node]{
			Name: s.Name, Policy: s.Policy, Timeout: s.Timeout, Grace: s.Grace, Always: s.Always,
			Run: r.stepRun(in, s),
		})
	}
	if n.ChildrenAt == len(n.Steps) {
		steps = append(steps, qactor.Children[*node](n.ChildrenPolicy, n.ChildrenTimeout))
	}
	props, err := qactor.Component[*node]{
		New:          func() *node { return &node{in: in} },
		Steps:        steps,
		Start:        []func(*node, actor.Context) error{r.startHook(in)},
		Capacity:     n.Capacity,
		Budget:       n.Budget,
		AbandonAfter: n.AbandonAfter,
		Order:        n.Order,
		Options:      []actor.PropsOption{actor.WithSupervisor(actor.NewOneForOneStrategy(n.Retries, time.Second, decide))},
	}.Props()
	if err != nil {
		panic(fmt.Sprintf("chaos: the generator made an invalid component for %v: %v", n, err))
	}
	return props
}

// stepRun is the Run of one step: it records itself, then behaves as s says.
func (r *run) stepRun(in *instance, s StepSpec) func(*node, context.Context) error {
	return func(_ *node, ctx context.Context) error {
		in.mu.Lock()
		in.step, in.stepSince = s.Name, time.Now()
		in.stepsStarted++
		in.stopSteps++
		in.mu.Unlock()
		defer func() {
			in.mu.Lock()
			in.step = ""
			in.mu.Unlock()
		}()
		switch s.Do {
		case Work:
			return workCtx(ctx, s.D)
		case Fail:
			if err := workCtx(ctx, s.D); err != nil {
				return err
			}
			return errStep
		case Panic:
			if err := workCtx(ctx, s.D); err != nil {
				return err
			}
			panic("chaos: step " + s.Name + " panics")
		case Slow:
			work(s.D)
		case Deaf:
			r.deafWait(in, s.Name)
		}
		return nil
	}
}

// deafWait blocks a step that ignores its ctx until the run ends: only a force and
// then abandonment get the actor past it, and the run's end lets its goroutine go.
func (r *run) deafWait(in *instance, step string) {
	r.deafSteps.Add(1)
	in.mu.Lock()
	in.deaf = append(in.deaf, step)
	in.mu.Unlock()
	<-r.release
	in.mu.Lock()
	for i, s := range in.deaf {
		if s == step {
			in.deaf = append(in.deaf[:i], in.deaf[i+1:]...)
			break
		}
	}
	in.mu.Unlock()
	r.deafSteps.Done()
}

// startHook runs at the start of every incarnation: it checks that no stop was
// asked for before it (no resurrection), and spawns the node's children.
func (r *run) startHook(in *instance) func(*node, actor.Context) error {
	return func(_ *node, c actor.Context) error {
		o := r.order.Add(1)
		in.mu.Lock()
		in.starts++
		k := in.starts
		asked, by, stopping, why := in.stopAsked, in.stopAskedBy, in.stopping, in.stoppingWhy
		in.mu.Unlock()
		if asked != 0 && asked < o {
			r.violate(invResurrect, in, "incarnation %d started after %s had asked it to stop", k, by)
		}
		if stopping != 0 && stopping < o {
			r.violate(invResurrect, in, "incarnation %d started after a stop (%v) had begun", k, why)
		}
		if k > 1 && in.node.FailStart {
			return errStart
		}
		for _, child := range in.node.Children {
			r.spawn(c, in, child)
		}
		if k == 1 {
			r.startedOne()
		}
		return nil
	}
}
