package policy_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quiesce/quiesce/policy"
)

// A plain call is a direct call: op gets the caller's ctx, and a cancellation
// interrupts it as the caller's own.
func ExampleRun_plain() {
	fetch := func(ctx context.Context) (string, error) {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		return "200 OK", nil
	}

	out, err := policy.Run(context.Background(), policy.Plain, "fetch", fetch)
	fmt.Println(out.Value, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = policy.Run(ctx, policy.Plain, "fetch", fetch)
	fmt.Println(err)
	fmt.Println("I was cancelled:", errors.Is(err, policy.ErrCallerCanceled))
	// Output:
	// 200 OK <nil>
	// policy: "fetch": canceled by the caller: context canceled
	// I was cancelled: true
}

// A disconnect must say goodbye even when the caller gives up half-way. DeferFlag
// lets it finish and reports that cancellation was asked for.
func ExampleRun_deferFlag() {
	ctx, cancel := context.WithCancel(context.Background())
	started, cancelled := make(chan struct{}), make(chan struct{})
	go func() { // the caller gives up once the disconnect has started
		<-started
		cancel()
		close(cancelled)
	}()

	disconnect := func(ctx context.Context) (string, error) {
		close(started)
		<-cancelled
		fmt.Println("caller cancelled; disconnect goes on:", ctx.Err() == nil)
		return "goodbye sent", nil
	}

	out, err := policy.Run(ctx, policy.DeferFlag, "disconnect", disconnect)
	fmt.Println(out.Value)
	fmt.Println("cancel requested:", out.CancelRequested, "err:", err)
	// Output:
	// caller cancelled; disconnect goes on: true
	// goodbye sent
	// cancel requested: true err: <nil>
}

// A cleanup must finish, and the caller must still learn it was cancelled.
// DeferReraise lets it finish, then raises the caller's cancellation again.
func ExampleRun_deferReraise() {
	ctx, cancel := context.WithCancelCause(context.Background())
	started, cancelled := make(chan struct{}), make(chan struct{})
	go func() {
		<-started
		cancel(errors.New("shutting down"))
		close(cancelled)
	}()

	cleanup := func(ctx context.Context) (int, error) {
		close(started)
		<-cancelled
		return 3, nil // removed 3 temp files, undisturbed
	}

	out, err := policy.Run(ctx, policy.DeferReraise, "cleanup", cleanup)
	fmt.Println("removed:", out.Value)
	fmt.Println(err)

	var ce *policy.CancelError
	if errors.As(err, &ce) {
		fmt.Println("caller's:", errors.Is(err, policy.ErrCallerCanceled), "deferred:", ce.Deferred)
		fmt.Println("still a context.Canceled:", errors.Is(err, context.Canceled))
	}
	// Output:
	// removed: 3
	// policy: "cleanup": finished, then re-raised the caller's cancellation: shutting down
	// caller's: true deferred: true
	// still a context.Canceled: true
}

// A Timeout is op's own budget: when it runs out, the cancellation is a core one,
// whatever the policy.
func ExampleTimeout() {
	drain := func(ctx context.Context) (int, error) {
		<-ctx.Done() // the queue never empties
		return 0, ctx.Err()
	}
	_, err := policy.Run(context.Background(), policy.DeferFlag, "drain", drain, policy.Timeout(10*time.Millisecond))
	fmt.Println(err)
	fmt.Println(errors.Is(err, policy.ErrCoreCanceled), errors.Is(err, policy.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// policy: "drain": canceled at the core: policy: timeout
	// true true true
}

// Policies read from configuration as text.
func ExamplePolicy_UnmarshalText() {
	var p policy.Policy
	if err := p.UnmarshalText([]byte("defer-reraise")); err == nil {
		fmt.Println(p, p.Deferred())
	}
	err := p.UnmarshalText([]byte("shield"))
	fmt.Println(err)
	fmt.Println(errors.Is(err, policy.ErrUnknownPolicy))
	// Output:
	// defer-reraise true
	// policy: unknown policy "shield" (valid: plain, defer-flag, defer-reraise)
	// true
}

// Do is Run for an op that returns only an error.
func ExampleDo() {
	ctx, cancel := context.WithCancel(context.Background())
	requested, err := policy.Do(ctx, policy.DeferFlag, "close", func(context.Context) error {
		cancel() // the caller gives up while the transport closes
		return nil
	})
	fmt.Println(requested, err)
	// Output:
	// true <nil>
}
