package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"

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
	versus(b, sys, func(graceful bool) *actor.PID { return threeLevels(sys, mids, leaves, graceful) },
		func(pid *actor.PID) error {
			tree, err := qactor.Shutdown(context.Background(), sys, nil, pid)
			if n, _ := tree.Components(); err == nil && n != 1+mids+mids*leaves {
				err = fmt.Errorf("%d reports, want %d", n, 1+mids+mids*leaves)
			}
			return err
		})
}
