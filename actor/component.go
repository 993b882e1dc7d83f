package actor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// Component declares an actor with a graceful Stopping phase: what makes an
// incarnation, how it starts, and how it stops. Props turns it into *actor.Props
// that ordinary protoactor code spawns, stops, poisons and supervises as usual, and
// every one of those stops runs the plan.
type Component[A actor.Actor] struct {
	// New makes a fresh incarnation, as a protoactor Producer does. Required.
	New func() A
	// Steps is the Stopping phase, in order. Each step runs on the actor's goroutine
	// (or, under a deferred policy, while it waits), so it may use the actor's state.
	// Without a Children step, children are stopped before the first step.
	Steps []Step[A]
	// Start hooks run in order in the Starting phase, right after *actor.Started.
	// An error stops the component with reason StartFailed.
	Start []func(a A, c actor.Context) error
	// Deadline is an outer bound the steps' Timeouts must fit, such as a pod's 30 s
	// termination grace period; zero means none. Checked by Props, before anything runs.
	Deadline time.Duration
	// Capacity bounds the mailbox; zero means unbounded. See mailbox.Config.
	Capacity int
	// Budget is how long a stop may take before it is forced. The zero value is
	// mailbox.Infinity.
	Budget mailbox.Budget
	// ForceBudget is how long a forced step may take to return before it is
	// abandoned. Zero means lifecycle.DefaultForceBudget.
	ForceBudget time.Duration
	// Order is how children are stopped: mailbox.Parallel or mailbox.Reverse.
	Order mailbox.Order
	// Options are more protoactor props options: a supervisor strategy, a dispatcher,
	// middleware. They are applied first; the component's own mailbox replaces any
	// mailbox they set.
	Options []actor.PropsOption
}

// Step is a step of a Component's plan. Run receives the incarnation that stops,
// so a method expression fits: Run: (*Conn).drain.
type Step[A any] struct {
	Name     string
	Policy   policy.Policy
	Timeout  time.Duration
	Grace    time.Duration
	Always   bool
	Run      func(a A, ctx context.Context) error
	children bool
}

// Children is the built-in step that stops the component's children gracefully, each
// with reason ParentStopping, and waits for them; see mailbox.Children. It always
// runs, even after a force, which it passes on to the children.
func Children[A any](p policy.Policy, timeout time.Duration) Step[A] {
	return Step[A]{Name: mailbox.ChildrenStep, Policy: p, Timeout: timeout, Always: true, children: true}
}

// ErrNoNew is returned by Props for a Component without New.
var ErrNoNew = errors.New("quiesce: Component.New is nil")

// Plan builds and validates the component's plan: what a dry run prints.
func (c Component[A]) Plan() (*lifecycle.Plan, error) {
	steps := make([]lifecycle.Step, len(c.Steps))
	for i, s := range c.Steps {
		if s.children {
			steps[i] = mailbox.Children(s.Policy, s.Timeout)
			continue
		}
		steps[i] = lifecycle.Step{Name: s.Name, Policy: s.Policy, Timeout: s.Timeout, Grace: s.Grace, Always: s.Always}
		if run := s.Run; run != nil {
			steps[i].Run = func(ctx context.Context) error { return run(Incarnation[A](ctx), ctx) }
		}
	}
	return lifecycle.NewPlanWithin(c.Deadline, steps...)
}

// Props validates the component and returns its props: the lifecycle mailbox, and
// an actor that keeps a panic in its Stopping, Stopped or Restarting handler from
// bringing a stopping actor back to life (protoactor-go issue 214).
func (c Component[A]) Props() (*actor.Props, error) {
	if c.New == nil {
		return nil, ErrNoNew
	}
	plan, err := c.Plan()
	if err != nil {
		return nil, err
	}
	cfg := mailbox.Config{
		Plan: plan, Capacity: c.Capacity, Budget: c.Budget, ForceBudget: c.ForceBudget, Order: c.Order,
	}
	if hooks := c.Start; len(hooks) > 0 {
		cfg.Start = func(ctx actor.Context) error {
			a := unwrap[A](ctx.Actor())
			for i, h := range hooks {
				if err := h(a, ctx); err != nil {
					return fmt.Errorf("start hook %d: %w", i+1, err)
				}
			}
			return nil
		}
	}
	producer, err := mailbox.Producer(cfg)
	if err != nil {
		return nil, err
	}
	newActor := c.New
	opts := append(append([]actor.PropsOption{}, c.Options...), actor.WithMailbox(producer))
	return actor.PropsFromProducer(func() actor.Actor { return &guard[A]{inner: newActor()} }, opts...), nil
}

// MustProps is Props that panics on an invalid component, for components fixed in
// the source.
func (c Component[A]) MustProps() *actor.Props {
	p, err := c.Props()
	if err != nil {
		panic(err)
	}
	return p
}

// Incarnation returns the incarnation whose step runs with ctx.
func Incarnation[A any](ctx context.Context) A {
	var zero A
	c := mailbox.ActorContext(ctx)
	if c == nil {
		return zero
	}
	return unwrap[A](c.Actor())
}

func unwrap[A any](a actor.Actor) A {
	if g, ok := a.(interface{ incarnation() any }); ok {
		a, _ := g.incarnation().(A)
		return a
	}
	v, _ := a.(A)
	return v
}
