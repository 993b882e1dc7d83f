package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quiesce/quiesce/policy"
)

// Step is one step of a Stopping phase.
type Step struct {
	// Name names the step in reports, errors and goroutine labels. Unique in its plan.
	Name string
	// Policy says what a cancellation request does while the step runs.
	Policy policy.Policy
	// Timeout bounds the step from its start; zero means none. A plan that
	// must fit an outer deadline needs one on every step.
	Timeout time.Duration
	// Grace bounds a deferred step once a request arrives; zero means none. It has no
	// meaning under Plain, so a plain step with a Grace is an invalid plan.
	Grace time.Duration
	// Always marks a step that still runs after a re-raised cancellation or a force.
	Always bool
	// Run does the work. Its ctx carries the stop's Reason (ReasonFrom) and a place to
	// report progress (ReportProgress).
	Run func(ctx context.Context) error
}

// Plan is an ordered, validated list of steps. It is immutable and may be shared by
// every component that stops the same way.
type Plan struct {
	steps    []Step
	deadline time.Duration
	labels   []func(string) func() // per step: labels a goroutine op=<step> (see stepLabel)
}

// Validation errors, matched with errors.Is on the error NewPlan returns.
var (
	ErrEmptyName        = errors.New("empty name")
	ErrDuplicateName    = errors.New("duplicate name")
	ErrNilRun           = errors.New("nil Run")
	ErrNegativeDuration = errors.New("negative duration")
	ErrUnknownPolicy    = policy.ErrUnknownPolicy
	ErrGraceUnderPlain  = errors.New("a Grace has no effect under the plain policy")
	ErrNoTimeout        = errors.New("no Timeout, so the plan cannot be shown to fit its deadline")
	ErrOverDeadline     = errors.New("step timeouts exceed the deadline")
)

// PlanError names the step that makes a plan invalid, and why.
type PlanError struct {
	Index int    // position of the step in the plan, from 0
	Step  string // its name, possibly empty
	Err   error  // one of the Err* sentinels, possibly wrapped with detail
}

func (e *PlanError) Error() string {
	return fmt.Sprintf("lifecycle: plan step %d %q: %v", e.Index+1, e.Step, e.Err)
}

func (e *PlanError) Unwrap() error { return e.Err }

// NewPlan validates steps and returns them as a Plan. Every problem is reported, each
// as a *PlanError that names its step, joined into one error.
func NewPlan(steps ...Step) (*Plan, error) { return NewPlanWithin(0, steps...) }

// NewPlanWithin is NewPlan for a plan that must fit an outer deadline, such as a pod's
// 30 s termination grace period: every step needs a Timeout, and the Timeouts must add
// up to no more than deadline. Zero means no deadline.
func NewPlanWithin(deadline time.Duration, steps ...Step) (*Plan, error) {
	var errs []error
	bad := func(i int, err error) { errs = append(errs, &PlanError{Index: i, Step: steps[i].Name, Err: err}) }
	if deadline < 0 {
		errs = append(errs, fmt.Errorf("lifecycle: plan deadline %v: %w", deadline, ErrNegativeDuration))
	}
	seen := make(map[string]int, len(steps))
	var total time.Duration
	for i, s := range steps {
		switch first, dup := seen[s.Name]; {
		case s.Name == "":
			bad(i, ErrEmptyName)
		case dup:
			bad(i, fmt.Errorf("%w (also step %d)", ErrDuplicateName, first+1))
		default:
			seen[s.Name] = i
		}
		if s.Run == nil {
			bad(i, ErrNilRun)
		}
		if !s.Policy.Valid() {
			bad(i, fmt.Errorf("%w %v", ErrUnknownPolicy, s.Policy))
		}
		if s.Timeout < 0 {
			bad(i, fmt.Errorf("%w: Timeout %v", ErrNegativeDuration, s.Timeout))
		}
		if s.Grace < 0 {
			bad(i, fmt.Errorf("%w: Grace %v", ErrNegativeDuration, s.Grace))
		}
		if s.Grace > 0 && s.Policy == policy.Plain {
			bad(i, ErrGraceUnderPlain)
		}
		if deadline > 0 {
			total += s.Timeout
			switch {
			case s.Timeout == 0:
				bad(i, ErrNoTimeout)
			case total > deadline && total-s.Timeout <= deadline:
				bad(i, fmt.Errorf("%w: timeouts reach %v here, over the %v deadline", ErrOverDeadline, total, deadline))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p := &Plan{steps: append([]Step(nil), steps...), deadline: deadline, labels: make([]func(string) func(), len(steps))}
	for i, s := range steps {
		p.labels[i] = stepLabel(s.Name)
	}
	return p, nil
}

// MustPlan is NewPlan that panics on an invalid plan, for plans fixed in the source.
func MustPlan(steps ...Step) *Plan {
	p, err := NewPlan(steps...)
	if err != nil {
		panic(err)
	}
	return p
}

// Len returns the number of steps.
func (p *Plan) Len() int { return len(p.steps) }

// Steps returns a copy of the steps.
func (p *Plan) Steps() []Step { return append([]Step(nil), p.steps...) }

// Deadline returns the outer deadline the plan was checked against, or zero.
func (p *Plan) Deadline() time.Duration { return p.deadline }

// Timeouts returns the sum of the steps' Timeouts, and whether every step has one.
func (p *Plan) Timeouts() (total time.Duration, bounded bool) {
	bounded = true
	for _, s := range p.steps {
		total += s.Timeout
		bounded = bounded && s.Timeout > 0
	}
	return total, bounded
}

// Prepend returns a new plan with s before p's steps, validated against p's deadline.
func (p *Plan) Prepend(s Step) (*Plan, error) {
	return NewPlanWithin(p.deadline, append([]Step{s}, p.steps...)...)
}

// String renders the plan for a dry run: what will run, in which order, under which
// policy and budget, so an operator can read a shutdown before it happens.
func (p *Plan) String() string {
	var b strings.Builder
	total, bounded := p.Timeouts()
	fmt.Fprintf(&b, "plan: %s, timeouts %s", plural(len(p.steps), "step"), budgetString(total, bounded))
	if p.deadline > 0 {
		fmt.Fprintf(&b, " (deadline %v)", p.deadline)
	}
	b.WriteByte('\n')
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for i, s := range p.steps {
		fmt.Fprintf(tw, "  %d.\t%s\t%s\ttimeout %s\tgrace %s\t%s\n", i+1, s.Name, s.Policy,
			durationOr(s.Timeout, "none"), durationOr(s.Grace, "none"), alwaysString(s.Always))
	}
	_ = tw.Flush()
	return trimPadding(b.String())
}

func budgetString(total time.Duration, bounded bool) string {
	if !bounded {
		return "unbounded"
	}
	return total.String()
}

func durationOr(d time.Duration, none string) string {
	if d == 0 {
		return none
	}
	return d.String()
}

func alwaysString(always bool) string {
	if always {
		return "always"
	}
	return ""
}
