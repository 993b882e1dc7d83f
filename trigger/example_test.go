package trigger_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/trigger"
)

// wait waits for ctx, or gives up after a bound, so that a broken example fails
// instead of hanging.
func wait(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-time.After(bound):
		fmt.Println("gave up waiting")
		return false
	}
}

// Watch a manual source: any code holding cancel starts the stop, with a reason,
// and the Fired becomes the cause of a lifecycle.Reason.
func ExampleWatch() {
	ctx, cancel := context.WithCancelCause(context.Background())
	w, err := trigger.Watch(context.Background(), trigger.Context(ctx))
	if err != nil {
		panic(err)
	}
	defer w.Stop()

	cancel(errors.New("deploy v2"))
	<-w.Context().Done()
	fmt.Println(lifecycle.NewReason(lifecycle.Shutdown, w.Cause()))
	fmt.Println(context.Cause(w.Context()) == w.Cause())
	// Output:
	// shutdown: manual: deploy v2
	// true
}

// A Watcher's two contexts: graceful, then force. Stop ends what has not fired.
func ExampleWatcher() {
	graceful, drain := context.WithCancelCause(context.Background())
	w, err := trigger.Watch(context.Background(), trigger.Context(graceful))
	if err != nil {
		panic(err)
	}
	drain(errors.New("drain"))
	<-w.Context().Done()
	w.Stop()
	fmt.Println("graceful:", context.Cause(w.Context()))
	fmt.Println("force:", context.Cause(w.ForceContext()))
	// Output:
	// graceful: manual: drain
	// force: trigger: watcher stopped
}

// The seed's example: (hard timeout OR SIGTERM) OR (at least 60 s AND 1000 items
// done). Here the process started long ago, so the minimum run time has passed,
// and the stop starts when the last item is done.
func ExampleAnyOf() {
	var itemsDone atomic.Int64
	started := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	src := trigger.AnyOf(
		trigger.AnyOf(trigger.After(5*time.Minute), trigger.Signal(syscall.SIGTERM)),
		trigger.AllOf(
			trigger.At(started.Add(60*time.Second)),
			trigger.Condition("1000 items done", time.Millisecond, func() bool { return itemsDone.Load() >= 1000 }),
		),
	)
	fmt.Println(src)

	w, err := trigger.Watch(context.Background(), src)
	if err != nil {
		panic(err)
	}
	defer w.Stop()
	itemsDone.Store(1000)
	if wait(w.Context()) {
		fmt.Println(w.Cause())
	}
	// Output:
	// any of (any of (timeout after 5m0s, signal SIGTERM), all of (timeout at 2024-05-01T12:01:00Z, condition 1000 items done (every 1ms)))
	// all of (timeout at 2024-05-01T12:01:00Z, condition 1000 items done)
}

// An AllOf fires when its last part does, and reports every part.
func ExampleAllOf() {
	a, fireA := context.WithCancelCause(context.Background())
	b, fireB := context.WithCancelCause(context.Background())
	w, err := trigger.Watch(context.Background(), trigger.AllOf(trigger.Context(a), trigger.Context(b)))
	if err != nil {
		panic(err)
	}
	defer w.Stop()
	fireB(errors.New("queue empty"))
	fireA(errors.New("leader moved"))
	if wait(w.Context()) {
		for _, p := range w.Cause().Parts {
			fmt.Println(p)
		}
	}
	// Output:
	// manual: leader moved
	// manual: queue empty
}

// Escalate with two manual parts: a switch that drains first and forces later.
func ExampleEscalate() {
	drainCtx, drain := context.WithCancelCause(context.Background())
	forceCtx, force := context.WithCancelCause(context.Background())
	w, err := trigger.Watch(context.Background(), trigger.Escalate(trigger.Context(drainCtx), trigger.Context(forceCtx)))
	if err != nil {
		panic(err)
	}
	defer w.Stop()

	drain(errors.New("deploy v2"))
	<-w.Context().Done()
	fmt.Println("drain:", w.Cause())
	force(errors.New("drain too slow"))
	<-w.ForceContext().Done()
	fmt.Println("force:", w.ForceCause(), w.ForceCause().Escalation)
	// Output:
	// drain: manual: deploy v2
	// force: manual: drain too slow true
}

func ExampleAfter() {
	w, err := trigger.Watch(context.Background(), trigger.After(10*time.Millisecond))
	if err != nil {
		panic(err)
	}
	defer w.Stop()
	if wait(w.Context()) {
		fmt.Println(w.Cause())
	}
	// Output: timeout after 10ms
}

// A condition is polled at once, then every interval, until it holds.
func ExampleCondition() {
	var inFlight atomic.Int64
	inFlight.Store(3)
	idle := trigger.Condition("no request in flight", time.Millisecond, func() bool { return inFlight.Load() == 0 })
	w, err := trigger.Watch(context.Background(), idle)
	if err != nil {
		panic(err)
	}
	defer w.Stop()
	inFlight.Store(0)
	if wait(w.Context()) {
		fmt.Println(w.Cause())
	}
	// Output: condition no request in flight
}

func ExampleHeapAbove() {
	fmt.Println(trigger.HeapAbove(1536<<20, 5*time.Second))
	// Output: condition live heap above 1.5 GiB (every 5s)
}

// Bad input is an error that names each bad part, a line each; nothing starts.
func ExampleErrInvalid() {
	_, err := trigger.Watch(context.Background(), trigger.AnyOf(
		trigger.After(time.Minute),
		trigger.Condition("memory above 90%", 0, func() bool { return false }),
		trigger.Signal(),
	))
	fmt.Println(err)
	fmt.Println(errors.Is(err, trigger.ErrInvalid))
	// Output:
	// trigger: invalid source: any of, part 2: condition "memory above 90%": interval 0s is not positive
	// trigger: invalid source: any of, part 3: signal: no signals given
	// true
}

// A Fired is an error: errors.Is and errors.As reach the manual cause, even through
// an AllOf and a lifecycle.Reason.
func ExampleFired() {
	errDeploy := errors.New("deploy v2")
	fired := &trigger.Fired{Kind: trigger.KindAllOf, Parts: []*trigger.Fired{
		{Kind: trigger.KindTimeout, After: time.Minute},
		{Kind: trigger.KindManual, Cause: errDeploy},
	}}
	reason := lifecycle.NewReason(lifecycle.Shutdown, fired)
	fmt.Println(reason)
	fmt.Println(errors.Is(reason, errDeploy))
	var f *trigger.Fired
	if errors.As(reason, &f) {
		fmt.Println(f.Kind, len(f.Parts))
	}
	// Output:
	// shutdown: all of (timeout after 1m0s, manual: deploy v2)
	// true
	// all of 2
}

func ExampleKind() {
	text, _ := trigger.KindCondition.MarshalText()
	var k trigger.Kind
	err := k.UnmarshalText([]byte("timeout"))
	fmt.Println(string(text), k, err)
	// Output: condition timeout <nil>
}
