package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
)

// threeLevels spawns a root with mids children, each with leaves children, raw or
// graceful, and returns once every actor has started.
func threeLevels(sys *actor.ActorSystem, mids, leaves int, graceful bool) *actor.PID {
	var wg sync.WaitGroup
	wg.Add(mids * leaves)
	var root *actor.Props
	if graceful {
		leaf := qactor.Component[started]{New: func() started { return started{&wg} }, Steps: threeSteps[started]()}.MustProps()
		mid := qactor.Component[*spawner]{New: func() *spawner { return &spawner{n: leaves, child: leaf} }, Steps: threeSteps[*spawner]()}.MustProps()
		root = qactor.Component[*spawner]{New: func() *spawner { return &spawner{n: mids, child: mid} }, Steps: threeSteps[*spawner]()}.MustProps()
	} else {
		leaf := actor.PropsFromProducer(func() actor.Actor { return started{&wg} })
		mid := actor.PropsFromProducer(func() actor.Actor { return &spawner{n: leaves, child: leaf} })
		root = actor.PropsFromProducer(func() actor.Actor { return &spawner{n: mids, child: mid} })
	}
	pid := sys.Root.Spawn(root)
	wg.Wait()
	return pid
}

// BenchmarkShutdownTree: a tree of 100k actors over 3 levels (1 root, 100 mids,
// 1000 leaves each), every actor with a 3-step plan, stopped from its root by
// qactor.Shutdown, against protoactor's raw StopFuture of the same tree without
// plans. Each iteration stops one of each. Target: graceful/raw at most 2.0.
func BenchmarkShutdownTree(b *testing.B) {
	const mids, leaves = 100, 1000
	sys := newSystem()
	var raw, graceful time.Duration
	for range b.N {
		b.StopTimer()
		pid := threeLevels(sys, mids, leaves, false)
		b.StartTimer()
		t0 := time.Now()
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			b.Fatal(err)
		}
		raw += time.Since(t0)

		b.StopTimer()
		pid = threeLevels(sys, mids, leaves, true)
		b.StartTimer()
		t0 = time.Now()
		tree, err := qactor.Shutdown(context.Background(), sys, nil, pid)
		if err != nil {
			b.Fatal(err)
		}
		graceful += time.Since(t0)
		if n, _ := tree.Components(); n != 1+mids+mids*leaves {
			b.Fatalf("%d reports, want %d", n, 1+mids+mids*leaves)
		}
	}
	per := float64(b.N)
	b.ReportMetric(float64(raw.Milliseconds())/per, "raw-ms")
	b.ReportMetric(float64(graceful.Milliseconds())/per, "graceful-ms")
	ratio(b, "graceful/raw", float64(graceful), float64(raw))
}
