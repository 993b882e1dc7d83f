package policy_test

// FuzzRun drives Run with random op behaviour, caller-cancel timings, policies and
// options, inside a synctest bubble so every duration is virtual: a run is fast and
// its outcome depends only on the input. The invariants it checks live in
// fuzz_check_test.go.
//
//	go test -run '^$' -fuzz FuzzRun -fuzztime 60s ./policy

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quiesce/quiesce/policy"
)

// What op does, picked by scenario.behave.
const (
	opSucceed         = iota // returns its value after dur
	opFail                   // returns a plain error after dur
	opWaitCtx                // waits for its ctx at most dur; returns ctx.Err() wrapped if done
	opWaitCause              // as opWaitCtx, returning context.Cause(ctx)
	opForeignCancel          // returns the context.Canceled of something else after dur
	opForeignDeadline        // returns a foreign context.DeadlineExceeded after dur
	opPanic                  // panics after dur
	opGoexit                 // calls runtime.Goexit after dur
	opCheckAtEnd             // ignores its ctx for dur, then returns value and ctx.Err()
	opBehaviours
)

// How the caller's ctx (and the Abort ctx) end, picked by scenario.cancel and .abort.
const (
	never  = iota // the caller's ctx is never done / no Abort option
	before        // done before Run is called
	during        // cancelled at cancelAt (abortAt) ms of virtual time
	expire        // caller: a deadline at cancelAt ms; abort: an Abort ctx that never fires
	modes
)

// scenario is one fuzz input, decoded from bytes one field a byte.
type scenario struct {
	policy   uint8 // 0..2: the policies; anything else is an invalid Policy value
	nilOp    bool
	useDo    bool
	name     uint8 // picks from names
	behave   uint8 // opSucceed..opCheckAtEnd
	dur      uint8 // op's duration, ms
	cancel   uint8 // never..expire
	cancelAt uint8 // ms
	nilCause bool  // the caller cancels with cause nil
	timeout  int8  // ms; 0: no option; negative: invalid
	grace    int8  // ms; 0: no option; negative: invalid
	abort    uint8 // never..expire
	abortAt  uint8 // ms
}

var names = []string{"", "disconnect", "cleanup"}

func decode(data []byte) scenario {
	next := func() uint8 {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	s := scenario{policy: next(), nilOp: next()%8 == 7, useDo: next()%2 == 1, name: next()}
	s.behave, s.dur, s.cancel, s.cancelAt = next()%opBehaviours, next(), next()%modes, next()
	s.nilCause, s.timeout, s.grace = next()%2 == 1, int8(next()), int8(next())
	s.abort, s.abortAt = next()%modes, next()
	if s.policy > 2 && s.policy%4 != 3 {
		s.policy %= 3 // keep most inputs valid
	}
	return s
}

func (s scenario) encode() []byte {
	b := func(v bool) uint8 {
		if v {
			return 7
		}
		return 0
	}
	return []byte{s.policy, b(s.nilOp), b(s.useDo) % 2, s.name, s.behave, s.dur, s.cancel, s.cancelAt,
		b(s.nilCause) % 2, uint8(s.timeout), uint8(s.grace), s.abort, s.abortAt}
}

func ms(v uint8) time.Duration { return time.Duration(v) * time.Millisecond }

// record is what op saw and did, written by op and read after Run.
type record struct {
	calls        atomic.Int32
	finished     atomic.Bool // op's frame has unwound (return, panic or Goexit)
	gid          uint64
	ctx          context.Context
	ownDone      bool  // op's ctx was done when op returned
	ownErr       error // its Err then
	ownCause     error // its Cause then
	callerDone   bool  // the caller's ctx was done when op returned
	value        int
	err          error // what op returned
	panicValue   any
	foreignCause error
}

// fuzzRun is one run: the caller's ctx, the options, the call, and how it ended.
type fuzzRun struct {
	s           scenario
	p           policy.Policy
	name        string
	caller      context.Context
	callerCause error // the cause the caller cancels with (nil: none given)
	abortCause  error
	rec         record
	out         policy.Outcome[int]
	err         error
	end         ended
}

func FuzzRun(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s.encode())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := decode(data)
		synctest.Test(t, func(t *testing.T) {
			r := execute(t, s)
			r.check(t)
		})
	})
}

// execute sets the scene for s, calls Run (or Do) once in a caller goroutine of
// its own, and returns what happened.
func execute(t testing.TB, s scenario) *fuzzRun {
	r := &fuzzRun{s: s, p: policy.Policy(s.policy), name: names[int(s.name)%len(names)]}
	r.callerCause = errors.New("caller cause")
	if s.nilCause {
		r.callerCause = nil
	}
	caller, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	switch s.cancel {
	case before:
		cancel(r.callerCause)
	case during:
		time.AfterFunc(ms(s.cancelAt), func() { cancel(r.callerCause) })
	case expire:
		var stop context.CancelFunc
		caller, stop = context.WithTimeout(caller, ms(s.cancelAt))
		defer stop()
	}
	r.caller = caller

	var opts []policy.Option
	if s.timeout != 0 {
		opts = append(opts, policy.Timeout(time.Duration(s.timeout)*time.Millisecond))
	}
	if s.grace != 0 {
		opts = append(opts, policy.Grace(time.Duration(s.grace)*time.Millisecond))
	}
	if s.abort != never {
		r.abortCause = errors.New("abort cause")
		abort, pull := context.WithCancelCause(context.Background())
		defer pull(nil)
		switch s.abort {
		case before:
			pull(r.abortCause)
		case during:
			time.AfterFunc(ms(s.abortAt), func() { pull(r.abortCause) })
		}
		opts = append(opts, policy.Abort(abort))
	}

	op := r.op
	if s.nilOp {
		op = nil
	}
	r.end = catch(t, func() {
		if !s.useDo {
			r.out, r.err = run(caller, r.p, r.name, op, opts...)
			return
		}
		var errOnly func(context.Context) error
		if op != nil {
			errOnly = func(ctx context.Context) error { _, err := op(ctx); return err }
		}
		r.out.CancelRequested, r.err = do(caller, r.p, r.name, errOnly, opts...)
	})
	return r
}

// op does what the scenario says and records what it saw.
func (r *fuzzRun) op(ctx context.Context) (v int, err error) {
	rec := &r.rec
	rec.calls.Add(1)
	rec.gid, rec.ctx, rec.value = goid(), ctx, 42
	defer func() {
		rec.ownErr, rec.ownCause = ctx.Err(), context.Cause(ctx)
		rec.ownDone = rec.ownErr != nil
		rec.callerDone = r.caller.Err() != nil
		rec.err = err
		rec.finished.Store(true)
	}()
	d := ms(r.s.dur)
	switch r.s.behave {
	case opWaitCtx, opWaitCause:
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			if r.s.behave == opWaitCause {
				return rec.value, context.Cause(ctx)
			}
			return rec.value, fmt.Errorf("op: %w", ctx.Err())
		case <-timer.C:
			return rec.value, nil
		}
	}
	if d > 0 {
		<-time.After(d)
	}
	switch r.s.behave {
	case opFail:
		return rec.value, fmt.Errorf("op: %w", errOp)
	case opForeignCancel, opForeignDeadline:
		foreign, stop := context.WithCancel(context.Background())
		stop()
		rec.foreignCause = foreign.Err()
		if r.s.behave == opForeignDeadline {
			rec.foreignCause = context.DeadlineExceeded
		}
		return rec.value, fmt.Errorf("peer: %w", rec.foreignCause)
	case opPanic:
		rec.panicValue = fmt.Errorf("op panicked (%d)", r.s.dur)
		explode(rec.panicValue)
	case opGoexit:
		runtime.Goexit()
	case opCheckAtEnd:
		return rec.value, ctx.Err()
	}
	return rec.value, nil
}
