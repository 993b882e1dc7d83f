package policy_test

// Helpers shared by the tests: where a goroutine is, how it ended, and what the
// goroutine profile says about it.

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/policy"
)

// policies lists the three policies, for tests that hold under every one.
var policies = []policy.Policy{policy.Plain, policy.DeferFlag, policy.DeferReraise}

// deferred lists the two policies that let op finish.
var deferred = []policy.Policy{policy.DeferFlag, policy.DeferReraise}

// ctxKey carries a value through op's ctx.
type ctxKey struct{}

// errOp is a plain error an op returns: not a cancellation.
var errOp = errors.New("transport: connection reset")

// goid returns the id of the calling goroutine, read from its own stack header
// ("goroutine 42 [running]:"). Tests use it to tell goroutines apart.
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	field := strings.Fields(string(buf[:n]))[1]
	id, err := strconv.ParseUint(field, 10, 64)
	if err != nil {
		panic("goid: cannot parse stack header: " + string(buf[:n]))
	}
	return id
}

// ended says how a goroutine that called Run ended.
type ended struct {
	returned bool // the function returned normally
	panicked bool // it panicked; value is what recover saw
	value    any
	goexit   bool // it called (or inherited) runtime.Goexit
	gid      uint64
}

// catch runs f in a new goroutine, the "caller", and reports how that goroutine ended.
// A panic recovered here was raised in the caller's goroutine, not elsewhere.
func catch(t testing.TB, f func()) ended {
	t.Helper()
	ch := make(chan ended, 1)
	go func() {
		e := ended{gid: goid()}
		defer func() {
			if !e.returned {
				if v := recover(); v != nil {
					e.panicked, e.value = true, v
				} else {
					e.goexit = true
				}
			}
			ch <- e
		}()
		f()
		e.returned = true
	}()
	return recv(t, ch, "the caller's goroutine to end")
}

// result is what a Run started by [start] returned.
type result[T any] struct {
	out policy.Outcome[T]
	err error
}

// start calls Run in a new goroutine and hands its result back on a channel, so a
// test can cancel the caller's ctx while op runs.
func start[T any](ctx context.Context, p policy.Policy, name string, op func(context.Context) (T, error), opts ...policy.Option) chan result[T] {
	ch := make(chan result[T], 1)
	go func() {
		out, err := run(ctx, p, name, op, opts...)
		ch <- result[T]{out, err}
	}()
	return ch
}

// ready reports whether Run has returned, without waiting for it. Inside a
// synctest bubble, after synctest.Wait, "not ready" means Run is blocked.
func ready[T any](ch chan result[T]) bool {
	select {
	case r := <-ch:
		ch <- r // put it back for the test to read
		return true
	default:
		return false
	}
}

// goroutineRecord returns the debug=1 goroutine profile record whose stack shows
// fn. Records are separated by a blank line; labels appear as `# labels: {...}`.
func goroutineRecord(t *testing.T, fn string) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
	var found []string
	for _, rec := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(rec, fn) {
			found = append(found, rec)
		}
	}
	require.Len(t, found, 1, "want exactly one goroutine in %s", fn)
	return found[0]
}

// opLabel is how a debug=1 goroutine profile prints the label op=name.
func opLabel(name string) string { return `"op":"` + name + `"` }
