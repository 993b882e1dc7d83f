package trigger_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/trigger"
)

// bound is how long a test waits, in real time, for what it does not control: a
// signal's delivery, a child process. Tests under synctest never need it.
const bound = 10 * time.Second

// Causes the tests cancel manual sources with. None wraps context.Canceled, so a
// match proves the cause itself travelled.
var (
	errDeploy = errors.New("deploy v2")
	errForce  = errors.New("operator forced")
	errSystem = errors.New("system stopped")
)

// watch starts watching src under ctx, and stops the watcher when the test ends.
func watch(t *testing.T, ctx context.Context, src trigger.Source) *trigger.Watcher {
	t.Helper()
	w, err := trigger.Watch(ctx, src)
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	return w
}

// waitDone waits, at most bound in real time, for ctx to be done, and fails saying
// what it waited for.
func waitDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
		t.Fatalf("waited %v for %s", bound, what)
	}
}

// done reports whether ctx is done.
func done(ctx context.Context) bool { return ctx.Err() != nil }

// manual returns a manual source and the function that fires it with cause.
func manual() (trigger.Source, func(cause error)) {
	ctx, cancel := context.WithCancelCause(context.Background())
	return trigger.Context(ctx), cancel
}

// counter is a condition that holds from the moment `from` on (virtual time under
// synctest), and counts its calls.
type counter struct {
	from time.Time
	n    atomic.Int64
}

func (c *counter) cond() bool {
	c.n.Add(1)
	return !c.from.IsZero() && !time.Now().Before(c.from)
}

// calls is how many times cond has been called.
func (c *counter) calls() int { return int(c.n.Load()) }
