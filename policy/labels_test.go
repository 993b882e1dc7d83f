package policy_test

// The name row: a deferred op's goroutine carries the pprof label op=name, so it
// shows in goroutine profiles; nothing else is labelled.

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

func TestDeferredOpsGoroutineIsLabelledWithItsName(t *testing.T) {
	for _, p := range deferred {
		for _, tc := range []struct{ name, label string }{
			{"transport-disconnect", "transport-disconnect"},
			{"", "unknown"},
		} {
			t.Run(fmt.Sprintf("%v/%q", p, tc.name), func(t *testing.T) {
				started, release := make(chan struct{}), make(chan struct{})
				res := start(context.Background(), p, tc.name, func(context.Context) (int, error) {
					park(started, release)
					return 0, nil
				})
				recv(t, started, "op to start")
				op := goroutineRecord(t, "policy_test.park")
				assert.Contains(t, op, "# labels: {"+opLabel(tc.label)+"}")
				if !inline {
					caller := goroutineRecord(t, "policy.runDeferred")
					assert.NotContains(t, caller, "# labels", "the caller's goroutine is not labelled")
				} // Inline: op's goroutine is the caller's, labelled while op runs
				close(release)
				require.NoError(t, recv(t, res, "Run to return").err)
			})
		}
	}
}

func TestPlainLabelsNothing(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	res := start(context.Background(), policy.Plain, "fetch", func(context.Context) (int, error) {
		park(started, release)
		return 0, nil
	})
	recv(t, started, "op to start")
	if inline {
		assert.Contains(t, goroutineRecord(t, "policy_test.park"), "# labels: {"+opLabel("fetch")+"}",
			"Inline labels the caller's goroutine while op runs, under every policy")
	} else {
		assert.NotContains(t, goroutineRecord(t, "policy_test.park"), "# labels", "Plain starts no goroutine to label")
	}
	close(release)
	require.NoError(t, recv(t, res, "Run to return").err)
}

// TestTheCallersLabelIsRemovedOnceOpReturns: a goroutine that ran op in its own frame
// (Plain, or anything Inline) does not stay labelled with op's name.
func TestTheCallersLabelIsRemovedOnceOpReturns(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			started, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				_, err := run(context.Background(), p, "flush", func(context.Context) (int, error) { return 0, nil })
				park(started, release) // after op returned
				done <- err            // after park returned, so the next case finds no stale park frame
			}()
			recv(t, started, "op to return and the goroutine to park")
			assert.NotContains(t, goroutineRecord(t, "policy_test.park"), "# labels")
			close(release)
			require.NoError(t, recv(t, done, "run to return"))
		})
	}
}

func TestNameIsUsedInErrors(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			_, err := run(context.Background(), p, "transport-cleanup", func(context.Context) (int, error) {
				return 0, context.Canceled
			})
			var ce *policy.CancelError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "transport-cleanup", ce.Op)
			assert.Contains(t, err.Error(), `"transport-cleanup"`)

			_, err = run(context.Background(), p, "", func(context.Context) (int, error) {
				return 0, context.Canceled
			})
			assert.Contains(t, err.Error(), `"unknown"`, "an empty name reads unknown")
		})
	}
}

// TestNamesPastTheLabelCacheAreLabelledToo: the package caches label sets for the
// first names it sees; a name beyond the cache must still be labelled right.
func TestNamesPastTheLabelCacheAreLabelledToo(t *testing.T) {
	const names = 1100 // more than the cache holds
	for i := range names {
		_, err := run(context.Background(), policy.DeferFlag, fmt.Sprintf("op-%d", i), func(context.Context) (int, error) {
			return 0, nil
		})
		require.NoError(t, err)
	}
	for _, name := range []string{"op-0", fmt.Sprintf("op-%d", names-1), "a-name-never-seen"} {
		started, release := make(chan struct{}), make(chan struct{})
		res := start(context.Background(), policy.DeferFlag, name, func(context.Context) (int, error) {
			park(started, release)
			return 0, nil
		})
		recv(t, started, "op to start")
		assert.Contains(t, goroutineRecord(t, "policy_test.park"), "# labels: {"+opLabel(name)+"}")
		close(release)
		require.NoError(t, recv(t, res, "Run to return").err)
	}
}

// park signals started, then blocks until release, in a named frame the tests find
// in goroutine profiles.
//
//go:noinline
func park(started chan<- struct{}, release <-chan struct{}) {
	close(started)
	<-release
}

// A label func that panics (Inline.Start takes one from its caller) leaves nothing
// behind: the run is over, and its Abort lever and Timeout are undone, so that
// neither reaches the caller's ctx afterwards.
func TestAPanickingLabelFuncLeavesNothingBehind(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(context.Background())
				lever, pullLever := context.WithCancelCause(context.Background())
				var i policy.Inline
				i.Start(p, "flush", ctx, cancel, func(string) func() { panic("label") },
					policy.Abort(lever), policy.Timeout(time.Second))
				ran := false
				assert.Panics(t, func() {
					_, _ = i.Do(func(context.Context) error { ran = true; return nil })
				})
				assert.False(t, ran, "op does not run when its label cannot be set")
				pullLever(errors.New("too late"))
				i.Request(errors.New("too late too"))
				time.Sleep(2 * time.Second) // past the Timeout, in the bubble's fake time
				synctest.Wait()
				assert.NoError(t, ctx.Err(), "the run is over: no lever, request or timer reaches the caller's ctx")
			})
		})
	}
}
