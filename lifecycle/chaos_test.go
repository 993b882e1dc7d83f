package lifecycle_test

// The chaos suite at the pure level: rapid draws a plan and a sequence of RunNext,
// Cancel, Force, time passing and steps returning (or staying stuck, to be
// abandoned), and a model built from the rules in the package doc says, after each
// action, what the Execution must show: which step runs, each step's status,
// requests, deferrals and error, what its ctx says, the Receipt of each request, the
// Observer's calls, the report, the verdict. Time is a synctest bubble's, so each
// case is deterministic and rapid shrinks a failure to a short sequence.
//
// The time grid keeps every timer apart from the others: actions happen on whole
// ticks, step Timeouts end a millisecond after one, Graces three, AbandonAfter times
// five (and so twice an AbandonAfter ends on a tick, after the actions there).

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/quiesce/quiesce/lifecycle"
)

// A failing case prints the -rapid.seed that replays it; rapid writes no fail file
// into the source tree. A case costs well under a millisecond of virtual time, so
// the suite runs a thousand of them unless -rapid.checks says otherwise.
func init() {
	_ = flag.Set("rapid.nofailfile", "true")
	_ = flag.Set("rapid.checks", "1000")
}

const (
	chaosTick  = 10 * time.Millisecond
	chaosForce = 25 * time.Millisecond // AbandonAfter: a force's abandonment ends at tick+5ms
)

// outcome is how a step's Run returns when the test lets it.
type outcome uint8

const (
	returnNil   outcome = iota
	returnErr           // a failure of its own (errStep)
	returnPanic         // a panic
	returnLate          // ctx.Err(), as a step that noticed its cancellation late
)

var outcomeNames = [...]string{"nil", "error", "panic", "ctx.Err()"}

// chaosBody is the Run of one step: it waits for the test to tell it how to return,
// or, if it honours its ctx, for its ctx.
type chaosBody struct {
	honour   bool
	invoked  atomic.Int32
	returned atomic.Bool
	tell     chan outcome
	mu       sync.Mutex
	ctx      context.Context
	reason   *lifecycle.Reason
}

func (b *chaosBody) run(ctx context.Context) error {
	b.invoked.Add(1)
	b.mu.Lock()
	b.ctx, b.reason = ctx, lifecycle.ReasonFrom(ctx)
	b.mu.Unlock()
	defer b.returned.Store(true)
	var o outcome
	if b.honour {
		select {
		case o = <-b.tell:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		o = <-b.tell
	}
	switch o {
	case returnErr:
		return errStep
	case returnPanic:
		panic("chaos: the step panics")
	case returnLate:
		return ctx.Err()
	}
	return nil
}

func (b *chaosBody) context() context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ctx
}

// Why a step's own ctx was cancelled first, in the model.
type ctxCause uint8

const (
	notDone ctxCause = iota
	byRequest
	byForce
	byTimeout
	byGrace
)

var ctxCauseNames = [...]string{"not done", "a request", "a force", "its timeout", "its grace"}

// mStep is the model of one step.
type mStep struct {
	spec lifecycle.Step
	body *chaosBody

	running, returned, skipped, abandoned bool
	start, end                            time.Time
	requests, deferred                    int
	forced                                bool      // a force reached it while it ran
	underForce                            bool      // it started after a force
	firstRequest                          time.Time // a deferred step's: its Grace counts from it
	timeoutAt                             time.Time // zero: none
	ownDone                               ctxCause
	ownCause                              error // the request or force that cancelled it
	abandonLo, abandonHi                  time.Time
	status                                lifecycle.Status
	skipCause                             error
}

// nextCall is one RunNext, on a goroutine of its own.
type nextCall struct {
	done chan nextResult
	step *mStep // the step it runs, or nil
	res  *nextResult
}

type nextResult struct {
	r    lifecycle.StepReport
	more bool
}

// chaosObserver keeps what the Observer heard.
type chaosObserver struct {
	mu        sync.Mutex
	finished  []string
	abandoned []string
}

func (o *chaosObserver) StepFinished(r lifecycle.StepReport) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.finished = append(o.finished, r.Name)
}

func (o *chaosObserver) Progress(string, lifecycle.Progress) {}

func (o *chaosObserver) Abandoned(r lifecycle.StepReport) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.abandoned = append(o.abandoned, r.Name)
}

// model is the Execution as the package doc describes it, and the harness that
// drives the real one beside it.
type model struct {
	t        *rapid.T
	e        *lifecycle.Execution
	obs      *chaosObserver
	begin    time.Time
	steps    []*mStep
	next     int
	cur      *mStep
	pending  int
	pendCaus error
	requests int
	forced   error // the first force's cause, as given to Force
	reraised bool
	finished bool
	finishAt time.Time
	frozen   int // the requests the report counts: those before the plan was over
	calls    []*nextCall
	observed []string // the Observer's StepFinished, in order
	lost     []string // the Observer's Abandoned, in order
	causes   int
	final    *lifecycle.Report
}

func newModel(t *rapid.T) *model {
	m := &model{t: t, obs: &chaosObserver{}, begin: time.Now()}
	n := rapid.IntRange(1, 5).Draw(t, "steps")
	var steps []lifecycle.Step
	for i := range n {
		s := lifecycle.Step{
			Name:   fmt.Sprintf("s%d", i),
			Policy: rapid.SampledFrom(policies).Draw(t, "policy"),
			Always: rapid.Bool().Draw(t, "always"),
		}
		if rapid.Bool().Draw(t, "has timeout") {
			s.Timeout = time.Duration(rapid.IntRange(1, 6).Draw(t, "timeout ticks"))*chaosTick + time.Millisecond
		}
		if s.Policy.Deferred() && rapid.Bool().Draw(t, "has grace") {
			s.Grace = time.Duration(rapid.IntRange(0, 3).Draw(t, "grace ticks"))*chaosTick + 3*time.Millisecond
		}
		b := &chaosBody{honour: rapid.Bool().Draw(t, "honours its ctx"), tell: make(chan outcome, 1)}
		s.Run = b.run
		steps = append(steps, s)
		m.steps = append(m.steps, &mStep{spec: s, body: b})
	}
	plan, err := lifecycle.NewPlan(steps...)
	if err != nil {
		t.Fatalf("the drawn plan is invalid: %v", err)
	}
	m.e = plan.Start(reason, lifecycle.Options{Actor: "chaos", AbandonAfter: chaosForce, Observer: m.obs})
	return m
}

func (m *model) cause(what string) error {
	m.causes++
	return fmt.Errorf("chaos: %s %d", what, m.causes)
}

// The actions.

// TestChaosExecution drives an Execution with random sequences of RunNext, Cancel,
// Force, time passing and steps returning, and checks it against the model after
// every action.
func TestChaosExecution(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rapid.SyncTest(t, func(t *rapid.T) {
			m := newModel(t)
			t.Cleanup(m.release)
			m.check(t)
			t.Repeat(map[string]func(*rapid.T){
				"":        m.check,
				"runNext": m.runNext,
				"cancel":  m.cancel,
				"force":   m.force,
				"finish":  m.finish,
				"tick":    m.tick,
			})
			m.end(t)
		})
	})
}
