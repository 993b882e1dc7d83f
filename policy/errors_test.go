package policy_test

// What counts as a cancellation, what never gets masked, and what a *CancelError
// matches with errors.Is.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/policy"
)

// TestNonCancellationErrorIsReturnedAsItIs: under every policy, whatever happened to
// the caller's ctx, op's own error comes back identical and CancelRequested says
// whether the caller asked.
func TestNonCancellationErrorIsReturnedAsItIs(t *testing.T) {
	for _, p := range policies {
		for _, callerCancels := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/caller cancels %v", p, callerCancels), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				opErr := fmt.Errorf("disconnect: %w", errOp)
				out, err := run(ctx, p, "disconnect", func(context.Context) (int, error) {
					if callerCancels {
						cancel()
					}
					return 4, opErr
				})
				assert.True(t, err == opErr, "the very error op returned, got %v", err)
				assert.ErrorIs(t, err, errOp)
				var ce *policy.CancelError
				assert.NotErrorAs(t, err, &ce, "never turned into a cancellation")
				assert.NotErrorIs(t, err, policy.ErrCallerCanceled, "DeferReraise re-raises only after success")
				assert.Equal(t, 4, out.Value)
				assert.Equal(t, callerCancels, out.CancelRequested)
			})
		}
	}
}

// TestCoreCancellationDoesNotMaskOpsError: op's ctx timed out, but op came back
// with an error of its own; that error wins.
func TestCoreCancellationDoesNotMaskOpsError(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, err := run(context.Background(), p, "disconnect", func(ctx context.Context) (int, error) {
					<-ctx.Done()
					return 0, errOp
				}, policy.Timeout(time.Second))
				assert.True(t, err == errOp, "got %v", err)
				assert.NotErrorIs(t, err, context.DeadlineExceeded)
			})
		})
	}
}

// TestWhatCountsAsACancellation follows the rule: errors.Is finds context.Canceled,
// context.DeadlineExceeded, or the cause of op's own ctx. Anything else is op's error.
func TestWhatCountsAsACancellation(t *testing.T) {
	errAbort := errors.New("forced stop")
	for _, tc := range []struct {
		name      string
		aborted   bool  // op's ctx is cancelled with cause errAbort before op returns
		ret       error // what op returns
		cancel    bool  // Run returns a *CancelError (otherwise ret itself)
		wantCause error
		ctxErr    error // the context error it reports; context.Canceled when nil
	}{
		{name: "context.Canceled wrapped", ret: fmt.Errorf("x: %w", context.Canceled), cancel: true},
		{name: "context.DeadlineExceeded", ret: context.DeadlineExceeded, cancel: true, wantCause: context.DeadlineExceeded, ctxErr: context.DeadlineExceeded},
		{name: "the cause of op's own ctx", aborted: true, ret: errAbort, cancel: true, wantCause: errAbort},
		{name: "the cause of op's own ctx, wrapped", aborted: true, ret: fmt.Errorf("x: %w", errAbort), cancel: true, wantCause: errAbort},
		{name: "that cause while op's ctx is live", ret: errAbort},
		{name: "ErrTimeout while no timeout fired", ret: policy.ErrTimeout},
		{name: "a look-alike message", ret: errors.New("context canceled")},
		{name: "a plain error after an abort", aborted: true, ret: errOp},
	} {
		for _, p := range policies {
			t.Run(p.String()+"/"+tc.name, func(t *testing.T) {
				abort, pull := context.WithCancelCause(context.Background())
				defer pull(nil)
				_, err := run(context.Background(), p, "op", func(ctx context.Context) (int, error) {
					if tc.aborted {
						pull(errAbort)
						<-ctx.Done()
					}
					return 0, tc.ret
				}, policy.Abort(abort))
				if !tc.cancel {
					assert.True(t, err == tc.ret, "returned as it is, got %v", err)
					return
				}
				ctxErr := tc.ctxErr
				if ctxErr == nil {
					ctxErr = context.Canceled
				}
				ce := assertCancel(t, err, policy.Core, ctxErr)
				if tc.wantCause != nil {
					assert.ErrorIs(t, ce.Cause, tc.wantCause)
				}
			})
		}
	}
}

func TestCancelErrorIsMatrix(t *testing.T) {
	errAbort := errors.New("forced stop")
	for _, tc := range []struct {
		name   string
		err    *policy.CancelError
		origin policy.Origin
		ctxErr error
		cause  error
	}{
		{"caller cancel", runCancel(t, policy.Plain, callerCancel, nil), policy.Caller, context.Canceled, errCallerCause},
		{"caller deadline", runCancel(t, policy.Plain, callerDeadline, nil), policy.Caller, context.DeadlineExceeded, context.DeadlineExceeded},
		{"deferred re-raise", runCancel(t, policy.DeferReraise, callerCancel, nil), policy.Caller, context.Canceled, errCallerCause},
		{"timeout", runCancel(t, policy.DeferFlag, nil, []policy.Option{policy.Timeout(time.Nanosecond)}), policy.Core, context.DeadlineExceeded, policy.ErrTimeout},
		{"abort", runCancel(t, policy.Plain, nil, []policy.Option{policy.Abort(cancelled(errAbort))}), policy.Core, context.Canceled, errAbort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ce := assertCancel(t, tc.err, tc.origin, tc.ctxErr)
			assert.ErrorIs(t, ce, tc.cause)
			assert.Equal(t, tc.cause.Error(), errors.Unwrap(ce).Error(), "Unwrap reaches the Cause")
			assert.NotErrorIs(t, ce, errOp, "and nothing else")
			assert.Contains(t, ce.Error(), `"op"`)
			assert.Contains(t, ce.Error(), tc.cause.Error())
		})
	}
}

// TestOriginSentinelsAnswerForThisErrorOnly: a cancellation inside the Cause (a
// nested Run's, or a caller's cause that was itself a *CancelError) must not make
// one error read as both "I was cancelled" and "what I waited for was cancelled".
func TestOriginSentinelsAnswerForThisErrorOnly(t *testing.T) {
	t.Run("op returns a nested Run's caller cancellation", func(t *testing.T) {
		var inner error
		_, err := run(context.Background(), policy.Plain, "outer", func(context.Context) (int, error) {
			_, inner = run(callerCancel(), policy.Plain, "inner", func(ctx context.Context) (int, error) {
				return 0, ctx.Err()
			})
			return 0, inner
		})
		assertCancel(t, err, policy.Core, context.Canceled)
		assert.NotErrorIs(t, err, policy.ErrCallerCanceled, "the outer caller was not cancelled")
		assert.ErrorIs(t, err, inner, "the inner error is still in the chain")
		assert.ErrorIs(t, err, errCallerCause, "and so is what it wraps")
		var ce *policy.CancelError
		require.ErrorAs(t, errors.Unwrap(err), &ce, "errors.As reaches the inner *CancelError")
		assert.Equal(t, "inner", ce.Op)
		assert.Equal(t, policy.Caller, ce.Origin)
	})
	for _, p := range []policy.Policy{policy.Plain, policy.DeferReraise} {
		t.Run(p.String()+": the caller's cause is a core cancellation", func(t *testing.T) {
			sibling := runCancel(t, policy.DeferFlag, nil, []policy.Option{policy.Timeout(time.Nanosecond)})
			_, err := run(cancelled(sibling), p, "op", func(ctx context.Context) (int, error) {
				if p.Deferred() {
					return 0, nil
				}
				return 0, ctx.Err()
			})
			assertCancel(t, err, policy.Caller, context.Canceled)
			assert.NotErrorIs(t, err, policy.ErrCoreCanceled, "this error's origin is the caller")
			assert.ErrorIs(t, err, sibling)
			assert.ErrorIs(t, err, policy.ErrTimeout, "everything the Cause wraps still matches")
		})
	}
}

func TestCancelErrorMessageSaysWhoCancelled(t *testing.T) {
	cause := errors.New("bye")
	for _, tc := range []struct {
		err  *policy.CancelError
		want string
	}{
		{&policy.CancelError{Op: "fetch", Origin: policy.Caller, Cause: cause}, `policy: "fetch": canceled by the caller: bye`},
		{&policy.CancelError{Op: "fetch", Origin: policy.Core, Cause: cause}, `policy: "fetch": canceled at the core: bye`},
		{&policy.CancelError{Op: "", Origin: policy.Caller, Deferred: true, Cause: cause}, `policy: "unknown": finished, then re-raised the caller's cancellation: bye`},
	} {
		assert.Equal(t, tc.want, tc.err.Error())
	}
}

var errCallerCause = errors.New("caller went away")

// callerCancel and callerDeadline make a caller's ctx that is already done.
func callerCancel() context.Context { return cancelled(errCallerCause) }

func callerDeadline() context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	cancel() // already expired: cancel only releases resources
	return ctx
}

// cancelled returns a ctx cancelled with cause.
func cancelled(cause error) context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	return ctx
}

// runCancel runs an op that waits for its ctx (or returns at once when deferred and
// the caller is the one cancelling), and returns the *CancelError Run gave back.
func runCancel(t *testing.T, p policy.Policy, caller func() context.Context, opts []policy.Option) *policy.CancelError {
	t.Helper()
	ctx := context.Background()
	if caller != nil {
		ctx = caller()
	}
	_, err := run(ctx, p, "op", func(ctx context.Context) (int, error) {
		if p == policy.DeferReraise && caller != nil {
			return 0, nil
		}
		<-ctx.Done()
		return 0, ctx.Err()
	}, opts...)
	var ce *policy.CancelError
	require.ErrorAs(t, err, &ce)
	return ce
}
