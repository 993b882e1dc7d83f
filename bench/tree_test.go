package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

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
			var raw, graceful time.Duration
			for range b.N {
				b.StopTimer()
				pid := flatTree(b, sys, n, false)
				b.StartTimer()
				t0 := time.Now()
				if err := sys.Root.StopFuture(pid).Wait(); err != nil {
					b.Fatal(err)
				}
				raw += time.Since(t0)

				b.StopTimer()
				pid = flatTree(b, sys, n, true)
				b.StartTimer()
				t0 = time.Now()
				rep, err := qactor.Stop(context.Background(), sys, pid, nil)
				if err != nil {
					b.Fatal(err)
				}
				graceful += time.Since(t0)
				if len(rep.Children) != n {
					b.Fatalf("%d child reports, want %d", len(rep.Children), n)
				}
			}
			per := float64(b.N)
			b.ReportMetric(float64(raw.Milliseconds())/per, "raw-ms")
			b.ReportMetric(float64(graceful.Milliseconds())/per, "graceful-ms")
			ratio(b, "graceful/raw", float64(graceful), float64(raw))
		})
	}
}
