package policy_test

// Do is Run for an op that returns only an error: same contract, smaller result.

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/policy"
)

func TestDoFollowsRunsContract(t *testing.T) {
	cause := errors.New("going away")
	for _, tc := range []struct {
		name          string
		p             policy.Policy
		opts          []policy.Option
		callerCancels bool
		opErr         error
		wantRequested bool
		wantOrigin    policy.Origin // 0: no *CancelError
		wantErr       error         // when wantOrigin is 0: the error, identical
	}{
		{name: "plain succeeds", p: policy.Plain},
		{name: "plain with options succeeds", p: policy.Plain, opts: []policy.Option{policy.Timeout(time.Hour)}},
		{name: "plain returns op's error", p: policy.Plain, opErr: errOp, wantErr: errOp},
		{name: "plain interrupted by the caller", p: policy.Plain, callerCancels: true, wantRequested: true, wantOrigin: policy.Caller},
		{name: "defer-flag reports the flag", p: policy.DeferFlag, callerCancels: true, wantRequested: true},
		{name: "defer-flag returns op's error", p: policy.DeferFlag, callerCancels: true, opErr: errOp, wantRequested: true, wantErr: errOp},
		{name: "defer-reraise re-raises", p: policy.DeferReraise, callerCancels: true, wantRequested: true, wantOrigin: policy.Caller},
		{name: "defer-reraise without cancel succeeds", p: policy.DeferReraise},
		{name: "timeout is core", p: policy.DeferFlag, opts: []policy.Option{policy.Timeout(time.Second)}, wantOrigin: policy.Core},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				calls := 0
				requested, err := do(ctx, tc.p, "close", func(ctx context.Context) error {
					calls++
					if tc.callerCancels {
						cancel(cause)
					}
					if tc.opErr != nil {
						return tc.opErr
					}
					if tc.wantOrigin == policy.Core || tc.p == policy.Plain && tc.callerCancels {
						<-ctx.Done()
						return ctx.Err()
					}
					return nil
				}, tc.opts...)
				assert.Equal(t, 1, calls)
				assert.Equal(t, tc.wantRequested, requested)
				if tc.wantOrigin == 0 {
					assert.True(t, err == tc.wantErr, "want %v, got %v", tc.wantErr, err)
					return
				}
				var ce *policy.CancelError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tc.wantOrigin, ce.Origin)
				if tc.wantOrigin == policy.Caller {
					assert.Same(t, cause, ce.Cause)
				}
			})
		})
	}
}

func TestDoPanicsLikeRun(t *testing.T) {
	value := errors.New("boom")
	e := catch(t, func() {
		_, _ = do(context.Background(), policy.Plain, "close", func(context.Context) error { panic(value) })
	})
	require.True(t, e.panicked)
	assert.Same(t, value, e.value, "Plain: untouched")

	e = catch(t, func() {
		_, _ = do(context.Background(), policy.DeferFlag, "close", func(context.Context) error { panic(value) })
	})
	require.True(t, e.panicked)
	var pe *policy.PanicError
	require.ErrorAs(t, e.value.(error), &pe, "deferred: a *PanicError")
	assert.Same(t, value, pe.Value)
}
