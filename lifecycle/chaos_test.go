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
// ticks, step Timeouts end a millisecond after one, Graces three, force budgets
// five (and so twice a force budget ends on a tick, after the actions there).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
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
	chaosForce = 25 * time.Millisecond // ForceBudget: a force's abandonment ends at tick+5ms
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
	m.e = plan.Start(reason, lifecycle.Options{Actor: "chaos", ForceBudget: chaosForce, Observer: m.obs})
	return m
}

func (m *model) cause(what string) error {
	m.causes++
	return fmt.Errorf("chaos: %s %d", what, m.causes)
}

// settle lets every goroutine in the bubble run until it blocks, then brings the
// model up to date with what the clock did meanwhile, and takes in what the RunNext
// calls returned.
func (m *model) settle() {
	synctest.Wait()
	for _, c := range m.calls {
		if c.res != nil {
			continue
		}
		select {
		case r := <-c.done:
			c.res = &r
			m.returnedCall(c)
		default:
		}
	}
}

// returnedCall checks what a RunNext call returned against the model.
func (m *model) returnedCall(c *nextCall) {
	if c.step == nil {
		if c.res.more {
			m.t.Fatalf("RunNext returned more = true with no step due")
		}
		return
	}
	s := c.step
	if !c.res.more {
		m.t.Fatalf("RunNext running %s returned more = false", s.spec.Name)
	}
	switch {
	case s.abandoned:
		if !s.body.returned.Load() {
			m.t.Fatalf("RunNext for the abandoned %s returned before its Run did", s.spec.Name)
		}
		if c.res.r.Status != lifecycle.Abandoned {
			m.t.Fatalf("RunNext for the abandoned %s returned %v, want abandoned: a step that returns after its abandonment changes nothing", s.spec.Name, c.res.r.Status)
		}
	case !s.returned:
		m.t.Fatalf("RunNext returned %s (%v) while the model has it running", s.spec.Name, c.res.r)
	default:
		m.checkStep(c.res.r, s, "as RunNext returned it")
	}
}

// advance moves the clock by d, and the model with it: the running step's timers
// fire in time order (its timeout, its grace, its abandonment).
func (m *model) advance(d time.Duration) {
	end := time.Now().Add(d)
	for s := m.cur; s != nil && s.running; s = m.cur {
		at, what := m.nextTimer(s)
		if at.IsZero() || at.After(end) {
			break
		}
		time.Sleep(time.Until(at))
		switch what {
		case byTimeout, byGrace:
			m.ctxDone(s, what, nil)
		case notDone: // the abandonment, due in [abandonLo, abandonHi]
			m.settle()
			if s.body.returned.Load() {
				m.t.Fatalf("%s returned without being told, at %v", s.spec.Name, m.now())
			}
			i := slices.Index(m.steps, s)
			if m.e.Report().Steps[i].Status != lifecycle.Abandoned && at.Before(s.abandonHi) {
				s.abandonLo = s.abandonHi // not yet: the later of the two readings
				continue
			}
			s.running, s.abandoned, s.status, s.end = false, true, lifecycle.Abandoned, at
			m.cur = nil
			m.lost = append(m.lost, s.spec.Name)
		}
		m.settle()
	}
	time.Sleep(time.Until(end))
	m.settle()
}

// nextTimer returns the running step's next timer and what it does.
func (m *model) nextTimer(s *mStep) (time.Time, ctxCause) {
	var at time.Time
	what := notDone
	consider := func(t time.Time, w ctxCause) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at, what = t, w
		}
	}
	if s.ownDone == notDone {
		consider(s.timeoutAt, byTimeout)
		if s.spec.Policy.Deferred() && s.spec.Grace > 0 && !s.firstRequest.IsZero() {
			consider(s.firstRequest.Add(s.spec.Grace), byGrace)
		}
	}
	if !s.abandonLo.IsZero() {
		consider(s.abandonLo, notDone)
	}
	return at, what
}

func (m *model) now() time.Duration { return time.Since(m.begin) }

// ctxDone records that s's own ctx was cancelled now, for why; a step that honours
// its ctx returns at once.
func (m *model) ctxDone(s *mStep, why ctxCause, cause error) {
	if s.ownDone != notDone {
		return
	}
	s.ownDone, s.ownCause = why, cause
	if s.body.honour {
		m.stepReturned(s, returnLate)
	}
}

// stepReturned moves the model past the return of s's Run with outcome o.
func (m *model) stepReturned(s *mStep, o outcome) {
	s.running, s.returned, s.end = false, true, time.Now()
	m.cur = nil
	if o == returnLate && s.ownDone == notDone {
		o = returnNil // ctx.Err() is nil
	}
	switch o {
	case returnNil:
		s.status = lifecycle.Completed
	case returnErr, returnPanic:
		s.status = lifecycle.Failed
	case returnLate:
		switch s.ownDone {
		case byRequest:
			s.status = lifecycle.Interrupted
		case byForce:
			s.status = lifecycle.Forced
		default:
			s.status = lifecycle.TimedOut
		}
	}
	if s.spec.Policy == policy.DeferReraise && s.deferred > 0 && (s.status == lifecycle.Completed || !s.forced) {
		m.reraised = true
	}
	m.observed = append(m.observed, s.spec.Name)
}

// The actions.

func (m *model) runNext(t *rapid.T) {
	for _, c := range m.calls {
		if c.res == nil && (c.step == nil || !c.step.abandoned) {
			t.Skip("a RunNext is under way")
		}
	}
	c := &nextCall{done: make(chan nextResult, 1)}
	for m.next < len(m.steps) {
		s := m.steps[m.next]
		m.next++
		if !s.spec.Always && (m.forced != nil || m.reraised) {
			s.skipped, s.status = true, lifecycle.Skipped
			s.skipCause = m.forced
			m.observed = append(m.observed, s.spec.Name)
			continue
		}
		c.step = s
		m.start(s)
		break
	}
	if c.step == nil && !m.finished {
		m.finished, m.finishAt, m.frozen = true, time.Now(), m.requests
	}
	m.calls = append(m.calls, c)
	go func() {
		r, more := m.e.RunNext()
		c.done <- nextResult{r, more}
	}()
	m.settle()
	if c.step == nil && c.res == nil {
		t.Fatalf("RunNext with no step due did not return")
	}
	if c.step != nil && c.step.body.invoked.Load() != 1 {
		t.Fatalf("RunNext did not run %s's Run exactly once (%d)", c.step.spec.Name, c.step.body.invoked.Load())
	}
}

// start begins s in the model: held requests are delivered, a force before it
// bounds its Timeout by the force budget and arms its abandonment.
func (m *model) start(s *mStep) {
	s.running, s.start = true, time.Now()
	m.cur = s
	if s.spec.Timeout > 0 {
		s.timeoutAt = s.start.Add(s.spec.Timeout)
	}
	if m.forced != nil {
		s.underForce = true
		if s.spec.Timeout == 0 || s.spec.Timeout > chaosForce {
			s.timeoutAt = s.start.Add(chaosForce)
		}
		s.abandonLo, s.abandonHi = s.start.Add(2*chaosForce), s.start.Add(2*chaosForce)
	}
	if m.pending > 0 {
		s.requests += m.pending
		if s.spec.Policy.Deferred() {
			s.deferred += m.pending
			s.firstRequest = s.start
		} else {
			m.ctxDone(s, byRequest, m.pendCaus)
		}
		m.pending, m.pendCaus = 0, nil
	}
}

func (m *model) cancel(t *rapid.T) {
	cause := m.cause("request")
	rc := m.e.Cancel(cause)
	m.requests++
	if rc.Requests != m.requests {
		t.Fatalf("Receipt.Requests %d, want %d", rc.Requests, m.requests)
	}
	s := m.cur
	switch {
	case s != nil && s.running:
		s.requests++
		if rc.Step != s.spec.Name || rc.Policy != s.spec.Policy || rc.Held {
			t.Fatalf("the request reached %q (%v, held %v), but %s runs", rc.Step, rc.Policy, rc.Held, s.spec.Name)
		}
		if rc.Deferred != s.spec.Policy.Deferred() || rc.Interrupted() == s.spec.Policy.Deferred() {
			t.Fatalf("a request to the %v step %s: deferred %v, interrupted %v", s.spec.Policy, s.spec.Name, rc.Deferred, rc.Interrupted())
		}
		if rc.Elapsed != time.Since(s.start) {
			t.Fatalf("Receipt.Elapsed %v, want %v", rc.Elapsed, time.Since(s.start))
		}
		if s.spec.Policy.Deferred() {
			s.deferred++
			if s.firstRequest.IsZero() {
				s.firstRequest = time.Now()
			}
		} else {
			m.ctxDone(s, byRequest, cause)
		}
	case !m.finished:
		if rc.Step != "" || !rc.Held || rc.Deferred {
			t.Fatalf("a request between steps: %+v, want it held", rc)
		}
		if m.pending++; m.pending == 1 {
			m.pendCaus = cause
		}
	default:
		if rc.Step != "" || rc.Held || rc.Deferred {
			t.Fatalf("a request after the plan is over: %+v", rc)
		}
	}
	m.settle()
}

func (m *model) force(t *rapid.T) {
	if rapid.IntRange(0, 2).Draw(t, "force now") != 0 {
		t.Skip("not this time: a force ends most of the plan, so it comes less often")
	}
	cause := m.cause("force")
	m.e.Force(cause) // what it returns is not the model's business
	if m.finished {
		m.settle()
		return
	}
	if m.forced == nil {
		m.forced = cause
	}
	if s := m.cur; s != nil && s.running && !s.forced {
		s.forced = true
		at := time.Now().Add(chaosForce)
		if s.underForce {
			// Forced again: the doc's two rules (a force budget after its force, and
			// after its Timeout) disagree here; either is accepted.
			s.abandonLo, s.abandonHi = minT(s.abandonLo, at), maxT(s.abandonHi, at)
		} else {
			s.abandonLo, s.abandonHi = at, at
		}
		m.ctxDone(s, byForce, cause)
	}
	m.settle()
}

func (m *model) finish(t *rapid.T) {
	var waiting []*mStep
	for _, s := range m.steps {
		if (s.running || s.abandoned) && !s.body.returned.Load() {
			waiting = append(waiting, s)
		}
	}
	if len(waiting) == 0 {
		t.Skip("no step waits to be told")
	}
	s := waiting[rapid.IntRange(0, len(waiting)-1).Draw(t, "which")]
	o := outcome(rapid.IntRange(0, len(outcomeNames)-1).Draw(t, "outcome"))
	s.body.tell <- o
	if s.running {
		m.stepReturned(s, o)
	}
	m.settle()
	if !s.body.returned.Load() {
		t.Fatalf("%s did not return when told to (%v)", s.spec.Name, outcomeNames[o])
	}
}

func (m *model) tick(t *rapid.T) {
	m.advance(time.Duration(rapid.IntRange(1, 5).Draw(t, "ticks")) * chaosTick)
}

// check compares the Execution with the model; it runs after every action.
func (m *model) check(t *rapid.T) {
	step, p, elapsed, ok := m.e.Running()
	if s := m.cur; s != nil && s.running {
		if !ok || step != s.spec.Name || p != s.spec.Policy || elapsed != time.Since(s.start) {
			t.Fatalf("Running() = %q %v %v %v, want %s for %v", step, p, elapsed, ok, s.spec.Name, time.Since(s.start))
		}
	} else if ok {
		t.Fatalf("Running() = %q, but no step runs", step)
	}
	if m.e.Finished() != (m.finished && m.settled()) {
		t.Fatalf("Finished() = %v, want %v", m.e.Finished(), m.finished)
	}
	if f := m.e.Forced(); (f == nil) != (m.forced == nil) || (f != nil && (!errors.Is(f, lifecycle.ErrForced) || !errors.Is(f, m.forced))) {
		t.Fatalf("Forced() = %v, want the first force (%v)", f, m.forced)
	}
	rep := m.e.Report()
	if m.finished && m.settled() {
		if m.final == nil {
			m.final = rep
			if rep.Duration != m.finishAt.Sub(m.begin) {
				t.Fatalf("the report's Duration %v, want %v", rep.Duration, m.finishAt.Sub(m.begin))
			}
		} else if rep != m.final {
			t.Fatalf("Report() changed after the plan was over")
		}
	}
	if rep.Requests != m.requestsBefore() {
		t.Fatalf("Report.Requests = %d, want %d", rep.Requests, m.requestsBefore())
	}
	if (rep.Forced == nil) != (m.forced == nil) {
		t.Fatalf("Report.Forced = %v, want %v", rep.Forced, m.forced)
	}
	for i, s := range m.steps {
		m.checkStep(rep.Steps[i], s, "in the report")
		if s.running && !s.body.returned.Load() {
			m.checkCtx(s)
		}
	}
	m.obs.mu.Lock()
	finished, abandoned := slices.Clone(m.obs.finished), slices.Clone(m.obs.abandoned)
	m.obs.mu.Unlock()
	if !slices.Equal(finished, m.observed) || !slices.Equal(abandoned, m.lost) {
		t.Fatalf("the Observer heard StepFinished %v and Abandoned %v, want %v and %v", finished, abandoned, m.observed, m.lost)
	}
	want := lifecycle.AllCompleted
	if m.forced != nil {
		want = lifecycle.SomeForced
	}
	if len(m.lost) > 0 {
		want = lifecycle.SomeAbandoned
	}
	if v := rep.Verdict(); v != want {
		t.Fatalf("Verdict() = %v, want %v", v, want)
	}
}

// settled reports whether the RunNext that ends the plan has returned.
func (m *model) settled() bool {
	for _, c := range m.calls {
		if c.step == nil && c.res == nil {
			return false
		}
	}
	return true
}

// requestsBefore is the report's count: the requests made before the plan was over.
func (m *model) requestsBefore() int {
	if m.finished {
		return m.frozen
	}
	return m.requests
}

// checkStep compares one step's report with the model.
func (m *model) checkStep(r lifecycle.StepReport, s *mStep, where string) {
	t := m.t
	name := s.spec.Name
	if r.Name != name || r.Policy != s.spec.Policy {
		t.Fatalf("%s: step %q %v, want %s %v", where, r.Name, r.Policy, name, s.spec.Policy)
	}
	switch {
	case s.skipped:
		if r.Status != lifecycle.Skipped || !r.Start.IsZero() || r.Err == nil {
			t.Fatalf("%s: %s is %v (start %v, err %v), want skipped with a cause", where, name, r.Status, !r.Start.IsZero(), r.Err)
		}
		if s.skipCause != nil && (!errors.Is(r.Err, lifecycle.ErrForced) || !errors.Is(r.Err, s.skipCause)) {
			t.Fatalf("%s: %s skipped for %v, want the force (%v)", where, name, r.Err, s.skipCause)
		}
		return
	case s.running:
		if r.Status != lifecycle.Pending || r.Start != s.start {
			t.Fatalf("%s: the running %s is %v, started at %v, want pending since %v", where, name, r.Status, r.Start.Sub(m.begin), s.start.Sub(m.begin))
		}
		return
	case !s.returned && !s.abandoned:
		if r.Status != lifecycle.Pending || !r.Start.IsZero() {
			t.Fatalf("%s: %s has not run, yet it is %v", where, name, r.Status)
		}
		return
	}
	if r.Status != s.status {
		t.Fatalf("%s: %s is %v, want %v (its ctx: %s; requests %d, forced %v, under force %v)", where, name, r.Status, s.status,
			ctxCauseNames[s.ownDone], s.requests, s.forced, s.underForce)
	}
	if r.Start != s.start || r.Duration != s.end.Sub(s.start) {
		t.Fatalf("%s: %s ran from %v for %v, want from %v for %v", where, name, r.Start.Sub(m.begin), r.Duration, s.start.Sub(m.begin), s.end.Sub(s.start))
	}
	wantDeferred := 0
	if s.spec.Policy.Deferred() {
		wantDeferred = s.deferred
	}
	if r.Requests != s.requests || r.Deferred != wantDeferred {
		t.Fatalf("%s: %s counts %d requests, %d deferred, want %d and %d", where, name, r.Requests, r.Deferred, s.requests, wantDeferred)
	}
	if want := s.spec.Policy == policy.DeferReraise && s.requests > 0; s.status == lifecycle.Completed && r.Reraised != want {
		t.Fatalf("%s: %s completed with Reraised %v, want %v", where, name, r.Reraised, want)
	}
	if s.spec.Policy != policy.DeferReraise && r.Reraised {
		t.Fatalf("%s: the %v step %s says it re-raised", where, s.spec.Policy, name)
	}
	switch s.status {
	case lifecycle.Completed:
		if r.Err != nil {
			t.Fatalf("%s: %s completed with error %v", where, name, r.Err)
		}
	case lifecycle.Failed:
		var pe *policy.PanicError
		if !errors.Is(r.Err, errStep) && !errors.As(r.Err, &pe) {
			t.Fatalf("%s: %s failed with %v, want its own error or panic", where, name, r.Err)
		}
	case lifecycle.Interrupted:
		if !errors.Is(r.Err, s.ownCause) {
			t.Fatalf("%s: %s interrupted by %v, want the request %v", where, name, r.Err, s.ownCause)
		}
	case lifecycle.Forced:
		if !errors.Is(r.Err, lifecycle.ErrForced) || !errors.Is(r.Err, s.ownCause) {
			t.Fatalf("%s: %s forced with %v, want the force %v", where, name, r.Err, s.ownCause)
		}
	case lifecycle.TimedOut:
		if want := map[ctxCause]error{byTimeout: policy.ErrTimeout, byGrace: policy.ErrGraceExpired}[s.ownDone]; !errors.Is(r.Err, want) {
			t.Fatalf("%s: %s timed out with %v, want %v", where, name, r.Err, want)
		}
	case lifecycle.Abandoned:
		if !errors.Is(r.Err, lifecycle.ErrAbandoned) || r.Goroutine != policy.LabelKey+"="+name {
			t.Fatalf("%s: %s abandoned with %v, goroutine %q", where, name, r.Err, r.Goroutine)
		}
	}
}

// checkCtx checks what a running step's ctx says: done exactly when the model says,
// with the cause the model says, and carrying the stop's reason.
func (m *model) checkCtx(s *mStep) {
	ctx := s.body.context()
	if ctx == nil {
		m.t.Fatalf("%s runs, but its Run was not called", s.spec.Name)
	}
	if lifecycle.ReasonFrom(ctx) != reason {
		m.t.Fatalf("%s's ctx carries the reason %v, want %v", s.spec.Name, lifecycle.ReasonFrom(ctx), reason)
	}
	done := ctx.Err() != nil
	if done != (s.ownDone != notDone) {
		m.t.Fatalf("%s's ctx is done: %v; the model says %s", s.spec.Name, done, ctxCauseNames[s.ownDone])
	}
	if !done {
		return
	}
	cause := context.Cause(ctx)
	ok := false
	switch s.ownDone {
	case byRequest:
		ok = errors.Is(cause, s.ownCause)
	case byForce:
		ok = errors.Is(cause, lifecycle.ErrForced) && errors.Is(cause, s.ownCause)
	case byTimeout:
		ok = errors.Is(cause, policy.ErrTimeout)
	case byGrace:
		ok = errors.Is(cause, policy.ErrGraceExpired)
	}
	if !ok {
		m.t.Fatalf("%s's ctx was cancelled by %v, the model says by %s (%v)", s.spec.Name, cause, ctxCauseNames[s.ownDone], s.ownCause)
	}
}

// end lets every step return and runs the plan to its end, then checks the report
// once more: whatever happened, the plan ends and every goroutine with it.
func (m *model) end(t *rapid.T) {
	for range 4 * len(m.steps) {
		for _, s := range m.steps {
			if (s.running || s.abandoned) && !s.body.returned.Load() {
				s.body.tell <- returnNil
				if s.running {
					m.stepReturned(s, returnNil)
				}
			}
		}
		m.settle()
		if m.finished && m.settled() {
			break
		}
		busy := false
		for _, c := range m.calls {
			busy = busy || (c.res == nil && (c.step == nil || !c.step.abandoned))
		}
		if !busy {
			m.runNext(t)
		}
		m.check(t)
	}
	if !m.finished || !m.settled() {
		t.Fatalf("the plan did not end")
	}
	for _, c := range m.calls {
		if c.res == nil {
			t.Fatalf("a RunNext never returned")
		}
	}
	m.check(t)
	for _, s := range m.steps {
		if s.body.invoked.Load() > 1 {
			t.Fatalf("%s ran %d times", s.spec.Name, s.body.invoked.Load())
		}
	}
}

// release lets every step still blocked return, so that a failing case ends its
// bubble with no goroutine left and reports its own failure.
func (m *model) release() {
	for _, s := range m.steps {
		if s.body.invoked.Load() > 0 && !s.body.returned.Load() {
			select {
			case s.body.tell <- returnNil:
			default:
			}
		}
	}
	synctest.Wait()
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

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
