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

// idleHeap spawns n idle actors from props and returns the heap they hold, per
// actor, once each has handled its Started; then it stops them all and waits
// until they have stopped, so that the next measurement starts from the same heap.
func idleHeap(b *testing.B, sys *actor.ActorSystem, n int, props *actor.Props) float64 {
	pids := make([]*actor.PID, 0, n)
	before := heapAlloc()
	for range n {
		pids = append(pids, sys.Root.Spawn(props))
	}
	for _, pid := range pids { // every actor has handled its Started: it is idle
		_, err := sys.Root.RequestFuture(pid, &actor.Touch{}, time.Minute).Result()
		check(b, err)
	}
	after := heapAlloc()
	futures := make([]*actor.Future, len(pids))
	for i, pid := range pids {
		futures[i] = sys.Root.StopFuture(pid)
	}
	for _, f := range futures {
		check(b, f.Wait())
	}
	return (float64(after) - float64(before)) / float64(n)
}

// BenchmarkIdleHeap: the heap an idle actor holds, a Quiesce component with a
// 3-step plan ("quiesce") against a raw protoactor actor ("raw"), in one loop that
// measures both each round, in turn first, after a discarded warm-up round, each
// measurement waiting for its actors to stop before the next. Reports each kind's
// median bytes per actor (<kind>-B/actor) and the ratio quiesce/raw, taken within
// a round, with its spread. Target: at most 1.0.
func BenchmarkIdleHeap(b *testing.B) {
	sys := newSystem()
	props := map[string]*actor.Props{
		raw:       actor.PropsFromProducer(func() actor.Actor { return idle{} }),
		"quiesce": qactor.Component[idle]{New: func() idle { return idle{} }, Steps: threeSteps[idle](nil)}.MustProps(),
	}
	r := alternate(b, []string{raw, "quiesce"}, func(b *testing.B, kind string) map[string]float64 {
		return map[string]float64{"heap": idleHeap(b, sys, sizes.idle, props[kind])}
	})
	r.report(b, "heap", "B/actor")
	r.ratio(b, "quiesce", raw, "heap", "")
}
