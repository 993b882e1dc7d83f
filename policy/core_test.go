package policy_test

// Core cancellations: Timeout, Grace, Abort, and a cancellation op brings back from
// something it waited for. No policy defers them, and none of them is the caller's.

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

// waitOp waits for its ctx at most d, then returns ctx.Err() if its ctx is done and
// "done" otherwise.
func waitOp(d time.Duration) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		select {
		case <-ctx.Done():
			return "partial", fmt.Errorf("waiting: %w", ctx.Err())
		case <-time.After(d):
			return "done", nil
		}
	}
}

func TestTimeoutIsACoreCancellationUnderEveryPolicy(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				begin := time.Now()
				out, err := run(context.Background(), p, "disconnect", waitOp(time.Hour), policy.Timeout(50*time.Millisecond))
				assert.Equal(t, 50*time.Millisecond, time.Since(begin), "the budget counts from op's start")
				assert.Equal(t, "partial", out.Value)
				assert.False(t, out.CancelRequested, "a timeout is not the caller's request")
				ce := assertCancel(t, err, policy.Core, context.DeadlineExceeded)
				assert.Same(t, policy.ErrTimeout, ce.Cause)
				assert.False(t, ce.Deferred)
			})
		})
	}
}

func TestOpWithinItsTimeoutSucceeds(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				out, err := run(context.Background(), p, "disconnect", waitOp(49*time.Millisecond), policy.Timeout(50*time.Millisecond))
				require.NoError(t, err)
				assert.Equal(t, "done", out.Value)
			})
		})
	}
}

// TestTimeoutIsNotDeferredByACallerCancellation: DeferReraise holds the caller's
// cancellation back, but a core one wins and is not marked Deferred.
func TestTimeoutIsNotDeferredByACallerCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		out, err := run(ctx, policy.DeferReraise, "cleanup", waitOp(time.Hour), policy.Timeout(time.Second))
		assert.True(t, out.CancelRequested)
		ce := assertCancel(t, err, policy.Core, context.DeadlineExceeded)
		assert.False(t, ce.Deferred)
		assert.Same(t, policy.ErrTimeout, ce.Cause)
	})
}

func TestGraceExpiryIsACoreCancellationUnderDeferredPolicies(t *testing.T) {
	for _, p := range deferred {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				begin := time.Now()
				time.AfterFunc(10*time.Millisecond, cancel)
				var expired time.Duration
				out, err := run(ctx, p, "drain", func(ctx context.Context) (string, error) {
					<-ctx.Done()
					expired = time.Since(begin)
					return "partial", context.Cause(ctx)
				}, policy.Grace(50*time.Millisecond))
				assert.Equal(t, 60*time.Millisecond, expired, "grace starts when the caller's ctx is done")
				assert.Equal(t, "partial", out.Value)
				assert.True(t, out.CancelRequested)
				ce := assertCancel(t, err, policy.Core, context.Canceled)
				assert.Same(t, policy.ErrGraceExpired, ce.Cause)
				assert.False(t, ce.Deferred)
			})
		})
	}
}

func TestGraceDoesNotLimitOpUntilTheCallerCancels(t *testing.T) {
	for _, p := range deferred {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				out, err := run(context.Background(), p, "drain", waitOp(time.Hour), policy.Grace(time.Millisecond))
				require.NoError(t, err)
				assert.Equal(t, "done", out.Value)
				assert.False(t, out.CancelRequested)
			})
		})
	}
}

func TestOpFinishingWithinGraceKeepsTheDeferredOutcome(t *testing.T) {
	for _, p := range deferred {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				out, err := run(ctx, p, "drain", waitOp(49*time.Millisecond), policy.Grace(50*time.Millisecond))
				assert.Equal(t, "done", out.Value)
				assert.True(t, out.CancelRequested)
				if p == policy.DeferFlag {
					require.NoError(t, err)
					return
				}
				ce := assertCancel(t, err, policy.Caller, context.Canceled)
				assert.True(t, ce.Deferred)
			})
		})
	}
}

func TestGraceHasNoEffectUnderPlain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(10*time.Millisecond, cancel)
		begin := time.Now()
		_, err := run(ctx, policy.Plain, "drain", waitOp(time.Hour), policy.Grace(time.Minute))
		assert.Equal(t, 10*time.Millisecond, time.Since(begin), "the caller's cancellation reaches op at once")
		ce := assertCancel(t, err, policy.Caller, context.Canceled)
		assert.NotErrorIs(t, err, policy.ErrGraceExpired)
		assert.False(t, ce.Deferred)
	})
}

func TestAbortIsACoreCancellationUnderEveryPolicy(t *testing.T) {
	errAbort := errors.New("supervisor: forced stop")
	for _, p := range policies {
		for _, callerCancels := range []bool{false, true} {
			if callerCancels && !p.Deferred() {
				continue // under Plain the caller's cancellation would reach op first
			}
			t.Run(fmt.Sprintf("%v/caller cancels %v", p, callerCancels), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					abort, pull := context.WithCancelCause(context.Background())
					if callerCancels {
						cancel() // held back: the abort still wins
					}
					time.AfterFunc(time.Second, func() { pull(errAbort) })
					out, err := run(ctx, p, "drain", waitOp(time.Hour), policy.Abort(abort))
					assert.Equal(t, callerCancels, out.CancelRequested)
					ce := assertCancel(t, err, policy.Core, context.Canceled)
					assert.Same(t, errAbort, ce.Cause, "the cause is the abort ctx's")
					assert.False(t, ce.Deferred, "no policy defers an abort")
				})
			})
		}
	}
}

func TestAbortAlreadyDoneStillInvokesOpOnce(t *testing.T) {
	errAbort := errors.New("forced")
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				abort, pull := context.WithCancelCause(context.Background())
				pull(errAbort)
				calls := 0
				_, err := run(context.Background(), p, "drain", func(ctx context.Context) (int, error) {
					calls++
					<-ctx.Done()
					return 0, ctx.Err()
				}, policy.Abort(abort))
				assert.Equal(t, 1, calls)
				ce := assertCancel(t, err, policy.Core, context.Canceled)
				assert.Same(t, errAbort, ce.Cause)
			})
		})
	}
}

func TestAbortThatNeverFiresChangesNothing(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				abort, pull := context.WithCancel(context.Background())
				defer pull()
				out, err := run(context.Background(), p, "drain", waitOp(time.Second), policy.Abort(abort))
				require.NoError(t, err)
				assert.Equal(t, "done", out.Value)
			})
		})
	}
}

// TestForeignCancellationIsACoreCancellation: op returns the cancellation of
// something it waited for; the caller did not cancel anything.
func TestForeignCancellationIsACoreCancellation(t *testing.T) {
	peer, stop := context.WithCancel(context.Background())
	stop()
	for _, p := range policies {
		for _, tc := range []struct {
			name   string
			err    error
			ctxErr error
		}{
			{"canceled", fmt.Errorf("peer: %w", peer.Err()), context.Canceled},
			{"deadline", fmt.Errorf("peer: %w", context.DeadlineExceeded), context.DeadlineExceeded},
		} {
			t.Run(p.String()+"/"+tc.name, func(t *testing.T) {
				out, err := run(context.Background(), p, "sync", func(ctx context.Context) (int, error) {
					return 5, tc.err
				})
				assert.Equal(t, 5, out.Value)
				assert.False(t, out.CancelRequested)
				ce := assertCancel(t, err, policy.Core, tc.ctxErr)
				assert.Same(t, tc.err, ce.Cause, "the cause is what op returned")
				assert.False(t, ce.Deferred)
			})
		}
	}
}
