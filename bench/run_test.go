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

	// The metrics bench/report reads (its figures.go), each ratio with its spread.
	ratio := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, n, n+"-lo", n+"-hi")
		}
		return out
	}
	var stopCost []string
	for _, k := range []string{"raw", "handwritten", "nosteps", "plain", "mixed"} {
		stopCost = append(stopCost, k+"-ns/child", k+"-cpu-ns/child", k+"-allocs/child")
		if k != "raw" {
			stopCost = append(stopCost, ratio(k+"/raw", k+"/raw-cpu")...)
		}
		if k != "raw" && k != "handwritten" {
			stopCost = append(stopCost, ratio(k+"/handwritten")...)
		}
	}
	stopCost = append(stopCost, ratio("mixed/handwritten-cpu")...)
	for _, bc := range []struct {
		name string
		f    func(*testing.B)
		want []string // metrics bench/report reads
	}{
		{"StopCost", BenchmarkStopCost, stopCost},
		{"ShutdownTree", BenchmarkShutdownTree, append([]string{"raw-ms", "handwritten-ms", "mixed-ms"}, ratio("mixed/raw", "mixed/handwritten")...)},
		{"Messages", BenchmarkMessages, append([]string{
			"stock-msgs/s", "mailbox-msgs/s", "component-msgs/s", "stock-allocs/msg", "mailbox-allocs/msg", "component-allocs/msg",
		}, ratio("mailbox/stock", "component/stock")...)},
		{"IdleHeap", BenchmarkIdleHeap, append([]string{"raw-B/actor", "quiesce-B/actor"}, ratio("quiesce/raw")...)},
		{"CancelLatency", BenchmarkCancelLatency, append([]string{"ctx-p99-µs", "quiesce-p50-µs", "quiesce-p99-µs", "quiesce-p99-µs-lo", "quiesce-p99-µs-hi"},
			ratio("quiesce/ctx-p99")...)},
		{"NoticeLatency", BenchmarkNoticeLatency, append([]string{"message-µs", "notice-µs"}, ratio("notice/message")...)},
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
