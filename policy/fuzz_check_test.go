package policy_test

// The invariants FuzzRun checks after every run, and its seed corpus.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/policy"
)

func (r *fuzzRun) valid() bool {
	return !r.s.nilOp && r.p.Valid() && r.s.timeout >= 0 && r.s.grace >= 0
}

func (r *fuzzRun) check(t *testing.T) {
	t.Helper()
	t.Logf("scenario %+v", r.s)
	if !r.valid() {
		require.True(t, r.end.returned, "invalid input must not panic")
		require.Error(t, r.err, "invalid input is an error")
		assert.Zero(t, r.rec.calls.Load(), "op is not invoked on invalid input")
		assert.Zero(t, r.out)
		var ce *policy.CancelError
		assert.NotErrorAs(t, r.err, &ce)
		if !r.s.nilOp && !r.p.Valid() {
			assert.ErrorIs(t, r.err, policy.ErrUnknownPolicy)
		}
		return
	}
	require.EqualValues(t, 1, r.rec.calls.Load(), "op is invoked exactly once")
	require.True(t, r.rec.finished.Load(), "Run waits for op")
	r.checkWhere(t)
	r.checkOwnCtx(t)

	switch r.s.behave {
	case opPanic:
		require.True(t, r.end.panicked, "op's panic reaches the caller's goroutine")
		if r.p == policy.Plain {
			assert.Same(t, r.rec.panicValue, r.end.value, "Plain: untouched")
			return
		}
		pe, ok := r.end.value.(*policy.PanicError)
		require.True(t, ok, "deferred: a *PanicError, got %T", r.end.value)
		assert.Same(t, r.rec.panicValue, pe.Value)
		assert.Equal(t, r.name, pe.Op)
		assert.Contains(t, string(pe.Stack), "policy_test.explode")
		return
	case opGoexit:
		assert.True(t, r.end.goexit, "Goexit in op ends the caller's goroutine")
		return
	}
	require.True(t, r.end.returned, "Run returns: %+v", r.end)
	if !r.s.useDo {
		assert.Equal(t, r.rec.value, r.out.Value, "op's value comes back, error or not")
	}
	r.checkCancelRequested(t)
	r.checkErr(t)
}

// checkWhere: Plain runs op in the caller's goroutine, deferred policies in another;
// Inline runs op in the caller's goroutine under every policy, with a ctx of its own.
func (r *fuzzRun) checkWhere(t *testing.T) {
	if inline {
		assert.Equal(t, r.end.gid, r.rec.gid, "Inline: op runs in the caller's goroutine")
		assert.False(t, r.rec.ctx == r.caller)
		return
	}
	if r.p == policy.Plain {
		assert.Equal(t, r.end.gid, r.rec.gid, "Plain: op runs in the caller's goroutine")
		if r.s.timeout == 0 && r.s.grace == 0 && r.s.abort == never {
			assert.True(t, r.rec.ctx == r.caller, "Plain without options: the caller's ctx itself")
		}
		return
	}
	assert.NotEqual(t, r.end.gid, r.rec.gid, "deferred: op runs in a goroutine of its own")
	assert.False(t, r.rec.ctx == r.caller)
}

// causes lists what may cancel op's ctx in this run.
func (r *fuzzRun) causes() []error {
	var allowed []error
	if r.abortCause != nil {
		allowed = append(allowed, r.abortCause)
	}
	if r.s.timeout > 0 {
		allowed = append(allowed, policy.ErrTimeout)
	}
	if r.p == policy.Plain && r.caller.Err() != nil {
		allowed = append(allowed, context.Cause(r.caller))
	} else if r.p.Deferred() && r.s.grace > 0 && r.caller.Err() != nil {
		allowed = append(allowed, policy.ErrGraceExpired)
	}
	return allowed
}

// checkOwnCtx: who may cancel op's ctx, and that a due cancellation is not lost.
// (After Run returns, op's ctx is released, so only what op saw counts.)
func (r *fuzzRun) checkOwnCtx(t *testing.T) {
	if r.rec.ownDone {
		assert.Contains(t, r.causes(), r.rec.ownCause, "op's ctx cancelled by something that may not cancel it")
	}
	if r.s.behave != opWaitCtx && r.s.behave != opWaitCause {
		return
	}
	// The first moment something may cancel op's ctx; -1: nothing will.
	first := time.Duration(-1)
	earliest := func(d time.Duration) {
		if first < 0 || d < first {
			first = d
		}
	}
	if r.s.timeout > 0 {
		earliest(time.Duration(r.s.timeout) * time.Millisecond)
	}
	switch r.s.abort {
	case before:
		earliest(0)
	case during:
		earliest(ms(r.s.abortAt))
	}
	if r.s.cancel != never {
		at := ms(r.s.cancelAt)
		if r.s.cancel == before {
			at = 0
		}
		switch {
		case r.p == policy.Plain:
			earliest(at)
		case r.s.grace > 0:
			earliest(at + time.Duration(r.s.grace)*time.Millisecond)
		}
	}
	switch d := ms(r.s.dur); {
	case first >= 0 && d > first:
		assert.True(t, r.rec.ownDone, "op's ctx must be done by %v, op waited %v", first, d)
	case first < 0 || d < first:
		assert.False(t, r.rec.ownDone, "nothing may cancel op's ctx before %v", first)
	}
}

func (r *fuzzRun) checkCancelRequested(t *testing.T) {
	if r.rec.callerDone || r.s.cancel == before {
		assert.True(t, r.out.CancelRequested, "the caller's ctx was done before op returned")
	}
	if r.out.CancelRequested {
		assert.Error(t, r.caller.Err(), "CancelRequested, yet the caller's ctx is live")
	}
}

func (r *fuzzRun) checkErr(t *testing.T) {
	opErr := r.rec.err
	switch {
	case opErr == nil && r.p == policy.DeferReraise && r.out.CancelRequested:
		ce := assertCancel(t, r.err, policy.Caller, r.caller.Err())
		assert.True(t, ce.Deferred)
		assert.True(t, context.Cause(r.caller) == ce.Cause, "the caller's cause, got %v", ce.Cause)
		assert.Equal(t, r.name, ce.Op)
		return
	case opErr == nil:
		assert.NoError(t, r.err)
		return
	case r.s.behave == opFail:
		assert.True(t, r.err == opErr, "op's own error, never masked; got %v", r.err)
		return
	}
	// op returned a cancellation.
	var ce *policy.CancelError
	require.ErrorAs(t, r.err, &ce, "op returned %v", opErr)
	assert.False(t, ce.Deferred, "only a successful op's cancellation is deferred")
	assert.Equal(t, r.name, ce.Op)
	foreign := r.s.behave == opForeignCancel || r.s.behave == opForeignDeadline

	// Origin: Caller only under Plain, when the caller's ctx cancelled op's ctx.
	origin := policy.Core
	if r.p == policy.Plain && !foreign && r.rec.ownCause == context.Cause(r.caller) {
		origin = policy.Caller
	}
	if r.p == policy.Plain && foreign && r.caller.Err() != nil {
		origin = ce.Origin // ambiguous: the caller had cancelled too
	}
	assert.Equal(t, origin, ce.Origin)

	// Cause and context error.
	switch {
	case !foreign:
		assert.True(t, r.rec.ownCause == ce.Cause, "the cause of op's ctx %v, got %v", r.rec.ownCause, ce.Cause)
		ctxErr := r.rec.ownErr
		if inline && ce.Origin == policy.Caller && ce.Cause == context.DeadlineExceeded {
			ctxErr = context.DeadlineExceeded // Inline: the caller's deadline, whatever op's own ctx says
		}
		assertCancel(t, r.err, ce.Origin, ctxErr)
	case ce.Cause == opErr:
		assertCancel(t, r.err, ce.Origin, r.rec.foreignCause)
	default: // op's ctx was cancelled too, by the time Run classified
		assert.Contains(t, r.causes(), ce.Cause, "foreign: op's error or its ctx's cause")
		ctxErr := context.Canceled
		if ce.Cause == policy.ErrTimeout || ce.Cause == context.DeadlineExceeded {
			ctxErr = context.DeadlineExceeded
		}
		assertCancel(t, r.err, ce.Origin, ctxErr)
	}
	if ce.Cause == policy.ErrTimeout {
		assert.ErrorIs(t, r.err, context.DeadlineExceeded)
	}
	if strings.Contains(ce.Error(), "re-raised") {
		t.Errorf("a core or plain cancellation is not a re-raise: %v", ce)
	}
}

// seeds covers each branch: every behaviour under every policy, each way the
// caller's ctx ends, each option, and the invalid inputs.
func seeds() []scenario {
	var out []scenario
	for p := range uint8(3) {
		for b := range uint8(opBehaviours) {
			out = append(out,
				scenario{policy: p, behave: b, dur: 10},                                       // nothing cancels
				scenario{policy: p, behave: b, dur: 20, cancel: during, cancelAt: 5, name: 1}, // caller cancels mid-way
				scenario{policy: p, behave: b, dur: 20, cancel: during, cancelAt: 20},         // ... as op returns
				scenario{policy: p, behave: b, dur: 20, cancel: before, nilCause: true, name: 2},
				scenario{policy: p, behave: b, cancel: before}, // ... and op returns at once
				scenario{policy: p, behave: b, dur: 20, cancel: expire, cancelAt: 5, useDo: true},
				scenario{policy: p, behave: b, dur: 50, timeout: 10},                                // timeout
				scenario{policy: p, behave: b, dur: 50, cancel: during, cancelAt: 5, grace: 10},     // grace expiry
				scenario{policy: p, behave: b, dur: 50, cancel: during, cancelAt: 5, grace: 100},    // op within grace
				scenario{policy: p, behave: b, dur: 50, abort: during, abortAt: 10},                 // abort
				scenario{policy: p, behave: b, dur: 50, abort: before, cancel: during, cancelAt: 1}, // abort already done
				scenario{policy: p, behave: b, dur: 50, abort: expire, timeout: 10, cancel: during, cancelAt: 10, grace: 1},
			)
		}
	}
	return append(out,
		scenario{policy: 3},
		scenario{policy: 255, timeout: 5},
		scenario{nilOp: true},
		scenario{policy: 1, nilOp: true, useDo: true},
		scenario{policy: 2, timeout: -1},
		scenario{policy: 0, grace: -128},
	)
}
