package bench

import (
	"runtime"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
)

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// idleHeap spawns n idle actors from props and returns the heap they hold, per actor.
func idleHeap(sys *actor.ActorSystem, n int, props *actor.Props) float64 {
	pids := make([]*actor.PID, 0, n)
	before := heapAlloc()
	for range n {
		pids = append(pids, sys.Root.Spawn(props))
	}
	for _, pid := range pids { // every actor has handled its Started: it is idle
		if _, err := sys.Root.RequestFuture(pid, &actor.Touch{}, time.Minute).Result(); err != nil {
			panic(err)
		}
	}
	after := heapAlloc()
	for _, pid := range pids {
		sys.Root.Stop(pid)
	}
	runtime.KeepAlive(pids)
	return float64(after-before) / float64(n)
}

// BenchmarkIdleHeap: the heap an idle actor holds, a Quiesce component with a
// 3-step plan against a raw protoactor actor, measured in the same run. Target:
// at most 1.25x.
func BenchmarkIdleHeap(b *testing.B) {
	const n = 20_000
	sys := newSystem()
	raw := actor.PropsFromProducer(func() actor.Actor { return idle{} })
	comp := qactor.Component[idle]{New: func() idle { return idle{} }, Steps: threeSteps[idle]()}.MustProps()
	var r, q float64
	for range b.N {
		r += idleHeap(sys, n, raw)
		q += idleHeap(sys, n, comp)
	}
	b.ReportMetric(r/float64(b.N), "raw-B/actor")
	b.ReportMetric(q/float64(b.N), "quiesce-B/actor")
	ratio(b, "quiesce/raw", q, r)
}
