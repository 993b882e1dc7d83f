package lifecycle_test

// Helpers shared by the tests: a recording Observer, step builders, and the causes
// the tests cancel and force with.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// policies lists the three policies, for behaviours that hold under every one.
var policies = []policy.Policy{policy.Plain, policy.DeferFlag, policy.DeferReraise}

// Causes the tests cancel, force and fail with. None wraps context.Canceled, so a
// match proves the cause itself travelled.
var (
	errSecondStop = errors.New("second stop")
	errDeadline   = errors.New("pod deadline near")
	errStep       = errors.New("disk full")
)

// reason is the Reason most executions run for.
var reason = lifecycle.NewReason(lifecycle.Requested, errors.New("deploy v2"))

// ok is a step body that completes at once.
func ok(context.Context) error { return nil }

// fail is a step body that fails at once with errStep.
func fail(context.Context) error { return errStep }

// waitCtx is a step body that waits for its ctx and returns the cancellation.
func waitCtx(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// sleepFor is a step body that ignores its ctx and returns nil after d (virtual
// time under synctest).
func sleepFor(d time.Duration) func(context.Context) error {
	return func(context.Context) error {
		time.Sleep(d)
		return nil
	}
}

// observed is what a step body saw of its ctx.
type observed struct {
	cancelled bool  // its ctx was done before its own work finished
	cause     error // context.Cause of its ctx then
	atStart   bool  // its ctx was already done when it began
}

// workFor is a step body that works for d unless its ctx is done first; it reports
// what it saw in o.
func workFor(d time.Duration, o *observed) func(context.Context) error {
	return func(ctx context.Context) error {
		o.atStart = ctx.Err() != nil
		select {
		case <-ctx.Done():
			o.cancelled, o.cause = true, context.Cause(ctx)
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}
}

// step builds a step; the options of a test table rarely need more.
func step(name string, p policy.Policy, run func(context.Context) error) lifecycle.Step {
	return lifecycle.Step{Name: name, Policy: p, Run: run}
}

// always builds a step marked Always.
func always(name string, p policy.Policy, run func(context.Context) error) lifecycle.Step {
	s := step(name, p, run)
	s.Always = true
	return s
}

// mustPlan builds a plan the test expects to be valid.
func mustPlan(t testing.TB, steps ...lifecycle.Step) *lifecycle.Plan {
	t.Helper()
	p, err := lifecycle.NewPlan(steps...)
	require.NoError(t, err)
	return p
}

// runAll calls RunNext until the plan is over and returns what each call returned.
func runAll(e *lifecycle.Execution) []lifecycle.StepReport {
	var out []lifecycle.StepReport
	for {
		r, more := e.RunNext()
		if !more {
			return out
		}
		out = append(out, r)
	}
}

// statuses maps each step of a report to its status.
func statuses(r *lifecycle.Report) map[string]lifecycle.Status {
	out := make(map[string]lifecycle.Status, len(r.Steps))
	for _, s := range r.Steps {
		out[s.Name] = s.Status
	}
	return out
}

// recorder is an Observer that keeps everything it hears. It is safe for the
// goroutines the Observer contract names: RunNext's, a step's and a timer's.
type recorder struct {
	mu        sync.Mutex
	finished  []lifecycle.StepReport
	progress  []progressCall
	abandoned []lifecycle.StepReport
}

type progressCall struct {
	step string
	p    lifecycle.Progress
}

func (r *recorder) StepFinished(s lifecycle.StepReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = append(r.finished, s)
}

func (r *recorder) Progress(step string, p lifecycle.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = append(r.progress, progressCall{step, p})
}

func (r *recorder) Abandoned(s lifecycle.StepReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.abandoned = append(r.abandoned, s)
}

// finishedNames returns the names StepFinished heard, in order.
func (r *recorder) finishedNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for _, s := range r.finished {
		names = append(names, s.Name)
	}
	return names
}

// abandonedCopy returns what Abandoned heard so far.
func (r *recorder) abandonedCopy() []lifecycle.StepReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]lifecycle.StepReport(nil), r.abandoned...)
}

// progressCopy returns what Progress heard so far.
func (r *recorder) progressCopy() []progressCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]progressCall(nil), r.progress...)
}
