package policy_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/quiesce/quiesce/policy"
)

// TestMain runs the contract tests twice, once through Run and once through Inline,
// driven as an actor drives it: the caller's cancellation arrives as a Request call.
// The two share one set of outcome rules, and both must keep every promise but
// where op runs (Inline: on the caller's goroutine, under every policy). It fails the
// package if any test leaves a goroutine behind: neither may let op's goroutine
// outlive it.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		inline = true
		fmt.Println("policy: the contract tests again, through Inline")
		code = m.Run()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// inline is set while the tests run through Inline.
var inline bool

// run is policy.Run, or, while inline is set, the same call through Inline.
func run[T any](ctx context.Context, p policy.Policy, name string, op func(context.Context) (T, error), opts ...policy.Option) (policy.Outcome[T], error) {
	if !inline {
		return policy.Run(ctx, p, name, op, opts...)
	}
	var out policy.Outcome[T]
	var err error
	viaInline(ctx, p, name, opts, func(i *policy.Inline, seen func()) {
		var wrapped func(context.Context) (T, error)
		if op != nil {
			wrapped = func(c context.Context) (T, error) { defer seen(); return op(c) }
		}
		out, err = policy.RunInline(i, wrapped)
	})
	return out, err
}

// do is policy.Do, or, while inline is set, the same call through Inline.
func do(ctx context.Context, p policy.Policy, name string, op func(context.Context) error, opts ...policy.Option) (bool, error) {
	if !inline {
		return policy.Do(ctx, p, name, op, opts...)
	}
	var requested bool
	var err error
	viaInline(ctx, p, name, opts, func(i *policy.Inline, seen func()) {
		var wrapped func(context.Context) error
		if op != nil {
			wrapped = func(c context.Context) error { defer seen(); return op(c) }
		}
		requested, err = i.Do(wrapped)
	})
	return requested, err
}

// viaInline starts an Inline whose op's ctx keeps ctx's values and turns ctx's
// cancellation into one Request: at once if ctx is done already, as it happens while
// op runs, and at the latest as op returns (seen), since Run reads the caller's ctx
// once op has returned.
func viaInline(ctx context.Context, p policy.Policy, name string, opts []policy.Option, call func(i *policy.Inline, seen func())) {
	var in policy.Inline
	own, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	in.Start(p, name, own, cancel, nil, opts...)
	var once sync.Once
	request := func() { once.Do(func() { in.Request(context.Cause(ctx)) }) }
	seen := func() {
		if ctx.Err() != nil {
			request()
		}
	}
	seen()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		request()
		close(fired)
	})
	defer func() {
		if !stop() {
			<-fired
		}
	}()
	call(&in, seen)
}
