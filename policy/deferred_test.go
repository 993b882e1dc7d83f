package policy_test

// The DeferFlag and DeferReraise columns: op runs in one goroutine of its own, the
// caller's cancellation is held back, and Run always waits for op.

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/policy"
)

func TestDeferredRunsOpInANewGoroutineWithTheCallersValuesOnly(t *testing.T) {
	for _, p := range deferred {
		t.Run(p.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "v"), time.Hour)
			defer cancel()
			caller := goid()
			_, err := run(ctx, p, "disconnect", func(opCtx context.Context) (int, error) {
				if inline {
					assert.Equal(t, caller, goid(), "Inline: op runs on the caller's goroutine")
				} else {
					assert.NotEqual(t, caller, goid(), "op must run in a goroutine of its own")
				}
				assert.False(t, opCtx == ctx, "op must not get the caller's ctx")
				assert.Equal(t, "v", opCtx.Value(ctxKey{}), "the caller's values are kept")
				_, hasDeadline := opCtx.Deadline()
				assert.False(t, hasDeadline, "the caller's deadline is not")
				return 0, nil
			})
			require.NoError(t, err)
		})
	}
}

// TestDeferredCallerCancelWhileOpRunsLetsOpFinish is the middle row of the table:
// op keeps running, Run waits, and then each policy reports in its own way.
func TestDeferredCallerCancelWhileOpRunsLetsOpFinish(t *testing.T) {
	cause := errors.New("shutting down")
	for _, p := range deferred {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(context.Background())
				started, release := make(chan struct{}), make(chan struct{})
				var opCtx context.Context
				calls := 0
				res := start(ctx, p, "disconnect", func(c context.Context) (string, error) {
					calls++
					opCtx = c
					close(started)
					<-release
					return "bye", nil
				})
				<-started
				cancel(cause)
				synctest.Wait()
				assert.False(t, ready(res), "Run must wait for op after the caller's cancellation")
				assert.NoError(t, opCtx.Err(), "the caller's cancellation must not reach op")
				assert.NoError(t, context.Cause(opCtx))

				close(release)
				r := <-res
				assert.Equal(t, 1, calls)
				assert.Equal(t, "bye", r.out.Value)
				assert.True(t, r.out.CancelRequested)
				if p == policy.DeferFlag {
					assert.NoError(t, r.err, "DeferFlag reports the flag, not an error")
					return
				}
				ce := assertCancel(t, r.err, policy.Caller, context.Canceled)
				assert.True(t, ce.Deferred)
				assert.Same(t, cause, ce.Cause, "the cause comes from the caller's ctx, which WithoutCancel drops")
				assert.Equal(t, "disconnect", ce.Op)
			})
		})
	}
}

func TestDeferredWithoutCallerCancelReportsNothing(t *testing.T) {
	for _, p := range deferred {
		t.Run(p.String(), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			out, err := run(ctx, p, "disconnect", func(context.Context) (string, error) {
				return "bye", nil
			})
			cancel() // after Run: too late to count
			require.NoError(t, err)
			assert.Equal(t, "bye", out.Value)
			assert.False(t, out.CancelRequested)
		})
	}
}

func TestDeferredWithCallerCtxAlreadyDoneRunsOpToCompletion(t *testing.T) {
	for _, p := range deferred {
		t.Run(p.String(), func(t *testing.T) {
			ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
			defer cancel()
			calls := 0
			out, err := run(ctx, p, "cleanup", func(ctx context.Context) (int, error) {
				calls++
				assert.NoError(t, ctx.Err(), "op starts with a live ctx")
				return 9, nil
			})
			assert.Equal(t, 1, calls)
			assert.Equal(t, 9, out.Value)
			assert.True(t, out.CancelRequested)
			if p == policy.DeferFlag {
				assert.NoError(t, err)
				return
			}
			ce := assertCancel(t, err, policy.Caller, context.DeadlineExceeded)
			assert.True(t, ce.Deferred)
			assert.ErrorIs(t, ce.Cause, context.DeadlineExceeded)
		})
	}
}

func TestDeferredPanicIsRaisedAgainInTheCallersGoroutineAsPanicError(t *testing.T) {
	for _, p := range deferred {
		t.Run(p.String(), func(t *testing.T) {
			value := errors.New("nil map write")
			var opID uint64
			e := catch(t, func() {
				_, _ = run(context.Background(), p, "cleanup", func(context.Context) (int, error) {
					opID = goid()
					explode(value)
					return 0, nil
				})
			})
			require.True(t, e.panicked, "the panic must reach the caller's goroutine")
			if !inline {
				assert.NotEqual(t, e.gid, opID, "op panicked in its own goroutine")
			}
			pe, ok := e.value.(*policy.PanicError)
			require.True(t, ok, "the caller sees a *PanicError, not %T", e.value)
			assert.Same(t, value, pe.Value)
			assert.Equal(t, "cleanup", pe.Op)
			assert.Contains(t, string(pe.Stack), "policy_test.explode", "the stack is op's, at the panic")
			assert.ErrorIs(t, pe, value, "an error panic value unwraps")
			assert.Contains(t, pe.Error(), `"cleanup"`)
			assert.Contains(t, pe.Error(), "nil map write")
		})
	}
}

func TestPanicErrorWithANonErrorValueUnwrapsToNil(t *testing.T) {
	e := catch(t, func() {
		_, _ = run(context.Background(), policy.DeferFlag, "", func(context.Context) (int, error) {
			panic(42)
		})
	})
	require.True(t, e.panicked)
	pe, ok := e.value.(*policy.PanicError)
	require.True(t, ok)
	assert.Equal(t, 42, pe.Value)
	assert.NoError(t, pe.Unwrap())
	assert.Contains(t, pe.Error(), `"unknown"`, "an empty name reads unknown")
}

// TestDeferredGoexitInOpEndsTheCallersGoroutine: a t.FailNow inside op must not be
// swallowed, and must not leave Run waiting forever either.
func TestDeferredGoexitInOpEndsTheCallersGoroutine(t *testing.T) {
	for _, p := range deferred {
		t.Run(p.String(), func(t *testing.T) {
			calls, after := 0, false
			e := catch(t, func() {
				_, _ = run(context.Background(), p, "cleanup", func(context.Context) (int, error) {
					calls++
					runtime.Goexit()
					return 0, nil
				})
				after = true
			})
			assert.True(t, e.goexit, "Goexit in op ends the caller's goroutine too")
			assert.False(t, e.panicked)
			assert.False(t, after, "Run does not return")
			assert.Equal(t, 1, calls)
		})
	}
}

// explode panics with v from a named frame the tests look for in stacks.
//
//go:noinline
func explode(v any) { panic(v) }
