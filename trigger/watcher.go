package trigger

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"
)

// A Watcher watches one [Source] and turns its fire and its escalation into two
// contexts. It owns every goroutine, timer and signal registration it started;
// [Watcher.Stop] releases them and waits for the goroutines.
//
// Its methods are safe to call from any goroutine. A Watcher is not reused: watch
// the source again for a new one.
type Watcher struct {
	src Source

	ctx, forceCtx          context.Context
	cancelCtx, cancelForce context.CancelCauseFunc
	cause, force           atomic.Pointer[Fired] // stored before the context is cancelled

	tree       context.Context // the leaves' parent: cancelled by Stop or ctx
	cancelTree context.CancelCauseFunc
	root       *node // owned by run
	events     chan event
	seq        uint64 // owned by run

	owner   sync.WaitGroup // run
	signals sync.WaitGroup // the Signal leaves, which the escalation waits for
	leaves  sync.WaitGroup // every other leaf
}

// event is a leaf's report to the watcher's goroutine.
type event struct {
	leaf     *node
	escalate bool
	fired    *Fired
}

// Watch starts watching src, and returns the Watcher that owns what it started.
// Every signal of src is caught before Watch returns.
//
// ctx bounds the watch: when it ends (the system stopped first), the watcher stops
// watching, and its contexts end with ctx's cause. Its values are those of
// [Watcher.Context] and [Watcher.ForceContext].
//
// A nil ctx or a bad source is an error that wraps [ErrInvalid] and says what is
// wrong and where, a line for each bad part (errors.Join), so one run shows all
// there is to fix; nothing is started then. Call Stop when done with the Watcher,
// typically with defer, as with signal.NotifyContext's stop.
func Watch(ctx context.Context, src Source) (*Watcher, error) {
	if ctx == nil {
		return nil, invalid("", "Watch needs a context, got nil")
	}
	if err := validate(src, ""); err != nil {
		return nil, err
	}
	w := &Watcher{src: src, events: make(chan event), root: build(src.spec(), nil)}
	w.ctx, w.cancelCtx = context.WithCancelCause(ctx)
	w.forceCtx, w.cancelForce = context.WithCancelCause(ctx)
	w.tree, w.cancelTree = context.WithCancelCause(ctx)
	w.root.sweep(true, w.start)
	w.owner.Go(w.run)
	return w, nil
}

// Context is done when the source fires, with the [*Fired] as its cause: the signal
// to stop gracefully. It is also done when Stop is called first (cause
// [ErrStopped]) or when Watch's ctx ends first (its cause).
func (w *Watcher) Context() context.Context { return w.ctx }

// ForceContext is done when the source escalates, with the escalation's [*Fired]
// (Escalation set) as its cause: the signal to force. It is also done when Stop is
// called first (cause [ErrStopped]) or when Watch's ctx ends first. A source that
// cannot escalate (no Signal or Escalate in it) leaves it open until then.
//
// When it is done because of an escalation, the watcher already holds no signals.
func (w *Watcher) ForceContext() context.Context { return w.forceCtx }

// Cause is why the source fired, or nil if it has not (yet), or if the watcher
// stopped first. It is the cause of Context whenever it is not nil.
func (w *Watcher) Cause() *Fired { return published(w.ctx, &w.cause) }

// ForceCause is why the source escalated, or nil if it has not (yet), or if the
// watcher stopped first. It is the cause of ForceContext whenever it is not nil.
func (w *Watcher) ForceCause() *Fired { return published(w.forceCtx, &w.force) }

// published returns the stored Fired if it is ctx's cause: a fire that lost the race
// with Stop or with the parent's end is not one.
func published(ctx context.Context, p *atomic.Pointer[Fired]) *Fired {
	if f := p.Load(); f != nil && context.Cause(ctx) == error(f) {
		return f
	}
	return nil
}

// Source returns the source being watched.
func (w *Watcher) Source() Source { return w.src }

// Stop stops watching: it ends Context and ForceContext with cause [ErrStopped] if
// they are not done yet, stops every timer and ticker, releases every signal
// (signal.Stop), and returns once every goroutine the watcher started has returned
// (a condition being called is waited for; none is called after Stop returns).
//
// Stop is safe to call more than once, concurrently, after a fire or an escalation,
// after Watch's ctx has ended, and on a nil Watcher.
func (w *Watcher) Stop() {
	if w == nil {
		return
	}
	w.cancelTree(ErrStopped)
	w.cancelCtx(ErrStopped)
	w.cancelForce(ErrStopped)
	w.owner.Wait() // run starts leaves: it must have returned before the leaves are waited for
	w.signals.Wait()
	w.leaves.Wait()
}

// run is the watcher's goroutine: it owns the tree, applies the leaves' reports one
// at a time, and publishes the fire and the escalation. It returns when the tree
// can report nothing more, or when the watch is stopped.
func (w *Watcher) run() {
	defer w.cancelTree(nil)
	for {
		select {
		case <-w.tree.Done():
			return
		case e := <-w.events:
			if w.apply(e) {
				return
			}
		}
	}
}

// apply records one report and publishes what it changed at the root. It reports
// whether the tree is done.
func (w *Watcher) apply(e event) (done bool) {
	r := w.root
	wasFired, wasEscalated := r.fired != nil, r.escalated != nil
	w.seq++
	e.leaf.report(e.escalate, e.fired, w.seq)
	r.sweep(true, w.start)
	if !wasFired && r.fired != nil {
		w.cause.Store(r.fired)
		w.cancelCtx(r.fired)
	}
	if !wasEscalated && r.escalated != nil {
		// The sweep has cancelled every leaf; let the signals go before anyone
		// hears of the escalation.
		w.signals.Wait()
		w.force.Store(r.escalated)
		w.cancelForce(r.escalated)
	}
	return r.done()
}

// start starts a leaf's goroutine. A Signal's registration happens here, before the
// goroutine runs, so that no signal is missed.
func (w *Watcher) start(n *node) {
	ctx, cancel := context.WithCancel(w.tree)
	n.cancel = cancel
	emit := func(escalate bool, f *Fired) bool {
		select {
		case w.events <- event{leaf: n, escalate: escalate, fired: f}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	s := n.spec
	switch s.op {
	case opSignal:
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, s.sigs...)
		w.signals.Go(func() { watchSignal(ctx, ch, emit) })
	case opAfter:
		w.leaves.Go(func() { watchTimer(ctx, s.after, Fired{Kind: KindTimeout, After: s.after}, emit) })
	case opAt:
		w.leaves.Go(func() { watchTimer(ctx, time.Until(s.at), Fired{Kind: KindTimeout, Deadline: s.at}, emit) })
	case opCondition:
		w.leaves.Go(func() { watchCondition(ctx, s, emit) })
	case opContext:
		w.leaves.Go(func() { watchContext(ctx, s.ctx, emit) })
	}
}
