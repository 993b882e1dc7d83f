package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// lookup reads results, and remembers what it did not find: a benchmark and the
// report out of step must fail the report, not print a zero.
type lookup struct {
	res     results
	missing []string
}

func (l *lookup) has(bench string) bool { return l.res[bench] != nil }

func (l *lookup) get(bench, unit string) float64 {
	v, ok := l.res[bench][unit]
	if !ok {
		l.missing = append(l.missing, bench+" "+unit)
		return math.NaN()
	}
	return v
}

// ratio is a ratio taken within each round: its median and spread.
type ratio struct{ med, lo, hi float64 }

func (l *lookup) ratio(bench, name string) ratio {
	return ratio{l.get(bench, name), l.get(bench, name+"-lo"), l.get(bench, name+"-hi")}
}

func (r ratio) String() string { return fmt.Sprintf("%.2fx (%.2f–%.2f)", r.med, r.lo, r.hi) }

// wallCPU shows a stop's wall-time ratio, which is judged, and its CPU-time ratio.
func wallCPU(wall, cpu ratio) string { return "wall " + wall.String() + "<br>CPU " + cpu.String() }

// cpuNote says when the CPU-time ratio would have judged otherwise than the wall
// time's: on a loaded host, wall time counts the waits for a core too.
func cpuNote(wall, cpu bool) string {
	if wall == cpu {
		return ""
	}
	if cpu {
		return " (CPU: met)"
	}
	return " (CPU: missed)"
}

// A row is one figure of the table: what, Quiesce's value, its baseline's, the
// ratio, the target and whether it was met.
type row struct {
	figure, subject, baseline, ratio, target, verdict string
}

// verdict says whether a figure met its target.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**missed**"
}

const (
	noTarget = "—"
	notRun   = "not run"
)

// childN names a StopCost size.
func childN(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}

func stopBench(n int) string { return fmt.Sprintf("StopCost/N=%d", n) }

// ns formats nanoseconds for a person.
func ns(v float64) string {
	switch {
	case math.IsNaN(v):
		return "?"
	case v >= 1e6:
		return fmt.Sprintf("%.1f ms", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2f µs", v/1e3)
	}
	return fmt.Sprintf("%.1f ns", v)
}

// targets are the rows of the targets, in its order.
func targets(l *lookup, ns1 []int, with1M bool) []row {
	var rows []row
	have := func(n int) bool { return l.has(stopBench(n)) }
	// 1. Against the hand-written peer, at 10k and 100k children.
	for _, n := range ns1 {
		if !have(n) {
			continue
		}
		b := stopBench(n)
		r, c := l.ratio(b, "mixed/handwritten"), l.ratio(b, "mixed/handwritten-cpu")
		t, v := "≤ 1.0x", verdict(r.med <= 1.0)+cpuNote(r.med <= 1.0, c.med <= 1.0)
		if n != 10_000 && n != 100_000 {
			t, v = noTarget, ""
		}
		rows = append(rows, row{
			fmt.Sprintf("1. 3-step stop vs the hand-written peer, %s children (per child)", childN(n)),
			ns(l.get(b, "mixed-ns/child")), ns(l.get(b, "handwritten-ns/child")), wallCPU(r, c), t, v,
		})
	}
	// 2. Against raw protoactor, with three steps and without.
	for _, k := range []struct{ kind, what, target string }{
		{"mixed", "3-step stop", "2.0"},
		{"nosteps", "stop without steps", "1.5"},
	} {
		for _, n := range ns1 {
			if !have(n) {
				continue
			}
			b := stopBench(n)
			r, c := l.ratio(b, k.kind+"/raw"), l.ratio(b, k.kind+"/raw-cpu")
			lim := map[string]float64{"2.0": 2.0, "1.5": 1.5}[k.target]
			rows = append(rows, row{
				fmt.Sprintf("2. %s vs raw `StopFuture`, %s children (per child)", k.what, childN(n)),
				ns(l.get(b, k.kind+"-ns/child")), ns(l.get(b, "raw-ns/child")), wallCPU(r, c),
				"≤ " + k.target + "x", verdict(r.med <= lim) + cpuNote(r.med <= lim, c.med <= lim),
			})
		}
	}
	// 3. Allocations per child.
	for _, n := range ns1 {
		if !have(n) {
			continue
		}
		b := stopBench(n)
		a := l.get(b, "mixed-allocs/child")
		rows = append(rows, row{
			fmt.Sprintf("3. allocations per child, 3-step stop, %s children", childN(n)),
			fmt.Sprintf("%.1f", a), fmt.Sprintf("raw %.1f, hand-written %.1f", l.get(b, "raw-allocs/child"), l.get(b, "handwritten-allocs/child")),
			"", "≤ 12", verdict(a <= 12),
		})
	}
	// 4. Flat per child: each N against 10k. The one figure not taken within a round:
	// each N runs in a go test of its own (a fresh heap), so it is a ratio of the two
	// runs' medians, and says so.
	if have(10_000) {
		base := l.get(stopBench(10_000), "mixed-ns/child")
		rawBase := l.get(stopBench(10_000), "raw-ns/child")
		for _, n := range ns1 {
			if n == 10_000 || !have(n) {
				continue
			}
			v := l.get(stopBench(n), "mixed-ns/child")
			t, verd := noTarget, ""
			if n == 1_000_000 {
				t, verd = "≤ 1.3x", verdict(v/base <= 1.3)
			}
			rows = append(rows, row{
				fmt.Sprintf("4. 3-step stop per child, %s vs 10k children (raw: %.2fx)", childN(n), l.get(stopBench(n), "raw-ns/child")/rawBase),
				ns(v), ns(base), fmt.Sprintf("%.2fx, of the medians of two runs", v/base), t, verd,
			})
		}
		if !with1M {
			rows = append(rows, row{"4. 3-step stop per child, 1M vs 10k children", "", "", "", "≤ 1.3x", notRun + " (`-1m`)"})
		}
	}
	// 5. No regression.
	if l.has("Messages") {
		for _, k := range []string{"mailbox", "component"} {
			r := l.ratio("Messages", k+"/stock")
			rows = append(rows, row{
				fmt.Sprintf("5. Running-phase messages per second, %s vs protoactor's default mailbox", map[string]string{"mailbox": "bare Quiesce mailbox", "component": "`Component`"}[k]),
				fmt.Sprintf("%.2f M/s", l.get("Messages", k+"-msgs/s")/1e6), fmt.Sprintf("%.2f M/s", l.get("Messages", "stock-msgs/s")/1e6),
				r.String(), "≥ 1.0x", verdict(r.med >= 1.0),
			})
			a, s := l.get("Messages", k+"-allocs/msg"), l.get("Messages", "stock-allocs/msg")
			rows = append(rows, row{
				fmt.Sprintf("5. allocations per message, %s", k), fmt.Sprintf("%.4f", a), fmt.Sprintf("%.4f", s), "", "≤ stock", verdict(a <= s),
			})
		}
	}
	if l.has("IdleHeap") {
		r := l.ratio("IdleHeap", "quiesce/raw")
		rows = append(rows, row{
			"5. idle heap per actor, component with a 3-step plan vs a raw actor",
			fmt.Sprintf("%.0f B", l.get("IdleHeap", "quiesce-B/actor")), fmt.Sprintf("%.0f B", l.get("IdleHeap", "raw-B/actor")),
			r.String(), "≤ 1.0x", verdict(r.med <= 1.0),
		})
	}
	if l.has("CancelLatency") {
		p99 := l.get("CancelLatency", "quiesce-p99-µs")
		rows = append(rows, row{
			"5. cancel request to the step's `ctx.Done()`, p99, 10k actors stopping",
			fmt.Sprintf("%.1f µs (rounds: %.1f–%.1f)", p99, l.get("CancelLatency", "quiesce-p99-µs-lo"), l.get("CancelLatency", "quiesce-p99-µs-hi")),
			fmt.Sprintf("bare context %.1f µs", l.get("CancelLatency", "ctx-p99-µs")),
			l.ratio("CancelLatency", "quiesce/ctx-p99").String(), "< 1 ms", verdict(p99 < 1000),
		})
	}
	if l.has("Policy") {
		d := l.ratio("Policy", "plain-direct-ns")
		rows = append(rows, row{
			"5. `policy`: Plain vs a direct call (ns added)",
			ns(l.get("Policy", "plain-ns/op")), ns(l.get("Policy", "direct-ns/op")),
			fmt.Sprintf("%+.1f ns (%+.1f–%+.1f)", d.med, d.lo, d.hi), "≤ +5 ns", verdict(d.med <= 5),
		})
		a := l.get("Policy", "plain-allocs/op")
		rows = append(rows, row{"5. `policy`: Plain, allocations per op", fmt.Sprintf("%.0f", a), "", "", "0", verdict(a == 0)})
		for _, k := range []string{"deferflag", "deferreraise"} {
			name := map[string]string{"deferflag": "DeferFlag", "deferreraise": "DeferReraise"}[k]
			r := l.ratio("Policy", k+"/handoff")
			a := l.get("Policy", k+"-allocs/op")
			rows = append(rows, row{
				fmt.Sprintf("5. `policy`: %s vs a bare goroutine handoff", name),
				fmt.Sprintf("%s, %.0f allocs", ns(l.get("Policy", k+"-ns/op")), a),
				fmt.Sprintf("%s, %.0f allocs", ns(l.get("Policy", "handoff-ns/op")), l.get("Policy", "handoff-allocs/op")),
				r.String(), "≤ 1.5x, ≤ 6 allocs", verdict(r.med <= 1.5 && a <= 6),
			})
		}
	}
	return rows
}

// others are figures without a target in issue 9, each from one alternating loop.
func others(l *lookup) []row {
	var rows []row
	if l.has("ShutdownTree") {
		r := l.ratio("ShutdownTree", "mixed/raw")
		rows = append(rows, row{
			"`Shutdown` of a 3-level tree (100k actors, 3 steps each) vs raw `StopFuture`",
			fmt.Sprintf("%.0f ms", l.get("ShutdownTree", "mixed-ms")), fmt.Sprintf("%.0f ms", l.get("ShutdownTree", "raw-ms")),
			r.String(), "≤ 2.0x (README)", verdict(r.med <= 2.0),
		})
		rows = append(rows, row{
			"the same vs the hand-written peer at every level",
			fmt.Sprintf("%.0f ms", l.get("ShutdownTree", "mixed-ms")), fmt.Sprintf("%.0f ms", l.get("ShutdownTree", "handwritten-ms")),
			l.ratio("ShutdownTree", "mixed/handwritten").String(), noTarget, "",
		})
	}
	if l.has("NoticeLatency") {
		rows = append(rows, row{
			"request to the parent's `DeferredCancel`, vs a plain message to it",
			fmt.Sprintf("%.2f µs", l.get("NoticeLatency", "notice-µs")), fmt.Sprintf("%.2f µs", l.get("NoticeLatency", "message-µs")),
			l.ratio("NoticeLatency", "notice/message").String(), noTarget, "",
		})
	}
	return rows
}

// table renders rows as markdown.
func table(rows []row) string {
	var b strings.Builder
	b.WriteString("| figure | Quiesce | baseline | ratio: median (range) | target | |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.figure, r.subject, r.baseline, r.ratio, r.target, r.verdict)
	}
	return b.String()
}

var kindNames = map[string]string{
	"raw":         "raw protoactor",
	"handwritten": "hand-written peer",
	"nosteps":     "Quiesce, no steps",
	"plain":       "Quiesce, 3 plain steps",
	"mixed":       "Quiesce, 3 steps, one per policy",
}

var kinds = []string{"raw", "handwritten", "nosteps", "plain", "mixed"}

// costTable is StopCost per N and kind: per child wall, CPU, allocations, and the
// ratios to raw and to the hand-written peer.
func costTable(l *lookup, ns1 []int) string {
	var b strings.Builder
	b.WriteString("| N | kind | wall | CPU | allocs | × raw (wall) | × hand-written (wall) | × raw (CPU) |\n|---|---|---|---|---|---|---|---|\n")
	for _, n := range ns1 {
		bn := stopBench(n)
		if !l.has(bn) {
			continue
		}
		for _, k := range kinds {
			vsRaw, vsHand, cpuRaw := "1x", "", "1x"
			if k != "raw" {
				vsRaw = l.ratio(bn, k+"/raw").String()
				cpuRaw = l.ratio(bn, k+"/raw-cpu").String()
			}
			if slices.Contains([]string{"nosteps", "plain", "mixed"}, k) {
				vsHand = l.ratio(bn, k+"/handwritten").String()
			} else if k == "handwritten" {
				vsHand = "1x"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %.1f | %s | %s | %s |\n", childN(n), kindNames[k],
				ns(l.get(bn, k+"-ns/child")), ns(l.get(bn, k+"-cpu-ns/child")), l.get(bn, k+"-allocs/child"), vsRaw, vsHand, cpuRaw)
		}
	}
	return b.String()
}
