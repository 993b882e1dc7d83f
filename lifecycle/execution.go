package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/quiesce/quiesce/policy"
)

// ErrForced is the cause of a step's ctx when a force cancels it. A force's own
// cause is wrapped with it, so errors.Is finds both.
var ErrForced = errors.New("lifecycle: forced")

// ErrAbandoned is the error of a step that did not return in time after a force.
var ErrAbandoned = errors.New("lifecycle: abandoned: the step did not return after a force, and its goroutine may still run")

// DefaultAbandonAfter is the AbandonAfter when Options leaves it zero.
const DefaultAbandonAfter = time.Second

// Options tune one Execution. The zero value works.
type Options struct {
	// Actor names the component that stops; it becomes the Report's Actor.
	Actor string
	// AbandonAfter is how long a step has to return once a force has cancelled it,
	// and the Timeout of each Always step that runs after a force. A step that
	// overruns it is abandoned. Zero means DefaultAbandonAfter.
	AbandonAfter time.Duration
	// Context gives every step's ctx its values. Nil means context.Background().
	Context context.Context
	// Observer, when set, hears of each step's outcome, progress and abandonment.
	Observer Observer
	// LabelActor labels the goroutine that runs a step with actor=<Actor> as well as
	// op=<step> for pprof, so that a profile tells apart the goroutines that many
	// actors abandoned in the same step. It costs a label set (three small
	// allocations) per step; without it the label is op=<step> and costs nothing.
	LabelActor bool
	// Start is when the stop began, if before Start is called (an actor's first
	// request may wait for its goroutine): the Report's Start. Zero means now.
	Start time.Time
	// ID identifies the stop (the Report's ID); zero makes a new one. Parent is the
	// ID of the stop that caused this one (a parent's), if any.
	ID, Parent StopID
}

// Observer hears what an Execution does. Its methods must be quick and must not call
// back into the Execution.
type Observer interface {
	// StepFinished is called on the goroutine that called RunNext (or Advance),
	// once per step that ran or was skipped.
	StepFinished(r StepReport)
	// Progress is called on the goroutine of the step that reported it.
	Progress(step string, p Progress)
	// Abandoned is called on a timer's goroutine when a step is abandoned. The
	// goroutine blocked in RunNext (or Advance) for that step is stuck: the owner
	// of the execution should carry on from another goroutine.
	Abandoned(r StepReport)
}

// Receipt says what a cancellation request did.
type Receipt struct {
	Step         string        // the step it reached; "" if none was running
	Policy       policy.Policy // that step's policy
	Deferred     bool          // the step's policy deferred the request
	Held         bool          // no step was running: the request waits for the next one
	Elapsed      time.Duration // how long the step had run
	StopRequests int           // stop requests this execution has received so far
}

// Interrupted reports whether the request interrupted a plain step.
func (r Receipt) Interrupted() bool { return r.Step != "" && !r.Deferred }

// Execution is one run of a Plan. It runs the steps in order, one per call to
// RunNext, on the caller's goroutine; Cancel, Force and Report may be called from any
// goroutine at any time.
//
// For each step, RunNext:
//  1. skips it, recorded as Skipped, if a DeferReraise step re-raised a request or
//     the execution was forced, unless the step is Always;
//  2. gives it a ctx carrying the Reason, delivers any request held since the last
//     step, and runs it on the caller's goroutine through policy.Inline, under its
//     policy, with its Timeout and Grace (under a force, the Timeout is at most the
//     AbandonAfter);
//  3. records its outcome: a panic, an error or a timeout is a failure of that step
//     alone, and the next step still runs.
//
// A request that arrives while a step runs goes to that step: a plain step's ctx is
// cancelled at once; a deferred step keeps running and the request is counted. A
// request that arrives between steps is held for the next one.
//
// Force cancels the running step's own ctx with cause ErrForced, under every policy,
// and from then on only Always steps run. A step that has not returned AbandonAfter
// after being forced is abandoned: reported as such, and the Observer told, so the
// owner can carry on without it. Go cannot kill a goroutine; this is the honest rung.
type Execution struct {
	plan         *Plan
	reason       *Reason
	abandonAfter time.Duration // Options'
	observer     Observer      // Options'
	labelActor   bool          // Options'
	base         execCtx       // the first generation of the steps' ctx derives from it

	mu           sync.Mutex
	next         int      // index of the next step to consider
	cur          *running // the step running now, or nil
	pending      int      // requests held for the next step
	pendingCause error
	requests     int
	forced       error // why the execution was forced, or nil
	reraised     error // the cancellation a DeferReraise step raised again, or nil
	finished     bool
	report       *Report

	// The steps share one ctx until a request, a Grace or a force cancels it: a
	// plan costs an allocation or two, not a few per step. Each new one is a new
	// generation (gen: base for the first), so that a step abandoned with an older
	// one is not taken for the step running now (ReportProgress, RecordPartial).
	stepCtx    context.Context
	stepCancel context.CancelCauseFunc
	gen        *execCtx

	// The steps take turns with one running, too, while nothing can still reach
	// the last one: it had no abandon timer (no force), and was not abandoned.
	// The first is allocated with the execution (newExecution), if it has steps.
	free *running // the one the next step may take, or nil
}

type execKey struct{}

// execCtx is the parent of one generation of the steps' ctx: the values of
// Options.Context, and the execution itself, for ReasonFrom and ReportProgress.
// Which generation a ctx belongs to tells whose step it is.
type execCtx struct {
	context.Context
	e *Execution
}

func (c *execCtx) Value(key any) any {
	if key == (execKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// genOf returns the generation of the steps' ctx that ctx belongs to, or nil if
// ctx is no step's.
func genOf(ctx context.Context) *execCtx {
	g, _ := ctx.Value(execKey{}).(*execCtx)
	return g
}

// ownerLocked returns the running step if ctx is its own, or nil: a step
// abandoned after a force may go on, with the ctx of an older generation, while a
// later step runs.
func (e *Execution) ownerLocked(g *execCtx) *running {
	if c := e.cur; c != nil && c.gen == g {
		return c
	}
	return nil
}

// Start begins an execution of p for reason. Nothing runs until RunNext.
func (p *Plan) Start(reason *Reason, opts Options) *Execution {
	if opts.AbandonAfter <= 0 {
		opts.AbandonAfter = DefaultAbandonAfter
	}
	if opts.ID == 0 {
		opts.ID = NewStopID()
	}
	e := newExecution(len(p.steps))
	e.plan, e.reason = p, reason
	e.abandonAfter, e.observer, e.labelActor = opts.AbandonAfter, opts.Observer, opts.LabelActor
	e.base = execCtx{Context: context.Background(), e: e}
	if opts.Context != nil {
		e.base.Context = opts.Context
		if opts.Context.Done() != nil {
			// Values only: a stop is cancelled through Cancel and Force, which count and classify.
			e.base.Context = context.WithoutCancel(opts.Context)
		}
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Now()
	}
	e.report.Actor, e.report.Reason, e.report.Start = opts.Actor, reason, start
	e.report.ID, e.report.Parent = opts.ID, opts.Parent
	for i, s := range p.steps {
		e.report.Steps[i] = StepReport{Name: s.Name, Policy: s.Policy}
	}
	return e
}

// newExecution returns an Execution with a Report of n StepReports and, if n > 0,
// the running its first step takes. For the short plans most components have, all
// of it is one allocation, and a plan without steps carries no running.
func newExecution(n int) *Execution {
	switch n {
	case 0:
		x := new(struct {
			Execution
			r Report
		})
		x.report = &x.r
		return &x.Execution
	case 1:
		x := new(struct {
			Execution
			r     Report
			steps [1]StepReport
			first running
		})
		x.r.Steps, x.report, x.free = x.steps[:], &x.r, &x.first
		return &x.Execution
	case 2:
		x := new(struct {
			Execution
			r     Report
			steps [2]StepReport
			first running
		})
		x.r.Steps, x.report, x.free = x.steps[:], &x.r, &x.first
		return &x.Execution
	case 3:
		x := new(struct {
			Execution
			r     Report
			steps [3]StepReport
			first running
		})
		x.r.Steps, x.report, x.free = x.steps[:], &x.r, &x.first
		return &x.Execution
	case 4:
		x := new(struct {
			Execution
			r     Report
			steps [4]StepReport
			first running
		})
		x.r.Steps, x.report, x.free = x.steps[:], &x.r, &x.first
		return &x.Execution
	}
	x := new(struct {
		Execution
		first running
	})
	x.report, x.free = &Report{Steps: make([]StepReport, n)}, &x.first
	return &x.Execution
}

// Run runs the whole plan in the caller's goroutine and returns its report. When ctx
// is done, that is one cancellation request, with ctx's cause.
func (p *Plan) Run(ctx context.Context, reason *Reason, opts Options) *Report {
	e := p.Start(reason, opts)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		e.Cancel(context.Cause(ctx))
		close(fired)
	})
	for {
		if _, ok := e.RunNext(); !ok {
			break
		}
	}
	if !stop() {
		<-fired
	}
	return e.Report()
}

// Reason returns why the execution began.
func (e *Execution) Reason() *Reason { return e.reason }

// running is the step that runs now.
type running struct {
	exec        *Execution
	index       int
	step        *Step
	start       time.Time
	gen         *execCtx      // the generation of the ctx it runs with
	underForce  bool          // started after a force: Always step with the AbandonAfter
	inline      policy.Inline // runs the step on RunNext's goroutine, under its policy
	timer       *time.Timer   // abandons the step
	requests    int
	deferred    int
	cause       error // the first request's
	forced      bool
	abandoned   bool
	done        bool
	progress    *Progress
	partial     any
	interrupted bool
}

// RunNext runs the next step that is due and returns its report. It returns false
// once the plan is over. Steps it skips are recorded (and observed) on the way.
func (e *Execution) RunNext() (StepReport, bool) {
	i, _, more := e.advance()
	if !more {
		return StepReport{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.report.Steps[i], true
}

// Advance is RunNext for a runtime that needs only the status of the step that
// ran (Abandoned: its goroutine is stuck in the step, and the runtime must carry
// on from another). It copies no report: a mailbox runs the steps of many
// executions, each on a goroutine whose stack starts small.
func (e *Execution) Advance() (Status, bool) {
	_, st, more := e.advance()
	return st, more
}

// advance runs the next step that is due and returns its index and status, or
// false once the plan is over.
func (e *Execution) advance() (int, Status, bool) {
	e.mu.Lock()
	from := e.next
	for e.next < len(e.plan.steps) {
		i := e.next
		s := &e.plan.steps[i]
		e.next++
		if why := e.skipReasonLocked(s); why != nil {
			r := &e.report.Steps[i]
			r.Status, r.Err = Skipped, why
			continue
		}
		c := e.startLocked(i, s)
		e.mu.Unlock()
		e.observeSkipped(from, i)
		st := e.record(c, invoke(c))
		if e.observer != nil && st != Abandoned {
			e.observeStep(i)
		}
		return i, st, true
	}
	if !e.finished {
		e.finished = true
		e.report.Duration = time.Since(e.report.Start)
		if e.stepCancel != nil {
			e.stepCancel(nil)
		}
	}
	e.mu.Unlock()
	e.observeSkipped(from, len(e.plan.steps))
	return 0, 0, false
}

// observeSkipped tells the Observer of the steps in [from, to), skipped.
//
//go:noinline
func (e *Execution) observeSkipped(from, to int) {
	if e.observer == nil {
		return
	}
	for i := from; i < to; i++ {
		e.mu.Lock()
		r := e.report.Steps[i]
		e.mu.Unlock()
		e.observer.StepFinished(r)
	}
}

func (e *Execution) skipReasonLocked(s *Step) error {
	switch {
	case s.Always:
		return nil
	case e.forced != nil:
		return e.forced
	default:
		return e.reraised
	}
}

func (e *Execution) startLocked(i int, s *Step) *running {
	// The step's start is the stop's plus the time since, by the monotonic clock:
	// one clock read rather than time.Now's two. A Start without a monotonic
	// reading (Options.Start from elsewhere) would time the steps by the wall
	// clock: then it is time.Now.
	now := e.report.Start
	if now == now.Round(0) {
		now = time.Now()
	} else {
		now = now.Add(time.Since(now))
	}
	c := e.free
	if c != nil {
		// Reused field by field: its Inline is started again below, and nothing of
		// the step before (a late Grace timer) reaches this one.
		e.free = nil
		c.exec, c.index, c.step, c.start, c.underForce, c.timer = e, i, s, now, false, nil
		c.requests, c.deferred, c.cause = 0, 0, nil
		c.forced, c.abandoned, c.done, c.progress, c.partial, c.interrupted = false, false, false, nil, nil, false
	} else {
		c = &running{exec: e, index: i, step: s, start: now}
	}
	if e.stepCtx == nil || e.stepCtx.Err() != nil || e.pending > 0 {
		e.gen = &e.base
		if e.stepCtx != nil {
			e.gen = &execCtx{Context: e.base.Context, e: e}
		}
		e.stepCtx, e.stepCancel = context.WithCancelCause(e.gen)
	}
	c.gen = e.gen
	var opts [2]policy.Option
	n := 0
	timeout := s.Timeout
	if e.forced != nil {
		c.underForce = true
		if timeout == 0 || timeout > e.abandonAfter {
			timeout = e.abandonAfter
		}
	}
	if timeout > 0 {
		opts[n] = policy.Timeout(timeout)
		n++
	}
	if s.Grace > 0 {
		opts[n] = policy.Grace(s.Grace)
		n++
	}
	label := e.plan.labels[i]
	if e.labelActor {
		label = e.labelStep
	}
	c.inline.Start(s.Policy, s.Name, e.stepCtx, e.stepCancel, label, opts[:n]...)
	if e.pending > 0 {
		c.requests += e.pending
		if s.Policy.Deferred() {
			c.deferred += e.pending
		} else {
			c.interrupted = true
		}
		c.cause = e.pendingCause
		c.inline.Request(e.pendingCause)
		e.pending, e.pendingCause = 0, nil
	}
	if c.underForce {
		c.armAbandonLocked(2 * e.abandonAfter)
	}
	e.cur = c
	r := &e.report.Steps[i]
	r.Start, r.StopRequests, r.Deferred = c.start, c.requests, c.deferred
	return c
}

// record records the outcome of c, which returned err, and returns the step's
// status. It is in a frame of its own, beside the step's rather than under it (see
// Advance).
//
//go:noinline
func (e *Execution) record(c *running, err error) Status {
	s := c.step
	e.mu.Lock()
	c.done = true
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.abandoned {
		e.mu.Unlock()
		return Abandoned
	}
	if e.cur == c {
		e.cur = nil
	}
	if c.timer == nil {
		e.free = c // no abandon can come for it: the next step may take it
	}
	r := &e.report.Steps[c.index]
	r.Duration = time.Since(c.start)
	r.StopRequests, r.Deferred, r.Progress, r.Partial = c.requests, c.deferred, c.progress, c.partial
	r.Status, r.Err = e.statusLocked(c, err)
	if r.Reraised = r.Status == Completed && err != nil; r.Reraised {
		e.reraised, r.Err = err, nil
	} else if s.Policy == policy.DeferReraise && c.deferred > 0 && !c.forced {
		// It failed or timed out, so there was nothing to re-raise, but the request
		// it deferred still stands: the rest of the plan is skipped all the same.
		r.Reraised, e.reraised = true, c.cause
	}
	st := r.Status
	e.mu.Unlock()
	return st
}

// observeStep tells the Observer of step i, which ran.
//
//go:noinline
func (e *Execution) observeStep(i int) {
	e.mu.Lock()
	r := e.report.Steps[i]
	e.mu.Unlock()
	e.observer.StepFinished(r)
}

// invoke runs the step under its policy. A panic, plain or deferred, becomes the
// step's error: cleanup never turns into a restart.
func invoke(c *running) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if pe, ok := v.(*policy.PanicError); ok {
				err = pe
				return
			}
			err = &policy.PanicError{Op: c.step.Name, Value: v, Stack: debug.Stack()}
		}
	}()
	_, err = c.inline.Do(c.step.Run)
	return err
}

// statusLocked says how a step ended, from its error and what happened to it. A
// DeferReraise step that re-raised a request completed: it comes back Completed with
// the re-raised error, which the caller moves out of Err.
func (e *Execution) statusLocked(c *running, err error) (Status, error) {
	if err == nil {
		return Completed, nil
	}
	var pe *policy.PanicError
	if errors.As(err, &pe) {
		return Failed, err
	}
	var ce *policy.CancelError
	if !errors.As(err, &ce) {
		return Failed, err
	}
	switch {
	case ce.Deferred:
		return Completed, err
	case c.forced && errors.Is(ce, ErrForced):
		return Forced, err
	case errors.Is(ce.Cause, policy.ErrTimeout), errors.Is(ce.Cause, policy.ErrGraceExpired):
		return TimedOut, err
	case ce.Origin == policy.Caller && c.interrupted:
		return Interrupted, err
	default:
		return Failed, err
	}
}

// Cancel delivers one cancellation request, for cause, to the running step, or holds
// it for the next one. It never blocks on a step.
func (e *Execution) Cancel(cause error) Receipt {
	if cause == nil {
		cause = context.Canceled
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests++
	rc := Receipt{StopRequests: e.requests}
	if !e.finished {
		e.report.StopRequests = e.requests
	}
	c := e.cur
	switch {
	case c != nil:
		c.requests++
		rc.Step, rc.Policy, rc.Elapsed = c.step.Name, c.step.Policy, time.Since(c.start)
		if c.step.Policy.Deferred() {
			c.deferred++
			rc.Deferred = true
		} else {
			c.interrupted = true
		}
		if c.cause == nil {
			c.cause = cause
		}
		c.inline.Request(cause) // plain: cancels the step's ctx; the first cause wins
	case !e.finished:
		e.pending++
		if e.pendingCause == nil {
			e.pendingCause = cause
		}
		rc.Held = true
	}
	return rc
}

// Forcing says what one call to Force did.
type Forcing struct {
	// Step is the step the force cancelled, read under the same lock as the force:
	// "" if no step was running (between steps, or the plan was over).
	Step string
	// First reports whether this call was the execution's first force. A force
	// after the plan is over does nothing, and is not first.
	First bool
}

// Force cancels the running step's own ctx with a cause that wraps ErrForced and
// cause, whatever its policy, and skips every later step but the Always ones. It
// says which step it cancelled and whether it was the first force.
func (e *Execution) Force(cause error) Forcing {
	fc := ErrForced
	if cause != nil && !errors.Is(cause, ErrForced) {
		fc = fmt.Errorf("%w: %w", ErrForced, cause)
	} else if cause != nil {
		fc = cause
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished {
		return Forcing{}
	}
	f := Forcing{First: e.forced == nil}
	if f.First {
		e.forced = fc
		e.report.Forced = fc
	}
	if c := e.cur; c != nil {
		f.Step = c.step.Name
		if !c.forced {
			c.forced = true
			c.inline.Abort(fc) // a no-op if a request cancelled it first: the step stays Interrupted
			c.armAbandonLocked(e.abandonAfter)
		}
	}
	return f
}

// armAbandonLocked abandons c if it has not returned within d.
func (c *running) armAbandonLocked(d time.Duration) {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.timer = time.AfterFunc(d, func() { c.exec.abandon(c) })
}

// abandon gives up on c: its report says Abandoned, and the Observer hears of it.
func (e *Execution) abandon(c *running) {
	e.mu.Lock()
	if c.done || c.abandoned {
		e.mu.Unlock()
		return
	}
	c.abandoned = true
	if e.cur == c {
		e.cur = nil
	}
	if e.forced == nil {
		e.forced = ErrForced
		e.report.Forced = ErrForced
	}
	r := &e.report.Steps[c.index]
	r.Status, r.Err = Abandoned, ErrAbandoned
	r.Duration = time.Since(c.start)
	r.StopRequests, r.Deferred, r.Progress, r.Partial = c.requests, c.deferred, c.progress, c.partial
	r.Goroutine = e.goroutine(c.step.Name)
	rep := *r
	e.mu.Unlock()
	if e.observer != nil {
		e.observer.Abandoned(rep)
	}
}

// labelStep labels the calling goroutine op=<step> actor=<Actor> (see LabelActor).
func (e *Execution) labelStep(step string) func() {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(policy.LabelKey, step, ActorLabelKey, e.report.Actor)))
	return unlabel
}

func unlabel() { pprof.SetGoroutineLabels(context.Background()) }

// stepLabel returns the func that labels the calling goroutine op=<step> while a
// step runs (policy.Label's label), its label set built once, with the plan, not
// looked up for every step.
func stepLabel(step string) func(string) func() {
	ctx := pprof.WithLabels(context.Background(), pprof.Labels(policy.LabelKey, step))
	return func(string) func() {
		pprof.SetGoroutineLabels(ctx)
		return unlabel
	}
}

// ActorLabelKey is the pprof label that names the actor whose step a goroutine
// runs, with Options.LabelActor.
const ActorLabelKey = "actor"

// goroutine is how a goroutine profile shows the goroutine that runs step.
func (e *Execution) goroutine(step string) string {
	g := policy.LabelKey + "=" + step
	if e.labelActor {
		g += " " + ActorLabelKey + "=" + e.report.Actor
	}
	return g
}

// Running returns the step running now and how long it has run.
func (e *Execution) Running() (step string, p policy.Policy, elapsed time.Duration, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.cur; c != nil {
		return c.step.Name, c.step.Policy, time.Since(c.start), true
	}
	return "", 0, 0, false
}

// Snapshot is an execution as it stands, read from any goroutine while its plan runs:
// what a readiness endpoint or an admin page shows of a stop under way.
type Snapshot struct {
	ID       StopID
	Actor    string
	Reason   *Reason
	Start    time.Time
	Elapsed  time.Duration
	Finished bool // the plan is over
	// Step is the step running now ("" between steps, or once the plan is over),
	// its policy, and how long it has run.
	Step        string
	Policy      policy.Policy
	StepElapsed time.Duration
	// StopRequests counts the requests after the first; Deferred, those that a
	// step deferred, in every step so far.
	StopRequests int
	Deferred     int
	// Progress is the last progress a step reported, the running one's if it has.
	Progress *Progress
	// Forced is why the stop was forced, or nil.
	Forced error
}

// Snapshot returns the execution as it stands.
func (e *Execution) Snapshot() Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.report
	s := Snapshot{ID: r.ID, Actor: r.Actor, Reason: e.reason, Start: r.Start, Finished: e.finished,
		StopRequests: e.requests, Forced: e.forced}
	s.Elapsed = time.Since(r.Start)
	if e.finished {
		s.Elapsed = r.Duration
	}
	for i := range r.Steps {
		s.Deferred += r.Steps[i].Deferred
		if r.Steps[i].Progress != nil {
			s.Progress = r.Steps[i].Progress
		}
	}
	if c := e.cur; c != nil {
		s.Step, s.Policy, s.StepElapsed = c.step.Name, c.step.Policy, time.Since(c.start)
		s.Deferred += c.deferred
		if c.progress != nil {
			s.Progress = c.progress
		}
	}
	return s
}

// Forced returns why the execution was forced, or nil.
func (e *Execution) Forced() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.forced
}

// Finished reports whether RunNext has returned false.
func (e *Execution) Finished() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.finished
}

// Report returns the report: a copy as it stands while the plan runs, the report
// itself once it is over (RunNext has returned false). The execution never changes
// a finished report, so its owner may complete it (the mailbox adds the messages and
// the children).
func (e *Execution) Report() *Report {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished {
		return e.report
	}
	r := *e.report
	r.Steps = append([]StepReport(nil), e.report.Steps...)
	r.Duration = time.Since(r.Start)
	return &r
}

// ReasonFrom returns the stop reason a step's ctx carries, or nil.
func ReasonFrom(ctx context.Context) *Reason {
	if g := genOf(ctx); g != nil {
		return g.e.reason
	}
	r, _ := ctx.Value(reasonKey{}).(*Reason)
	return r
}
