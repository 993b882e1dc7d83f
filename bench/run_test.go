package bench

import (
	"flag"
	"slices"
	"testing"
)

// TestBenchmarksRun runs every benchmark of the package once (-benchtime 1x: a
// warm-up round and one measured round), with small sizes, so that CI runs their
// checks (each round verifies that its stops did what they promise) and a
// benchmark that stops working, or stops reporting a figure that bench/report
// reads, fails here instead of rotting. It measures nothing.
func TestBenchmarksRun(t *testing.T) {
	saved := sizes
	sizes = size{children: []int{100}, mids: 4, leaves: 25, messages: 2_000, idle: 200, stopping: 100, kids: 20}
	defer func() { sizes = saved }()
	bt := flag.Lookup("test.benchtime")
	old := bt.Value.String()
	if err := bt.Value.Set("1x"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bt.Value.Set(old) }()

	for _, bc := range []struct {
		name string
		f    func(*testing.B)
		want []string // metrics bench/report reads
	}{
		{"StopCost", BenchmarkStopCost, []string{
			"raw-ns/child", "handwritten-ns/child", "nosteps-ns/child", "plain-ns/child", "mixed-ns/child",
			"mixed-cpu-ns/child", "mixed-allocs/child", "raw-allocs/child", "handwritten-allocs/child",
			"mixed/raw", "mixed/raw-lo", "mixed/raw-hi", "nosteps/raw", "plain/raw", "handwritten/raw",
			"mixed/handwritten", "nosteps/handwritten", "plain/handwritten", "mixed/handwritten-cpu", "mixed/raw-cpu",
		}},
		{"ShutdownTree", BenchmarkShutdownTree, []string{"raw-ms", "handwritten-ms", "mixed-ms", "mixed/raw", "mixed/handwritten"}},
		{"Messages", BenchmarkMessages, []string{
			"stock-msgs/s", "mailbox-msgs/s", "component-msgs/s", "stock-allocs/msg", "mailbox-allocs/msg",
			"component-allocs/msg", "mailbox/stock", "mailbox/stock-lo", "mailbox/stock-hi", "component/stock",
		}},
		{"IdleHeap", BenchmarkIdleHeap, []string{"raw-B/actor", "quiesce-B/actor", "quiesce/raw", "quiesce/raw-hi"}},
		{"CancelLatency", BenchmarkCancelLatency, []string{"ctx-p99-µs", "quiesce-p50-µs", "quiesce-p99-µs", "quiesce-p99-µs-hi", "quiesce/ctx-p99"}},
		{"NoticeLatency", BenchmarkNoticeLatency, []string{"message-µs", "notice-µs", "notice/message"}},
	} {
		t.Run(bc.name, func(t *testing.T) {
			ledger.Lock()
			ledger.on, ledger.metrics, ledger.failures = true, nil, nil
			ledger.Unlock()
			res := testing.Benchmark(bc.f)
			ledger.Lock()
			defer ledger.Unlock()
			ledger.on = false
			for _, f := range ledger.failures {
				t.Errorf("Benchmark%s: %s", bc.name, f)
			}
			if res.N == 0 {
				t.Fatalf("Benchmark%s failed", bc.name)
			}
			for _, m := range bc.want {
				if !slices.Contains(ledger.metrics, m) {
					t.Errorf("Benchmark%s did not report %q (it reported %q)", bc.name, m, ledger.metrics)
				}
			}
		})
	}
}
