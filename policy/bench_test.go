package policy_test

// Costs, measured against baselines in the same run so the figures are ratios:
//
//	go test -run '^$' -bench . -benchmem ./policy
//
// Targets (issue 2): Plain within 5 ns of BenchmarkDirectCall and 0 allocs/op; each
// deferred policy within 1.5x BenchmarkBareHandoff and at most 6 allocs/op. Timings
// are only reported; TestAllocations asserts the allocation counts, which are
// deterministic.

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/quiesce/quiesce/policy"
)

// benchOp is the operation every benchmark runs: as cheap as an op can be, so
// what is measured is the wrapper around it.
var benchOp = func(context.Context) (int, error) { return 1, nil }

var sink int

// benchCtx is a caller's ctx that can be cancelled, as a real caller's would be.
func benchCtx(b testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	return ctx
}

// BenchmarkDirectCall is the baseline for Plain: op called through a func value.
func BenchmarkDirectCall(b *testing.B) {
	ctx, op := benchCtx(b), benchOp
	b.ReportAllocs()
	for b.Loop() {
		v, err := op(ctx)
		if err != nil {
			b.Fatal(err)
		}
		sink += v
	}
}

func BenchmarkPlain(b *testing.B) {
	ctx := benchCtx(b)
	b.ReportAllocs()
	for b.Loop() {
		out, err := policy.Run(ctx, policy.Plain, "bench", benchOp)
		if err != nil {
			b.Fatal(err)
		}
		sink += out.Value
	}
}

// BenchmarkBareHandoff is the baseline for the deferred policies: the least a
// goroutine handoff can do, a go statement, a buffered channel and a select on the
// caller's ctx.
func BenchmarkBareHandoff(b *testing.B) {
	ctx, op := benchCtx(b), benchOp
	b.ReportAllocs()
	for b.Loop() {
		done := make(chan int, 1)
		go func() {
			v, _ := op(ctx)
			done <- v
		}()
		select {
		case v := <-done:
			sink += v
		case <-ctx.Done():
			sink += <-done
		}
	}
}

func BenchmarkDeferFlag(b *testing.B) { benchDeferred(b, policy.DeferFlag) }

func BenchmarkDeferReraise(b *testing.B) { benchDeferred(b, policy.DeferReraise) }

func benchDeferred(b *testing.B, p policy.Policy) {
	ctx := benchCtx(b)
	b.ReportAllocs()
	for b.Loop() {
		out, err := policy.Run(ctx, p, "bench", benchOp)
		if err != nil {
			b.Fatal(err)
		}
		sink += out.Value
	}
}

// TestAllocations holds the allocation targets of the benchmarks above.
func TestAllocations(t *testing.T) {
	ctx := benchCtx(t)
	for _, tc := range []struct {
		p   policy.Policy
		max float64
	}{
		{policy.Plain, 0},
		{policy.DeferFlag, 6},
		{policy.DeferReraise, 6},
	} {
		t.Run(tc.p.String(), func(t *testing.T) {
			allocs := testing.AllocsPerRun(200, func() {
				out, err := policy.Run(ctx, tc.p, "bench", benchOp)
				if err != nil {
					panic(err)
				}
				sink += out.Value
			})
			t.Logf("%v: %v allocs/op", tc.p, allocs)
			assert.LessOrEqual(t, allocs, tc.max)
		})
	}
	t.Run("do plain", func(t *testing.T) {
		op := func(context.Context) error { return nil }
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := policy.Do(ctx, policy.Plain, "bench", op); err != nil {
				panic(err)
			}
		})
		assert.Zero(t, allocs, "Do under Plain costs no allocation either")
	})
}
