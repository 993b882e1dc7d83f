package policy

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// Outcome is what op produced, and whether the caller asked for cancellation.
type Outcome[T any] struct {
	Value           T    // what op returned, also when an error comes with it
	CancelRequested bool // the caller's ctx was done before Run saw op return (under every policy)
}

// Option sets a budget or a lever on one [Run]. Options are applied in order.
// An Option is a plain value: making one and passing it allocate nothing.
type Option struct {
	kind  optionKind
	d     time.Duration
	lever context.Context
}

type optionKind uint8

const (
	timeoutOption optionKind = iota + 1
	graceOption
	abortOption
)

type config struct {
	timeout time.Duration
	grace   time.Duration
	abort   context.Context
	err     error
}

// apply applies opts in order; a negative duration is an error, which a later
// option does not undo.
func (c *config) apply(opts []Option) {
	for _, o := range opts {
		switch o.kind {
		case timeoutOption:
			c.timeout = o.d
			if o.d < 0 {
				c.err = fmt.Errorf("negative Timeout %v", o.d)
			}
		case graceOption:
			c.grace = o.d
			if o.d < 0 {
				c.err = fmt.Errorf("negative Grace %v", o.d)
			}
		case abortOption:
			c.abort = o.lever
		}
	}
}

// Timeout gives op its own budget, counted from its start. When it runs out, op's ctx
// is cancelled with cause [ErrTimeout] (and reports context.DeadlineExceeded): a core
// cancellation, under every policy. Zero means no timeout; a negative d makes Run
// return an error without invoking op.
func Timeout(d time.Duration) Option { return Option{kind: timeoutOption, d: d} }

// Grace bounds how long a deferred policy keeps waiting once the caller's ctx is done:
// op has d more, then op's ctx is cancelled with cause [ErrGraceExpired]. Under Plain,
// Grace has no effect: the caller's cancellation already reaches op. Zero means no
// bound; a negative d makes Run return an error without invoking op.
func Grace(d time.Duration) Option { return Option{kind: graceOption, d: d} }

// Abort links op's own ctx to ctx: once ctx is done, op's ctx is cancelled with
// context.Cause(ctx), under every policy. It is a core cancellation that no policy
// defers, the lever a supervisor pulls to force an operation it had let run.
func Abort(ctx context.Context) Option { return Option{kind: abortOption, lever: ctx} }

// operation is what Run and Do invoke: op as given to Run, or Do's op, which
// returns no value. Run's machinery is generic over it, so that Do does not wrap
// its op in a closure.
type operation[T any] interface {
	call(ctx context.Context) (T, error)
}

type valueOp[T any] func(context.Context) (T, error)

func (op valueOp[T]) call(ctx context.Context) (T, error) { return op(ctx) }

type errOp func(context.Context) error

func (op errOp) call(ctx context.Context) (struct{}, error) { return struct{}{}, op(ctx) }

// Run invokes op exactly once under policy p and returns what it produced. See the
// package documentation for the algorithm.
//
// Under Plain, op runs in the caller's goroutine with the caller's ctx (plus Timeout
// and Abort when given). Under DeferFlag and DeferReraise, op runs in one new goroutine
// whose ctx keeps the caller's values but not its cancellation, labelled op=name for
// pprof; Run waits for it whatever happens to the caller's ctx.
//
// name names op in errors and in goroutine profiles; "" reads "unknown".
func Run[T any](ctx context.Context, p Policy, name string, op func(context.Context) (T, error), opts ...Option) (Outcome[T], error) {
	if p == Plain && len(opts) == 0 && op != nil {
		v, err := op(ctx)
		out := Outcome[T]{Value: v, CancelRequested: ctx.Err() != nil}
		if err != nil {
			err = classify(name, err, ctx, callerCutsOwn)
		}
		return out, err
	}
	return run(ctx, p, name, valueOp[T](op), op == nil, opts)
}

// Do is [Run] for an op that returns only an error.
func Do(ctx context.Context, p Policy, name string, op func(context.Context) error, opts ...Option) (cancelRequested bool, err error) {
	if p == Plain && len(opts) == 0 && op != nil {
		err = op(ctx)
		if err != nil {
			err = classify(name, err, ctx, callerCutsOwn)
		}
		return ctx.Err() != nil, err
	}
	out, err := run(ctx, p, name, errOp(op), op == nil, opts)
	return out.CancelRequested, err
}

// run is Run past the fast path of a plain op without options.
func run[T any, O operation[T]](ctx context.Context, p Policy, name string, op O, nilOp bool, opts []Option) (Outcome[T], error) {
	var cfg config
	cfg.apply(opts)
	switch {
	case nilOp:
		return Outcome[T]{}, fmt.Errorf("%s: nil op", opName(name))
	case !p.Valid():
		return Outcome[T]{}, fmt.Errorf("%s: %w", opName(name), p.unknown(p.String()))
	case cfg.err != nil:
		return Outcome[T]{}, fmt.Errorf("%s: %w", opName(name), cfg.err)
	case p == Plain:
		return runPlain[T](ctx, name, op, &cfg)
	default:
		return runDeferred[T](ctx, p, name, op, &cfg)
	}
}

// runPlain calls op in the caller's goroutine with a ctx derived from the caller's.
func runPlain[T any, O operation[T]](ctx context.Context, name string, op O, cfg *config) (Outcome[T], error) {
	own := ctx
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		own, cancel = context.WithTimeoutCause(own, cfg.timeout, ErrTimeout)
		defer cancel()
	}
	if lever := cfg.abort; lever != nil {
		var cancel context.CancelCauseFunc
		own, cancel = context.WithCancelCause(own)
		defer cancel(nil)
		defer pull(lever, cancel)()
	}
	v, err := op.call(own)
	out := Outcome[T]{Value: v, CancelRequested: ctx.Err() != nil}
	if err != nil {
		err = classify(name, err, own, func(ownCause error) bool {
			return ctx.Err() != nil && errors.Is(ownCause, context.Cause(ctx))
		})
	}
	return out, err
}

// result is what op's goroutine hands back.
type result[T any] struct {
	value  T
	err    error
	panic  *PanicError
	goexit bool
}

// runDeferred runs op in its own goroutine and waits for it whatever happens to ctx.
func runDeferred[T any, O operation[T]](ctx context.Context, p Policy, name string, op O, cfg *config) (Outcome[T], error) {
	own := context.WithoutCancel(ctx)
	var cancel context.CancelCauseFunc
	if cfg.grace > 0 || cfg.abort != nil {
		own, cancel = context.WithCancelCause(own)
		defer cancel(nil)
	}
	if cfg.timeout > 0 {
		var cancelTimeout context.CancelFunc
		own, cancelTimeout = context.WithTimeoutCause(own, cfg.timeout, ErrTimeout)
		defer cancelTimeout()
	}

	// Unbuffered, so that it is one allocation: Run always waits for op (the loop
	// below ends only on done), so op's goroutine never waits long to hand over.
	done := make(chan result[T])
	go runOp[T](own, name, op, done)

	var (
		out       Outcome[T]
		r         result[T]
		abortDone <-chan struct{}
		graceOver <-chan time.Time
		grace     *time.Timer
		// Waiting for the caller's ctx matters only to start the grace timer: once
		// op has returned, CancelRequested is read from ctx all the same (below).
		callerDone <-chan struct{}
	)
	if cfg.grace > 0 {
		callerDone = ctx.Done()
	}
	if cfg.abort != nil {
		abortDone = cfg.abort.Done()
	}
wait:
	for {
		select {
		case r = <-done:
			break wait
		case <-callerDone:
			out.CancelRequested = true
			callerDone = nil
			grace = time.NewTimer(cfg.grace)
			graceOver = grace.C
		case <-graceOver:
			cancel(ErrGraceExpired)
			graceOver = nil
		case <-abortDone:
			cancel(context.Cause(cfg.abort))
			abortDone = nil
		}
	}
	if grace != nil {
		grace.Stop()
	}
	switch {
	case r.panic != nil:
		panic(r.panic)
	case r.goexit:
		runtime.Goexit()
	}
	if !out.CancelRequested && ctx.Err() != nil {
		out.CancelRequested = true
	}
	out.Value = r.value
	var cause error
	if out.CancelRequested {
		cause = context.Cause(ctx)
	}
	return out, settle(name, p, r.err, own, nil, cause, ctx.Err())
}

// runOp is op's goroutine: it labels itself, runs op, and hands back a value, an
// error, a recovered panic, or the news that op called runtime.Goexit.
func runOp[T any, O operation[T]](ctx context.Context, name string, op O, done chan<- result[T]) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if v := recover(); v != nil {
			done <- result[T]{panic: &PanicError{Op: name, Value: v, Stack: debug.Stack()}}
			return
		}
		done <- result[T]{goexit: true}
	}()
	setLabel(name)
	v, err := op.call(ctx)
	returned = true
	done <- result[T]{value: v, err: err}
}

// settle applies the outcome rules once op has returned err with ctx own, for Run
// and Inline alike: an error is classified (see classify); a nil error under
// DeferReraise, when the caller asked for cancellation (requestCause != nil), becomes
// the caller's cancellation raised again, with requestErr as its context error.
// callerCut, for a plain op, says whether own's cause is the caller's cancellation.
func settle(name string, p Policy, err error, own context.Context, callerCut cutBy, requestCause, requestErr error) error {
	if err != nil {
		return classify(name, err, own, callerCut)
	}
	if p == DeferReraise && requestCause != nil {
		return &CancelError{Op: name, Origin: Caller, Deferred: true, Cause: requestCause, ctxErr: requestErr}
	}
	return nil
}

// cutBy says whether the caller's cancellation is ownCause, the cause of op's own ctx.
type cutBy func(ownCause error) bool

// callerCutsOwn is the cutBy of an op whose ctx is the caller's own.
func callerCutsOwn(error) bool { return true }

// classify turns an error op returned into what Run returns: an error that is not a
// cancellation as it is; a cancellation as a *CancelError whose Origin is Caller when
// op's own ctx was cancelled by the caller (callerCut, nil under a deferred policy,
// says so), and Core otherwise.
func classify(name string, err error, own context.Context, callerCut cutBy) error {
	ownErr := own.Err()
	var ownCause error
	if ownErr != nil {
		ownCause = context.Cause(own)
	}
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
		(ownCause == nil || !errors.Is(err, ownCause)) {
		return err // not a cancellation: never masked
	}
	if ownErr != nil {
		origin := Core
		if callerCut != nil && callerCut(ownCause) {
			origin = Caller // the caller's cancellation reached op's ctx first
		}
		return &CancelError{Op: name, Origin: origin, Cause: ownCause, ctxErr: ownErr}
	}
	// op's ctx is fine: op returned the cancellation of something it waited for.
	ctxErr := context.Canceled
	if !errors.Is(err, context.Canceled) {
		ctxErr = context.DeadlineExceeded
	}
	return &CancelError{Op: name, Origin: Core, Cause: err, ctxErr: ctxErr}
}

// pull cancels with lever's cause once lever (an Abort) is done, and returns the
// func that undoes the link: it waits for the cancel if it has begun, since the
// AfterFunc goroutine is ours.
func pull(lever context.Context, cancel context.CancelCauseFunc) (unlink func()) {
	fired := make(chan struct{})
	stop := context.AfterFunc(lever, func() {
		cancel(context.Cause(lever))
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
		}
	}
}
