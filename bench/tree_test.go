package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
)

// spawner is a parent that spawns n children from its Started handler.
type spawner struct {
	n     int
	child *actor.Props
}

func (s *spawner) Receive(c actor.Context) {
	if _, ok := c.Message().(*actor.Started); ok {
		for range s.n {
			c.Spawn(s.child)
		}
	}
}

// started counts children up as they start.
type started struct{ wg *sync.WaitGroup }

func (s started) Receive(c actor.Context) {
	if _, ok := c.Message().(*actor.Started); ok {
		s.wg.Done()
	}
}

// flatTree spawns a parent with n children, raw or graceful, and returns once every
// child has started.
func flatTree(b *testing.B, sys *actor.ActorSystem, n int, graceful bool) *actor.PID {
	var wg sync.WaitGroup
	wg.Add(n)
	var parent *actor.Props
	if graceful {
		child := qactor.Component[started]{New: func() started { return started{&wg} }, Steps: threeSteps[started]()}.MustProps()
		parent = qactor.Component[*spawner]{New: func() *spawner { return &spawner{n: n, child: child} }, Steps: threeSteps[*spawner]()}.MustProps()
	} else {
		child := actor.PropsFromProducer(func() actor.Actor { return started{&wg} })
		parent = actor.PropsFromProducer(func() actor.Actor { return &spawner{n: n, child: child} })
	}
	pid := sys.Root.Spawn(parent)
	wg.Wait()
	return pid
}

// BenchmarkStopTree: stopping a parent with N children, each with a 3-step plan
// (one step per policy), against protoactor's raw StopFuture of the same tree
// without plans. Each iteration stops one raw tree and one graceful tree, so both
// see the same machine. Target: graceful/raw at most 2.0.
func BenchmarkStopTree(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			sys := newSystem()
			versus(b, sys, func(graceful bool) *actor.PID { return flatTree(b, sys, n, graceful) },
				func(pid *actor.PID) error {
					rep, err := qactor.Stop(context.Background(), sys, pid, nil)
					if err == nil && len(rep.Children) != n {
						err = fmt.Errorf("%d child reports, want %d", len(rep.Children), n)
					}
					return err
				})
		})
	}
}
