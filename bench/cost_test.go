package bench

import (
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/policy"
)

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// costTree spawns a parent with n children of one kind, and returns once every
// child has started: raw protoactor actors, components without steps, or
// components with threeSteps.
func costTree(sys *actor.ActorSystem, n int, kind string) *actor.PID {
	var wg sync.WaitGroup
	wg.Add(n)
	var parent *actor.Props
	switch kind {
	case "raw":
		child := actor.PropsFromProducer(func() actor.Actor { return started{&wg} })
		parent = actor.PropsFromProducer(func() actor.Actor { return &spawner{n: n, child: child} })
	case "nosteps":
		child := qactor.Component[started]{New: func() started { return started{&wg} }}.MustProps()
		parent = qactor.Component[*spawner]{New: func() *spawner { return &spawner{n: n, child: child} }}.MustProps()
	case "plain":
		child := qactor.Component[started]{New: func() started { return started{&wg} }, Steps: plainSteps[started]()}.MustProps()
		parent = qactor.Component[*spawner]{New: func() *spawner { return &spawner{n: n, child: child} }, Steps: plainSteps[*spawner]()}.MustProps()
	default:
		child := qactor.Component[started]{New: func() started { return started{&wg} }, Steps: threeSteps[started]()}.MustProps()
		parent = qactor.Component[*spawner]{New: func() *spawner { return &spawner{n: n, child: child} }, Steps: threeSteps[*spawner]()}.MustProps()
	}
	pid := sys.Root.Spawn(parent)
	wg.Wait()
	return pid
}

// plainSteps is threeSteps with every step Plain: what the plan costs without the
// two goroutines its deferred steps start.
func plainSteps[A any]() []qactor.Step[A] {
	steps := threeSteps[A]()
	for i := range steps {
		steps[i].Policy = policy.Plain
	}
	return steps
}

// BenchmarkStopCost: one kind of tree stop per sub-benchmark, so that a profile or
// an allocation count belongs to it alone: a parent with N children, stopped raw
// (StopFuture), or gracefully without steps (nosteps), with threeSteps made all
// Plain (plain), or with threeSteps (steps). steps less plain is what the two
// deferred steps' goroutines cost. It reports wall time, CPU time and allocations
// per child; compare kinds and revisions with benchstat. BenchmarkStopTree gives
// the ratio in one run.
func BenchmarkStopCost(b *testing.B) {
	for _, kind := range []string{"raw", "nosteps", "plain", "steps"} {
		for _, n := range []int{10_000} {
			b.Run(fmt.Sprintf("%s/N=%d", kind, n), func(b *testing.B) {
				sys := newSystem()
				var wall, cpu time.Duration
				var allocs uint64
				var ms runtime.MemStats
				for range b.N {
					b.StopTimer()
					// The spawning is labelled, and its goroutines inherit the label, so
					// that a profile can leave it out: go tool pprof -tagignore phase=setup.
					var pid *actor.PID
					pprof.Do(context.Background(), pprof.Labels("phase", "setup"), func(context.Context) {
						pid = costTree(sys, n, kind)
					})
					runtime.ReadMemStats(&ms)
					m0 := ms.Mallocs
					b.StartTimer()
					c0, t0 := cpuTime(), time.Now()
					if kind == "raw" {
						if err := sys.Root.StopFuture(pid).Wait(); err != nil {
							b.Fatal(err)
						}
					} else if _, err := qactor.Stop(context.Background(), sys, pid, nil); err != nil {
						b.Fatal(err)
					}
					wall += time.Since(t0)
					cpu += cpuTime() - c0
					b.StopTimer()
					runtime.ReadMemStats(&ms)
					allocs += ms.Mallocs - m0
					b.StartTimer()
				}
				per := float64(b.N * n)
				b.ReportMetric(float64(wall.Nanoseconds())/per, "ns/child")
				b.ReportMetric(float64(cpu.Nanoseconds())/per, "cpu-ns/child")
				b.ReportMetric(float64(allocs)/per, "allocs/child")
			})
		}
	}
}
