package policy_test

// The Plain column of the contract: op is a direct call in the caller's goroutine,
// and a cancellation interrupts it.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/policy"
)

func TestPlainRunsOpInTheCallersGoroutineWithTheCallersCtx(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	caller := goid()
	var (
		gotCtx context.Context
		gotID  uint64
		calls  int
	)
	out, err := run(ctx, policy.Plain, "fetch", func(opCtx context.Context) (string, error) {
		calls++
		gotCtx, gotID = opCtx, goid()
		return "body", nil
	})
	require.NoError(t, err)
	assert.Equal(t, "body", out.Value)
	assert.False(t, out.CancelRequested)
	assert.Equal(t, 1, calls)
	assert.Equal(t, caller, gotID, "op must run in the caller's goroutine")
	if inline {
		assert.Equal(t, "v", gotCtx.Value(ctxKey{}), "Inline: op's own ctx, with the caller's values")
	} else {
		assert.True(t, gotCtx == ctx, "op must get the caller's ctx itself, not a copy")
	}
}

// TestPlainWithOptionsStillRunsInTheCallersGoroutine: options derive op's ctx from
// the caller's, so values and cancellation both reach op; still no goroutine.
func TestPlainWithOptionsStillRunsInTheCallersGoroutine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	caller := goid()
	out, err := run(ctx, policy.Plain, "fetch", func(opCtx context.Context) (string, error) {
		assert.Equal(t, caller, goid(), "op must run in the caller's goroutine")
		assert.Equal(t, "v", opCtx.Value(ctxKey{}))
		assert.False(t, opCtx == ctx, "a Timeout needs a ctx of op's own")
		require.NoError(t, opCtx.Err())
		cancel()
		if inline {
			<-opCtx.Done() // Inline: the request comes from the goroutine that cancels
		}
		assert.ErrorIs(t, opCtx.Err(), context.Canceled, "the caller's cancellation reaches op")
		return "partial", opCtx.Err()
	}, policy.Timeout(time.Hour), policy.Abort(context.Background()))
	assert.Equal(t, "partial", out.Value, "the value comes back with the error")
	assert.True(t, out.CancelRequested)
	assertCancel(t, err, policy.Caller, context.Canceled)
}

func TestPlainCallerCancelWhileOpRunsIsACallerCancelError(t *testing.T) {
	cause := errors.New("user hit ctrl-c")
	for _, tc := range []struct {
		name string
		opts []policy.Option
	}{
		{name: "without options"},
		{name: "with options", opts: []policy.Option{policy.Timeout(time.Hour), policy.Grace(time.Nanosecond)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			started := make(chan struct{})
			res := start(ctx, policy.Plain, "fetch", func(ctx context.Context) (int, error) {
				close(started)
				<-ctx.Done()
				return 0, fmt.Errorf("fetch: %w", context.Cause(ctx))
			}, tc.opts...)
			recv(t, started, "op to start")
			cancel(cause)
			r := recv(t, res, "Run to return")
			assert.True(t, r.out.CancelRequested)
			ce := assertCancel(t, r.err, policy.Caller, context.Canceled)
			assert.Same(t, cause, ce.Cause, "the Cause is the caller's cause")
			assert.Equal(t, "fetch", ce.Op)
			assert.False(t, ce.Deferred, "Plain defers nothing")
			assert.NotErrorIs(t, r.err, policy.ErrGraceExpired, "Grace has no effect under Plain")
		})
	}
}

// TestPlainOpThatIgnoresTheCancellationSucceeds: op decides; Run adds no error.
func TestPlainOpThatIgnoresTheCancellationSucceeds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out, err := run(ctx, policy.Plain, "fetch", func(context.Context) (int, error) {
		cancel()
		return 3, nil
	})
	require.NoError(t, err, "Plain never raises a cancellation op did not return")
	assert.Equal(t, 3, out.Value)
	assert.True(t, out.CancelRequested)
}

func TestPlainWithCallerCtxAlreadyDoneStillInvokesOpOnce(t *testing.T) {
	for _, opts := range [][]policy.Option{nil, {policy.Timeout(time.Hour)}} {
		t.Run(fmt.Sprintf("%d options", len(opts)), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			calls := 0
			out, err := run(ctx, policy.Plain, "fetch", func(ctx context.Context) (int, error) {
				calls++
				assert.ErrorIs(t, ctx.Err(), context.Canceled, "op sees the done ctx")
				return 1, ctx.Err()
			}, opts...)
			assert.Equal(t, 1, calls, "op is invoked once, not skipped and not retried")
			assert.Equal(t, 1, out.Value)
			assert.True(t, out.CancelRequested)
			assertCancel(t, err, policy.Caller, context.Canceled)
		})
	}
}

// TestPlainCallerDeadlineIsDeadlineExceeded: the context error of a Caller
// cancellation is the one the caller's ctx reported.
func TestPlainCallerDeadlineIsDeadlineExceeded(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	_, err := run(ctx, policy.Plain, "fetch", func(ctx context.Context) (int, error) {
		return 0, ctx.Err()
	})
	ce := assertCancel(t, err, policy.Caller, context.DeadlineExceeded)
	assert.ErrorIs(t, ce.Cause, context.DeadlineExceeded)
}

func TestPlainPanicGoesOnUntouchedInTheCallersGoroutine(t *testing.T) {
	type boom struct{ n int }
	value := &boom{n: 1}
	for _, opts := range [][]policy.Option{nil, {policy.Timeout(time.Hour), policy.Abort(context.Background())}} {
		t.Run(fmt.Sprintf("%d options", len(opts)), func(t *testing.T) {
			var opID uint64
			e := catch(t, func() {
				_, _ = run(context.Background(), policy.Plain, "fetch", func(context.Context) (int, error) {
					opID = goid()
					panic(value)
				}, opts...)
			})
			require.True(t, e.panicked)
			assert.Same(t, value, e.value, "the very value op panicked with")
			assert.IsType(t, &boom{}, e.value, "not wrapped in a *PanicError")
			assert.Equal(t, e.gid, opID, "the panic is the caller's goroutine's own")
		})
	}
}

func TestPlainOpThatCallsGoexitEndsTheCallersGoroutine(t *testing.T) {
	after := false
	e := catch(t, func() {
		_, _ = run(context.Background(), policy.Plain, "fetch", func(context.Context) (int, error) {
			runtime.Goexit()
			return 0, nil
		})
		after = true
	})
	assert.True(t, e.goexit)
	assert.False(t, after, "Run does not return after Goexit")
}

// assertCancel checks err is a *CancelError with origin and ctxErr, that it matches
// exactly the sentinels it should, and returns it.
func assertCancel(t *testing.T, err error, origin policy.Origin, ctxErr error) *policy.CancelError {
	t.Helper()
	var ce *policy.CancelError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, origin, ce.Origin)
	assert.Equal(t, origin == policy.Caller, errors.Is(err, policy.ErrCallerCanceled), "ErrCallerCanceled by Origin")
	assert.Equal(t, origin == policy.Core, errors.Is(err, policy.ErrCoreCanceled), "ErrCoreCanceled by Origin")
	other := context.Canceled
	if ctxErr == context.Canceled {
		other = context.DeadlineExceeded
	}
	assert.ErrorIs(t, err, ctxErr)
	assert.NotErrorIs(t, err, other, "only the context error its context reported")
	if ce.Cause != nil {
		assert.ErrorIs(t, err, ce.Cause, "every CancelError matches its Cause")
	}
	return ce
}
