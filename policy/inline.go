package policy

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// Inline runs one operation under a policy on the caller's own goroutine, for a caller
// whose cancellation requests come by call (Request, from any goroutine) rather than
// through a ctx: an actor whose stop requests arrive while its own goroutine runs a
// cleanup step is such a caller. No policy needs a second goroutine here: under a
// deferred policy a request simply does not reach op's ctx.
//
// The rules are Run's, with "the caller's ctx is done" read as "Request was called":
//
//   - Plain: a request cancels op's ctx with the request's cause, at once.
//   - DeferFlag: a request is recorded (Outcome.CancelRequested) and starts the
//     Grace timer, if any; op's ctx is untouched.
//   - DeferReraise: as DeferFlag, and once op has succeeded the first request is
//     raised again as a *CancelError with Deferred set.
//
// Timeout and Grace cancel op's ctx with ErrTimeout and ErrGraceExpired, and Abort
// with its cause, under every policy: core cancellations. Errors are classified as Run
// classifies them, by the same code. A panic under Plain goes on untouched; under a
// deferred policy it is recovered and panicked again as a *PanicError, as Run does.
// While op runs, the caller's goroutine carries the pprof label op=name.
//
// Use: Start, then Do (or RunInline) once; Request and Abort are safe from any
// goroutine at any time: before Do they reach op from its start, after Do they do
// nothing. The zero value is ready for Start. An Inline may be started again once
// its Do has returned; nothing of the earlier run (a Grace timer, say) reaches the
// next.
type Inline struct {
	mu        sync.Mutex
	p         Policy
	name      string
	label     func(name string) func()
	ctx       context.Context
	cancel    context.CancelCauseFunc
	timeout   time.Duration
	grace     time.Duration
	requested bool
	cause     error // the first request's
	graceOver *time.Timer
	lever     context.Context // Abort's
	err       error           // a bad option
	run       uint64          // counts Starts: a timer of an earlier run does nothing
	over      bool            // Run has returned: Request and Abort do nothing
}

// Start prepares one run of the operation name under p. ctx is op's ctx: its values
// reach op, and cancel, which must cancel ctx with a cause, is how Inline cancels it
// (a plain request, Grace, Abort). ctx must not be done by anyone else's doing but a
// core cancellation (a force, say), which then reaches op under every policy. Of the
// options, Timeout and Grace apply; Abort(lever) cancels op's ctx when lever is done.
// label, if not nil, labels the caller's goroutine with name while op runs and
// returns the func that removes the label; nil labels it op=name (see Label).
func (i *Inline) Start(p Policy, name string, ctx context.Context, cancel context.CancelCauseFunc, label func(name string) func(), opts ...Option) {
	var cfg config
	cfg.apply(opts)
	if cfg.err == nil && !p.Valid() {
		cfg.err = p.unknown(p.String())
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.p, i.name, i.label, i.ctx, i.cancel = p, name, label, ctx, cancel
	i.timeout, i.grace, i.lever, i.err = cfg.timeout, cfg.grace, cfg.abort, cfg.err
	i.requested, i.cause, i.graceOver, i.over = false, nil, nil, false
	i.run++
}

// Request delivers one cancellation request for cause (nil reads context.Canceled)
// and reports whether the policy defers it. Under Plain it cancels op's ctx; under a
// deferred policy the first one starts the Grace timer, if any. Later requests only
// count: the first cause is the one raised again.
func (i *Inline) Request(cause error) (deferred bool) {
	if cause == nil {
		cause = context.Canceled
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.over || i.cancel == nil {
		return i.p.Deferred()
	}
	if !i.requested {
		i.requested, i.cause = true, cause
	}
	if !i.p.Deferred() {
		i.cancel(cause)
		return false
	}
	if i.grace > 0 && i.graceOver == nil {
		run := i.run
		i.graceOver = time.AfterFunc(i.grace, func() {
			i.mu.Lock()
			defer i.mu.Unlock()
			if i.run == run && !i.over {
				i.cancel(ErrGraceExpired)
			}
		})
	}
	return true
}

// Abort cancels op's ctx with cause, under every policy: a core cancellation, the
// lever a supervisor pulls to force an operation it had let run.
func (i *Inline) Abort(cause error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.over && i.cancel != nil {
		i.cancel(cause)
	}
}

// Do invokes op once, on the caller's goroutine, and returns whether a request came
// and op's error, classified as Run classifies it. See the type's documentation.
func (i *Inline) Do(op func(context.Context) error) (cancelRequested bool, err error) {
	out, err := runInline[struct{}](i, errOp(op), op == nil)
	return out.CancelRequested, err
}

// RunInline is Do for an op that returns a value, as Run is to Do.
func RunInline[T any](i *Inline, op func(context.Context) (T, error)) (Outcome[T], error) {
	return runInline[T](i, valueOp[T](op), op == nil)
}

// runInline is kept lean: an actor's step runs under it on a mailbox goroutine
// whose stack starts at 2 KB, and every byte of this frame is a byte the op does
// not have before the stack must grow (a copy of every frame on it). What is done
// once before op (prepare) and once after it (settle) is in frames of its own.
func runInline[T any, O operation[T]](i *Inline, op O, nilOp bool) (out Outcome[T], err error) {
	var r inlineRun
	defer r.cleanup(i) // before prepare: a panic in a label func undoes the Timeout and the lever
	if err := r.prepare(i, nilOp); err != nil {
		return out, err
	}
	v, opErr := op.call(r.own)
	r.ended = true
	out.Value = v
	out.CancelRequested, err = r.settle(i, opErr)
	return out, err
}

// inlineRun is one run of runInline: what prepare set up, and cleanup undoes.
type inlineRun struct {
	p         Policy
	name      string
	own       context.Context    // op's ctx: the Inline's, or a Timeout's child of it
	cancelOwn context.CancelFunc // the Timeout's, or nil
	unlink    func()             // an Abort lever's, or nil
	undo      func()             // removes the label, once set
	ready     bool               // op may run: prepare has begun to set it up
	ended     bool               // op returned
}

// prepare reads the run's settings, all under one lock, and sets up its Timeout,
// Abort lever and label, or says why op cannot run. What is rare is in frames of
// its own (notReady, bounds), so that op and the label have the stack this one
// leaves.
func (r *inlineRun) prepare(i *Inline, nilOp bool) error {
	i.mu.Lock()
	r.p, r.name, r.own = i.p, i.name, i.ctx
	bad, label, timeout, lever, cancel := i.err, i.label, i.timeout, i.lever, i.cancel
	i.mu.Unlock()
	if r.own == nil || nilOp || bad != nil {
		return notReady(r.name, r.own == nil, nilOp, bad)
	}
	r.ready = true
	if timeout > 0 || lever != nil {
		r.bounds(timeout, lever, cancel)
	}
	if label != nil {
		r.undo = label(r.name)
	} else {
		setLabel(r.name)
		r.undo = unlabel
	}
	return nil
}

// notReady says why an op cannot run: the Inline was not started, op is nil, or an
// option was bad.
//
//go:noinline
func notReady(name string, notStarted, nilOp bool, bad error) error {
	switch {
	case notStarted:
		return fmt.Errorf("%s: Inline not started", opName(name))
	case nilOp:
		return fmt.Errorf("%s: nil op", opName(name))
	default:
		return fmt.Errorf("%s: %w", opName(name), bad)
	}
}

// bounds sets up the run's Timeout and Abort lever.
//
//go:noinline
func (r *inlineRun) bounds(timeout time.Duration, lever context.Context, cancel context.CancelCauseFunc) {
	if timeout > 0 {
		r.own, r.cancelOwn = context.WithTimeoutCause(r.own, timeout, ErrTimeout)
	}
	if lever != nil {
		r.unlink = pull(lever, cancel)
	}
}

// cleanup is runInline's one deferred call. Under a deferred policy, a panic in op
// is recovered and panicked again as a *PanicError, as Run does; under Plain it goes
// on untouched. Either way the run is over (no later Request reaches op), and the
// label, the lever and the Timeout are undone.
func (r *inlineRun) cleanup(i *Inline) {
	if !r.ready {
		return // op could not run: nothing was set up
	}
	var v any
	if r.p.Deferred() {
		v = recover()
	}
	if !r.ended { // op (or a label func) panicked, or op called Goexit: the run is over all the same
		i.end()
	}
	if r.undo != nil {
		r.undo()
	}
	if r.unlink != nil {
		r.unlink()
	}
	if r.cancelOwn != nil {
		r.cancelOwn()
	}
	if v != nil {
		if _, ok := v.(*PanicError); !ok {
			v = &PanicError{Op: r.name, Value: v, Stack: debug.Stack()}
		}
		panic(v)
	}
}

// settle ends the run and classifies op's error as Run would.
//
//go:noinline
func (r *inlineRun) settle(i *Inline, opErr error) (requested bool, err error) {
	requested, cause := i.end()
	p := r.p
	var reraise, reraiseErr error
	if requested && p == DeferReraise {
		reraise, reraiseErr = cause, requestErr(cause)
	}
	var cut cutBy
	if p == Plain && requested {
		cut = func(ownCause error) bool { return errors.Is(ownCause, cause) }
	}
	err = settle(r.name, p, opErr, r.own, cut, reraise, reraiseErr)
	if ce, ok := err.(*CancelError); ok && ce.Origin == Caller && cause == context.DeadlineExceeded {
		// The caller's deadline passed: op's ctx, cancelled by the request, says
		// Canceled, but the error says what Run's would, and matches its Cause.
		ce.ctxErr = context.DeadlineExceeded
	}
	return requested, err
}

// end marks the run over, so that no later Request, Abort or timer reaches op's ctx,
// and returns whether a request came, and the first one's cause.
func (i *Inline) end() (requested bool, cause error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.over = true
	if i.graceOver != nil {
		i.graceOver.Stop()
	}
	return i.requested, i.cause
}

// requestErr is the context error a request for cause stands for: a caller's
// deadline passing (the cause is context.DeadlineExceeded itself), or else a
// cancellation.
func requestErr(cause error) error {
	if cause == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return context.Canceled
}
