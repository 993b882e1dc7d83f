package bench

import (
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
)

// stopKinds are the kinds BenchmarkStopCost stops, each round.
var stopKinds = []string{raw, handwritten, nosteps, plain, mixed}

// BenchmarkStopCost: stopping a parent with N children, in one loop that, each
// round, stops one tree of every kind on the same system: raw protoactor
// (StopFuture), the hand-written peer (byHand: the three steps in a Stopping
// handler, stopped by StopFuture), and Quiesce components (qactor.Stop) without
// steps, with threeSteps all Plain, and with threeSteps (mixed: one step per
// policy). Every round checks what each kind promises (every actor stopped, every
// step ran, and for Quiesce a report per child with its steps completed), so that
// a broken stop cannot look fast. Per child, the medians over the rounds of: wall
// time (<kind>-ns/child), CPU time (-cpu-ns/child), allocations (-allocs/child);
// and ratios, each taken within a round: <kind>/raw and <kind>/handwritten (wall),
// <kind>/raw-cpu and <kind>/handwritten-cpu (CPU), each with its spread (-lo, -hi).
// Targets (issue 9): mixed/handwritten <= 1.0, mixed/raw <= 2.0, nosteps/raw <= 1.5,
// mixed at most 12 allocs/child, and per child flat in N. N: 1k, 10k, 100k, and 1M
// with QUIESCE_BENCH_1M=1. ns/op is a whole round, setup included.
func BenchmarkStopCost(b *testing.B) {
	ns := sizes.children
	if oneMillion() {
		ns = append(slices.Clone(ns), 1_000_000)
	}
	for _, n := range ns {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { stopCost(b, n) })
	}
}

func stopCost(b *testing.B, n int) {
	sys := newSystem()
	r := alternate(b, stopKinds, func(b *testing.B, kind string) map[string]float64 {
		b.StopTimer()
		defer b.StartTimer()
		// The spawning is labelled, and its goroutines inherit the label, so that a
		// profile can leave it out: go tool pprof -tagignore phase=setup.
		var pid *actor.PID
		var t *tally
		pprof.Do(context.Background(), pprof.Labels("phase", "setup"), func(context.Context) {
			pid, t = tree(sys, kind, n)
		})
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m0 := ms.Mallocs
		b.StartTimer()
		c0, t0 := cpuTime(), time.Now()
		rep, err := stopOne(sys, kind, pid)
		wall, cpu := time.Since(t0), cpuTime()-c0
		b.StopTimer()
		runtime.ReadMemStats(&ms)
		check(b, err)
		check(b, verify(kind, t, rep, n))
		per := float64(n)
		return map[string]float64{
			"wall":   float64(wall.Nanoseconds()) / per,
			"cpu":    float64(cpu.Nanoseconds()) / per,
			"allocs": float64(ms.Mallocs-m0) / per,
		}
	})
	r.report(b, "wall", "ns/child")
	r.report(b, "cpu", "cpu-ns/child")
	r.report(b, "allocs", "allocs/child")
	for _, k := range stopKinds[1:] {
		r.ratio(b, k, raw, "wall", "")
		r.ratio(b, k, raw, "cpu", "-cpu")
	}
	for _, k := range stopKinds[2:] {
		r.ratio(b, k, handwritten, "wall", "")
		r.ratio(b, k, handwritten, "cpu", "-cpu")
	}
}

// stopOne stops the root of a tree of kind and waits: raw and hand-written trees
// with protoactor's StopFuture, Quiesce trees with qactor.Stop, which returns the
// report.
func stopOne(sys *actor.ActorSystem, kind string, pid *actor.PID) (*lifecycle.Report, error) {
	if !graceful(kind) {
		return nil, stopFuture(sys, pid).Wait()
	}
	return qactor.Stop(context.Background(), sys, pid, nil)
}

// stopFuture is protoactor's RootContext.StopFuture, the same three calls, without
// its fixed 10 s timeout, which a 1M-child stop can overrun on a busy host.
func stopFuture(sys *actor.ActorSystem, pid *actor.PID) *actor.Future {
	f := actor.NewFuture(sys, time.Hour)
	p, _ := sys.ProcessRegistry.Get(pid) // the dead-letter process, if pid is gone: it answers Terminated
	p.SendSystemMessage(pid, &actor.Watch{Watcher: f.PID()})
	sys.Root.Stop(pid)
	return f
}
