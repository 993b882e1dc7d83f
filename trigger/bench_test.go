package trigger_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/quiesce/quiesce/trigger"
)

// BenchmarkHeapCheck measures one read of what HeapAbove polls, against
// runtime.ReadMemStats, which stops the world, as the baseline.
func BenchmarkHeapCheck(b *testing.B) {
	b.Run("metrics", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := [1]metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			metrics.Read(s[:])
		}
	})
	b.Run("ReadMemStats", func(b *testing.B) {
		b.ReportAllocs()
		var ms runtime.MemStats
		for b.Loop() {
			runtime.ReadMemStats(&ms)
		}
	})
}

// BenchmarkWatchStop measures what a watch costs to start and stop: the seed's
// nested source without its signal (four leaves: five goroutines started and waited for).
func BenchmarkWatchStop(b *testing.B) {
	never := func() bool { return false }
	src := trigger.AnyOf(
		trigger.AnyOf(trigger.After(5*time.Minute), trigger.Context(context.Background())),
		trigger.AllOf(trigger.After(time.Minute), trigger.Condition("1000 items done", time.Second, never)),
	)
	b.ReportAllocs()
	for b.Loop() {
		w, err := trigger.Watch(context.Background(), src)
		if err != nil {
			b.Fatal(err)
		}
		w.Stop()
	}
}
