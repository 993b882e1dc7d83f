package mailbox

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// Config describes how the actors of one Props stop. It is read once, by Producer,
// and frozen there. The zero value works: an empty plan, an unbounded queue, no
// start hook, an infinite budget, children stopped in parallel.
type Config struct {
	// Plan is the Stopping phase. Nil means no steps: a stop still drains, refuses,
	// stops the children and reports. Unless the plan places the built-in Children
	// step, an actor that has children stops them first, as OTP and Akka do.
	Plan *lifecycle.Plan
	// Capacity bounds the user queue; zero means unbounded. A message that finds the
	// queue full is refused with ErrFull, answered or dead-lettered like any refusal,
	// and counted: a post never blocks, so an actor that posts to its own full queue
	// cannot deadlock. Lifecycle messages (steps, notices, a PoisonPill) are never
	// refused for it.
	Capacity int
	// Start runs on the actor's goroutine right after each incarnation has received
	// *actor.Started: the Starting phase. An error or a panic stops the component,
	// with reason StartFailed. Nil means the component is Running once started.
	Start func(c actor.Context) error
	// Budget is how long a stop may take, from its first request, before it is
	// forced. The zero value is Infinity. A parent may set it per child (SetBudget).
	Budget Budget
	// AbandonAfter is how long a forced step has to return before it is abandoned, and
	// the Timeout of each Always step after a force. Zero means lifecycle.DefaultAbandonAfter.
	AbandonAfter time.Duration
	// Order is how the Children step stops children: all at once, or one at a time in
	// reverse start order.
	Order Order
	// ProgressEvery is the least time between two Progressed notices to the parent:
	// the last report of an interval goes at its end. Zero means
	// DefaultProgressEvery (ten a second); negative means none.
	ProgressEvery time.Duration
	// Logger takes the mailbox's log records; nil means the actor system's logger.
	// Phases and completed steps log at Debug; failed, timed-out, forced and
	// abandoned steps at Warn. Each record has the actor (PIDText) and, for a step,
	// its name, policy, duration, stop requests and error.
	Logger *slog.Logger
	// Middleware are protoactor's mailbox middleware, called as protoactor's own
	// mailbox calls them: MailboxStarted once, MessagePosted for each message posted
	// (refused ones too), MessageReceived after each message the actor handled (not
	// the lifecycle's own messages to self), MailboxEmpty when the queue runs dry.
	Middleware []actor.MailboxMiddleware
}

// Order is how the Children step stops children.
type Order uint8

const (
	// Parallel stops every child at once and waits for all of them (a connection
	// manager with 10k connections).
	Parallel Order = iota
	// Reverse stops children one at a time, the last started first, each only once
	// the one before has stopped, as an OTP supervisor does for workers that depend
	// on each other.
	Reverse
)

func (o Order) String() string {
	switch o {
	case Parallel:
		return "parallel"
	case Reverse:
		return "reverse"
	}
	return fmt.Sprintf("Order(%d)", uint8(o))
}

// MarshalText encodes o as "parallel" or "reverse".
func (o Order) MarshalText() ([]byte, error) {
	if o > Reverse {
		return nil, fmt.Errorf("mailbox: unknown order %d", uint8(o))
	}
	return []byte(o.String()), nil
}

// UnmarshalText decodes "parallel" or "reverse".
func (o *Order) UnmarshalText(text []byte) error {
	switch string(text) {
	case "parallel":
		*o = Parallel
	case "reverse":
		*o = Reverse
	default:
		return fmt.Errorf("mailbox: unknown order %q (valid: parallel, reverse)", text)
	}
	return nil
}

// Budget is how long a component may take to stop, counted from the first stop
// request, before it is forced: after OTP's shutdown child spec. The zero value is
// Infinity.
type Budget struct {
	d    time.Duration
	kind budgetKind
}

type budgetKind uint8

const (
	infinite budgetKind = iota
	bounded
	brutal
)

var (
	// Infinity never forces: the stop takes what its steps take.
	Infinity = Budget{}
	// Brutal forces at once: the queue is not drained and only Always steps run,
	// each with the AbandonAfter.
	Brutal = Budget{kind: brutal}
)

// After returns a budget of d. d must be positive.
func After(d time.Duration) Budget { return Budget{d: d, kind: bounded} }

// Limit returns the budget's duration, and false for Infinity. Brutal is zero.
func (b Budget) Limit() (time.Duration, bool) { return b.d, b.kind != infinite }

// String returns "infinity", "brutal" or the duration.
func (b Budget) String() string {
	switch b.kind {
	case brutal:
		return "brutal"
	case infinite:
		return "infinity"
	default:
		return b.d.String()
	}
}

// MarshalText encodes b as "infinity", "brutal" or a duration ("5s").
func (b Budget) MarshalText() ([]byte, error) {
	if err := b.valid(); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// UnmarshalText decodes "infinity", "brutal" or a positive duration.
func (b *Budget) UnmarshalText(text []byte) error {
	switch string(text) {
	case "infinity":
		*b = Infinity
		return nil
	case "brutal":
		*b = Brutal
		return nil
	}
	d, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("mailbox: budget %q: want infinity, brutal or a duration such as 5s", text)
	}
	nb := After(d)
	if err := nb.valid(); err != nil {
		return err
	}
	*b = nb
	return nil
}

// Validate reports why b is not a budget (a non-positive duration), or nil.
func (b Budget) Validate() error { return b.valid() }

func (b Budget) valid() error {
	if b.kind == bounded && b.d <= 0 {
		return fmt.Errorf("budget %v: must be positive", b.d)
	}
	return nil
}

// childrenStepName is the name of the built-in step that stops the children.
const childrenStepName = "children"

// ChildrenStep returns the built-in step, named "children", that stops the actor's
// children gracefully, each with reason ParentStopping, and waits until each has
// stopped, handing the actor their notices as they come. Place it anywhere in a plan;
// a plan without it stops the children before its first step, under DeferFlag. A
// cancellation of the step's ctx stops the waiting: the children it asked go on
// stopping (protoactor still waits for them before the actor stops), and those it had
// not asked yet are asked then. The step is Always: after a force it still runs, and
// forces the children. (With package actor, qactor.Children is the same step.)
func ChildrenStep(p policy.Policy, timeout time.Duration) lifecycle.Step {
	return lifecycle.Step{Name: childrenStepName, Policy: p, Timeout: timeout, Always: true, Run: runChildren}
}

// shared is what every mailbox made by one Producer reads.
type shared struct {
	Config
	plan         *lifecycle.Plan
	withChildren *lifecycle.Plan // the plan with Children first; nil when the plan places it
	always       int             // the plan's Always steps: each needs time after a force (Fit)
}

// ErrConfig matches every error Producer returns for a bad Config.
var ErrConfig = errors.New("mailbox: invalid config")

// Producer checks cfg and returns a MailboxProducer for actor.WithMailbox.
func Producer(cfg Config) (actor.MailboxProducer, error) {
	s, err := newShared(cfg)
	if err != nil {
		return nil, err
	}
	return func() actor.Mailbox { return newMailbox(s) }, nil
}

func newShared(cfg Config) (*shared, error) {
	var errs []error
	if cfg.Capacity < 0 {
		errs = append(errs, fmt.Errorf("capacity %d is negative", cfg.Capacity))
	}
	if cfg.AbandonAfter < 0 {
		errs = append(errs, fmt.Errorf("AbandonAfter %v is negative", cfg.AbandonAfter))
	}
	if err := cfg.Budget.valid(); err != nil {
		errs = append(errs, err)
	}
	if cfg.Order > Reverse {
		errs = append(errs, fmt.Errorf("unknown order %d", uint8(cfg.Order)))
	}
	s := &shared{Config: cfg, plan: cfg.Plan}
	if s.plan == nil {
		s.plan = lifecycle.MustPlan()
	}
	placed := false
	for i, step := range s.plan.Steps() {
		if step.Always {
			s.always++
		}
		if step.Name != childrenStepName {
			continue
		}
		if reflect.ValueOf(step.Run).Pointer() != reflect.ValueOf(runChildren).Pointer() {
			errs = append(errs, fmt.Errorf("plan step %d %q: the name is reserved for mailbox.ChildrenStep (qactor.Children)", i+1, step.Name))
		}
		placed = true
	}
	if !placed {
		s.always++ // the Children step the mailbox adds for an actor with children
	}
	// A plan with a deadline must fit what the deadline leaves its steps once the
	// reserve for a force, and the abandonments after it, is set aside (Fit): the
	// steps' Timeouts are checked against that, not against the whole deadline.
	d := s.plan.Deadline()
	steps := d
	if d > 0 && cfg.AbandonAfter >= 0 {
		b, abandonAfter, _ := Fit(Infinity, cfg.AbandonAfter, d, s.always)
		steps, _ = b.Limit()
		errs = append(errs, fitsDeadline(s.plan, d, steps, abandonAfter, s.always)...)
	}
	if !placed && len(errs) == 0 {
		p, err := s.plan.Prepend(ChildrenStep(policy.DeferFlag, 0))
		if err != nil {
			// The plan has an outer deadline, and an unbounded step cannot fit it: the
			// children then stop first, bounded by what the deadline leaves.
			total, _ := s.plan.Timeouts()
			p, err = s.plan.Prepend(ChildrenStep(policy.DeferFlag, steps-total))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("the plan leaves no time under its deadline to stop children first: place mailbox.ChildrenStep in it: %w", err))
		}
		s.withChildren = p
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return s, nil
}

func alwaysSteps(n int) string {
	if n == 1 {
		return "1 Always step"
	}
	return fmt.Sprintf("%d Always steps", n)
}

// fitsDeadline checks that the steps' Timeouts, one after the other, fit in steps,
// what a deadline leaves them, and names the step where they do not.
func fitsDeadline(plan *lifecycle.Plan, deadline, steps, abandonAfter time.Duration, always int) []error {
	var total time.Duration
	for i, s := range plan.Steps() {
		total += s.Timeout
		if total > steps {
			return []error{&lifecycle.PlanError{Index: i, Step: s.Name, Err: fmt.Errorf(
				"%w: timeouts reach %v here, over the %v the %v deadline leaves the steps; the rest is the reserve for a force and the abandonments after it (AbandonAfter %v, %s; see Fit): shorten the timeouts, or set a smaller AbandonAfter",
				lifecycle.ErrOverDeadline, total, steps, deadline, abandonAfter, alwaysSteps(always))}}
		}
	}
	return nil
}
