package trigger

import (
	"fmt"
	"runtime/metrics"
	"strings"
	"time"
)

// heapLive is the runtime/metrics sample HeapAbove reads.
const heapLive = "/gc/heap/live:bytes"

// HeapAbove is a [Condition], named "live heap above 512 MiB", that holds when the
// live heap exceeds limit bytes, checked every interval.
//
// It reads runtime/metrics' /gc/heap/live:bytes: the bytes of heap objects the last
// garbage collection found live (0 until the first one). That is what a leak grows,
// and what a burst of garbage does not. It lags by up to one GC cycle, and does not
// count goroutine stacks, runtime overheads or memory outside the Go heap (compare
// /memory/classes/total:bytes, or the container's own limit, for those). A read
// does not stop the world, unlike runtime.ReadMemStats (BenchmarkHeapCheck measures
// both). A limit of 0 is rejected.
func HeapAbove(limit uint64, interval time.Duration) Source {
	name := "live heap above " + formatBytes(limit)
	s := &spec{op: opCondition, name: name, every: interval}
	switch {
	case limit == 0:
		s.bad = fmt.Sprintf("condition %q: limit 0 always holds", name)
		return s
	case !heapLiveSupported():
		s.bad = fmt.Sprintf("condition %q: runtime/metrics has no %s", name, heapLive)
		return s
	}
	s.cond = func() bool { return liveHeap() > limit }
	return s
}

func heapLiveSupported() bool {
	for _, d := range metrics.All() {
		if d.Name == heapLive {
			return d.Kind == metrics.KindUint64
		}
	}
	return false
}

// liveHeap reads the live heap, or 0 if the runtime does not report it.
func liveHeap() uint64 {
	sample := [1]metrics.Sample{{Name: heapLive}}
	metrics.Read(sample[:])
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

// formatBytes prints n in binary units: "512 MiB", "1.5 GiB", "100 B".
func formatBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
	return s + " " + units[i:i+1] + "iB"
}
