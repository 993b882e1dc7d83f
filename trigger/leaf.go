package trigger

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"time"
)

// The leaves: one goroutine each, started by the watcher, ended by cancelling ctx
// (or by themselves, once they have nothing more to report). Each reports through
// emit, which gives up when ctx is done, so a leaf never outlives its cancellation.

type emitFunc func(escalate bool, f *Fired) bool

// watchSignal reports the first signal on ch as a fire, the second as an
// escalation. It lets go of the signals before it reports the escalation, so that
// once the watcher has escalated a third signal gets Go's default handling.
func watchSignal(ctx context.Context, ch chan os.Signal, emit emitFunc) {
	defer signal.Stop(ch)
	fired := false
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-ch:
			f := &Fired{Kind: KindSignal, Signal: sig, Time: time.Now()}
			if !fired {
				fired = true
				if !emit(false, f) {
					return
				}
				continue
			}
			signal.Stop(ch)
			f.Escalation, f.Second = true, true
			emit(true, f)
			return
		}
	}
}

// watchTimer reports a fire after d.
func watchTimer(ctx context.Context, d time.Duration, f Fired, emit emitFunc) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		f.Time = time.Now()
		emit(false, &f)
	}
}

// watchCondition calls cond at once and then every interval until it holds (or
// panics), and reports that as a fire.
func watchCondition(ctx context.Context, s *spec, emit emitFunc) {
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		if ok, perr := check(s.cond); ok || perr != nil {
			f := &Fired{Kind: KindCondition, Name: s.name, Time: time.Now()}
			if perr != nil {
				f.Cause = perr
			}
			emit(false, f)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// check calls cond, and turns a panic into a *PanicError.
func check(cond func() bool) (ok bool, perr *PanicError) {
	defer func() {
		if v := recover(); v != nil {
			perr = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return cond(), nil
}

// watchContext reports a fire when src is done, with its cause.
func watchContext(ctx, src context.Context, emit emitFunc) {
	select {
	case <-ctx.Done():
	case <-src.Done():
		emit(false, &Fired{Kind: KindManual, Cause: context.Cause(src), Time: time.Now()})
	}
}
