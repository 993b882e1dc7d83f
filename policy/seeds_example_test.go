package policy_test

// The seeds' cancel-token ideas, the Go way: context already does most of it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/quiesce/quiesce/policy"
)

// A named token that is triggered, waited for, and checked (seed 003's CancelToken):
// a context cancelled with a cause. The cause names it and says why.
func Example_cancelToken() {
	token, trigger := context.WithCancelCause(context.Background())
	worker := func(ctx context.Context) error {
		for i := 0; ; i++ {
			if err := context.Cause(ctx); err != nil { // raise_if_triggered
				return fmt.Errorf("worker stopped after %d rounds: %w", i, err)
			}
			if i == 3 {
				trigger(errors.New("demo: enough")) // trigger, with a reason
			}
		}
	}
	fmt.Println(worker(token))
	<-token.Done() // wait
	fmt.Println(token.Err() != nil, context.Cause(token))
	// Output:
	// worker stopped after 4 rounds: demo: enough
	// true demo: enough
}

// Chaining (seed 003's chain, seed 004's linked tokens and hierarchies): a context
// derived from another is cancelled when it is, with its cause; cancelling the child
// leaves the parent alone.
func Example_chain() {
	a, cancelA := context.WithCancelCause(context.Background())
	b, cancelB := context.WithCancelCause(a)
	defer cancelB(nil)
	cancelA(errors.New("token-a triggered"))
	fmt.Println("b:", context.Cause(b)) // the reason travels down

	c, cancelC := context.WithCancelCause(context.Background())
	d, cancelD := context.WithCancelCause(c)
	cancelD(errors.New("only d"))
	fmt.Println("c:", c.Err(), "d:", context.Cause(d))
	cancelC(nil)
	// Output:
	// b: token-a triggered
	// c: <nil> d: only d
}

// A cancellable wait with a timeout on an API that knows nothing of tokens (seed
// 003's cancellable_wait): the call runs in a goroutine of its own, the caller waits
// for the first of its result, the timeout and the cancellation.
func Example_cancellableWait() {
	unblock := make(chan struct{})
	thirdParty := func() string { <-unblock; return "late" } // slow, and deaf to ctx
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	result := make(chan string, 1) // buffered: the call may finish after we gave up
	go func() { result <- thirdParty() }()
	defer close(unblock) // the call is still ours to end
	select {
	case r := <-result:
		fmt.Println(r)
	case <-ctx.Done():
		fmt.Println("gave up:", ctx.Err())
	}
	// Output:
	// gave up: context deadline exceeded
}

// Callbacks on cancellation (seed 004's token callbacks): context.AfterFunc.
func Example_callbacks() {
	ctx, cancel := context.WithCancelCause(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	context.AfterFunc(ctx, func() {
		defer wg.Done()
		fmt.Println("cancelled:", context.Cause(ctx))
	})
	cancel(errors.New("timeout reached"))
	wg.Wait()
	// Output:
	// cancelled: timeout reached
}

// Wrapping an operation so that each call checks for cancellation first, as in a
// retry loop (seed 004's wrap): a closure over the ctx.
func Example_wrap() {
	ctx, cancel := context.WithCancelCause(context.Background())
	wrap := func(f func(int) error) func(int) error {
		return func(n int) error {
			if err := context.Cause(ctx); err != nil {
				return err
			}
			return f(n)
		}
	}
	fetch := wrap(func(attempt int) error {
		if attempt == 2 {
			cancel(errors.New("deadline for the batch"))
		}
		return fmt.Errorf("attempt %d failed", attempt)
	})
	for attempt := 1; attempt <= 4; attempt++ {
		fmt.Println(fetch(attempt))
	}
	// Output:
	// attempt 1 failed
	// attempt 2 failed
	// deadline for the batch
	// deadline for the batch
}

// A decorator that gives each call its own timeout (seed 004's @cancelable): a
// function that returns a function, with a policy when cancellation is part of the
// operation's contract.
func Example_decorator() {
	withTimeout := func(d time.Duration, name string, op func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := policy.Do(ctx, policy.Plain, name, op, policy.Timeout(d))
			return err
		}
	}
	slow := withTimeout(10*time.Millisecond, "fetch", func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	err := slow(context.Background())
	fmt.Println(err)
	fmt.Println(errors.Is(err, policy.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// policy: "fetch": canceled at the core: policy: timeout
	// true true
}

// "I was cancelled" or "what I waited for was cancelled" (seed 001): the error's
// origin says which.
func ExampleCancelError() {
	caller, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("client went away"))
	_, mine := policy.Do(caller, policy.Plain, "handle", func(ctx context.Context) error { return ctx.Err() })

	_, theirs := policy.Do(context.Background(), policy.Plain, "handle", func(context.Context) error {
		return fmt.Errorf("upstream: %w", context.Canceled) // something it waited for
	})
	for _, err := range []error{mine, theirs} {
		switch {
		case errors.Is(err, policy.ErrCallerCanceled):
			fmt.Println("I was cancelled:", err)
		case errors.Is(err, policy.ErrCoreCanceled):
			fmt.Println("what I waited for was cancelled:", err)
		}
	}
	// Output:
	// I was cancelled: policy: "handle": canceled by the caller: client went away
	// what I waited for was cancelled: policy: "handle": canceled at the core: upstream: context canceled
}

// Awaiting a cancelled operation properly (seed 002): Run always waits for op, even
// when the caller is cancelled, so nothing it started outlives it.
func Example_awaitCancelled() {
	ctx, cancel := context.WithCancel(context.Background())
	var cleaned bool
	cancelled := make(chan struct{})
	requested, err := policy.Do(ctx, policy.DeferFlag, "cleanup", func(context.Context) error {
		go func() { cancel(); close(cancelled) }() // the caller is cancelled mid-cleanup...
		<-cancelled
		cleaned = true // ...and the cleanup finishes all the same
		return nil
	})
	fmt.Println(requested, err, cleaned)
	// Output:
	// true <nil> true
}

// Inline: the same rules on the caller's own goroutine, for a caller whose
// cancellation requests come by call (an actor stopping).
func ExampleInline() {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var in policy.Inline
	in.Start(policy.DeferReraise, "disconnect", ctx, cancel, nil)
	requested, err := in.Do(func(context.Context) error {
		in.Request(errors.New("second stop")) // as from another goroutine, while it runs
		return nil                            // it finishes all the same
	})
	fmt.Println(requested, err)
	// Output:
	// true policy: "disconnect": finished, then re-raised the caller's cancellation: second stop
}

// The name labels the goroutine that runs op (seed 000's op_name names the task), so
// a goroutine profile shows what each goroutine is doing: go tool pprof -tagfocus
// op=transport-disconnect.
func ExampleRun_label() {
	_, _ = policy.Run(context.Background(), policy.DeferFlag, "transport-disconnect", func(context.Context) (int, error) {
		var profile bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&profile, 1)
		for _, line := range strings.Split(profile.String(), "\n") {
			if strings.Contains(line, "transport-disconnect") {
				fmt.Println(line)
			}
		}
		return 0, nil
	})
	// Output:
	// # labels: {"op":"transport-disconnect"}
}
