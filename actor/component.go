package actor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// Component declares an actor with a graceful Stopping phase: what makes an
// incarnation, how it starts, and how it stops. Props turns it into *actor.Props
// that ordinary protoactor code spawns, stops, poisons and supervises as usual, and
// every one of those stops runs the plan. One difference a middleware may meet: in
// an actor.Context, c.Actor() is Quiesce's wrapper around the incarnation
// (IncarnationOf returns the A itself).
type Component[A actor.Actor] struct {
	// New makes a fresh incarnation, as a protoactor Producer does. Required.
	New func() A
	// Steps is the Stopping phase, in order. Each step runs on the actor's goroutine,
	// whatever its policy, so it may use the actor's state as Receive does (but for
	// a step abandoned after a force: it may still run while the steps after it
	// do). Without a Children step, children are stopped before the first step.
	Steps []Step[A]
	// Start hooks run in order in the Starting phase, right after *actor.Started.
	// An error stops the component with reason StartFailed. A stop that comes before
	// Started has been handled (right after the spawn) skips them, and the steps
	// still run: write steps that cope with an incarnation that never started.
	Start []func(a A, c actor.Context) error
	// Deadline bounds every stop of the component, such as a pod's 30 s termination
	// grace period; zero means none. Each stop must end within it from its first
	// request: its budget and AbandonAfter are fitted to it, keeping a reserve for a
	// force and what follows it (the forced step's return, each Always step, the
	// abandonments; see mailbox.Fit), so a stop that runs long is forced in time,
	// with cause mailbox.ErrDeadline. Props checks, before anything runs, that the
	// steps' Timeouts fit what the deadline leaves them once the reserve is set
	// aside: a pod's 30 s, with the default AbandonAfter and one Always step, leaves
	// the steps 24 s (the Children step the mailbox adds counts as one more).
	Deadline time.Duration
	// Capacity bounds the mailbox; zero means unbounded. See mailbox.Config.
	Capacity int
	// Budget is how long a stop may take before it is forced. The zero value is
	// mailbox.Infinity.
	Budget mailbox.Budget
	// AbandonAfter is how long a forced step may take to return before it is
	// abandoned. Zero means lifecycle.DefaultAbandonAfter.
	AbandonAfter time.Duration
	// Order is how children are stopped: mailbox.Parallel or mailbox.Reverse.
	Order mailbox.Order
	// ProgressEvery is the least time between two Progressed notices to the parent;
	// zero means mailbox.DefaultProgressEvery, negative none. See mailbox.Config.
	ProgressEvery time.Duration
	// Logger takes the component's log records; nil means the actor system's. See
	// mailbox.Config.Logger for what is logged at which level.
	Logger *slog.Logger
	// Middleware are protoactor's mailbox middleware (actor.MailboxMiddleware), which
	// the component's mailbox calls as protoactor's own does.
	Middleware []actor.MailboxMiddleware
	// Options are more protoactor props options: a supervisor strategy, a dispatcher,
	// receiver or sender middleware. A mailbox is the component's own: Options that
	// set one (actor.WithMailbox) make Props fail with ErrMailboxOption; give mailbox
	// middleware in Middleware instead.
	Options []actor.PropsOption
}

// ErrMailboxOption is returned by Props when Options set a mailbox.
var ErrMailboxOption = errors.New("quiesce: Component.Options set a mailbox: a component's mailbox is Quiesce's own (use Component.Middleware for mailbox middleware)")

// Step is a step of a Component's plan. Run receives the incarnation that stops,
// so a method expression fits: Run: (*Conn).drain.
type Step[A any] struct {
	// Name names the step in reports, notices, logs and goroutine labels. Unique in
	// its plan; "children" is the built-in Children step's.
	Name string
	// Policy says what a stop request does while the step runs: Plain interrupts it
	// (its ctx is cancelled), DeferFlag lets it finish and counts the request,
	// DeferReraise lets it finish and then, whether it succeeded or failed, skips every
	// later step but the Always ones (in a plan, the request is raised again as the
	// step ends; policy.Run alone raises it only over a success).
	Policy policy.Policy
	// Timeout is the step's own bound from its start; zero means none. When it runs
	// out the step's ctx is cancelled (policy.ErrTimeout) and the step times out.
	Timeout time.Duration
	// Grace bounds a deferred step once a stop request has come; zero means none. It
	// has no meaning under Plain (an error).
	Grace time.Duration
	// Always runs the step even after a force or a re-raised request: close what
	// must be closed.
	Always bool
	// Run does the work, on the actor's goroutine: it may use the incarnation's
	// state as Receive does. ctx carries the stop's reason (lifecycle.ReasonFrom) and
	// takes progress (lifecycle.ReportProgress).
	Run func(a A, ctx context.Context) error

	children bool
}

// Children is the built-in step that stops the component's children gracefully, each
// with reason ParentStopping, and waits for them; see mailbox.ChildrenStep. It always
// runs, even after a force, which it passes on to the children.
func Children[A any](p policy.Policy, timeout time.Duration) Step[A] {
	return Step[A]{Name: mailbox.ChildrenStep(p, timeout).Name, Policy: p, Timeout: timeout, Always: true, children: true}
}

// ErrNoNew is returned by Props for a Component without New.
var ErrNoNew = errors.New("quiesce: Component.New is nil")

// Plan builds and validates the component's plan: what a dry run prints.
func (c Component[A]) Plan() (*lifecycle.Plan, error) {
	steps := make([]lifecycle.Step, len(c.Steps))
	for i, s := range c.Steps {
		if s.children {
			steps[i] = mailbox.ChildrenStep(s.Policy, s.Timeout)
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
	if setsMailbox(c.Options) {
		return nil, ErrMailboxOption
	}
	cfg := mailbox.Config{
		Plan: plan, Capacity: c.Capacity, Budget: c.Budget, AbandonAfter: c.AbandonAfter, Order: c.Order,
		Logger: c.Logger, Middleware: c.Middleware, ProgressEvery: c.ProgressEvery,
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
	return actor.PropsFromProducer(func() actor.Actor { return newGuard(newActor()) }, opts...), nil
}

// setsMailbox reports whether opts set a mailbox producer. protoactor keeps it in an
// unexported field of Props: reflect reads whether it is set, and nothing else.
func setsMailbox(opts []actor.PropsOption) bool {
	if len(opts) == 0 {
		return false
	}
	probe := (&actor.Props{}).Configure(opts...)
	f := reflect.ValueOf(probe).Elem().FieldByName("mailboxProducer")
	return f.IsValid() && f.Kind() == reflect.Func && !f.IsNil()
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

// IncarnationOf returns the incarnation a Component's actor.Context belongs to, in
// Receive or in a middleware: c.Actor() is Quiesce's wrapper around it (it keeps a
// panic in a stop handler from bringing the actor back), not the A that New made.
// It reports false if c is not a Component's of type A.
func IncarnationOf[A any](c actor.Context) (A, bool) {
	if g, ok := c.Actor().(interface{ incarnation() any }); ok {
		a, ok := g.incarnation().(A)
		return a, ok
	}
	var zero A
	return zero, false
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
