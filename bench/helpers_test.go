package bench

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newSystem returns a quiet actor system with Quiesce's defaults: no lifecycle
// events on the EventStream (mailbox.Settings), which is what a stop costs unless
// a system asks for them.
func newSystem() *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
}

// size holds every benchmark's size. TestBenchmarksRun makes them small.
type size struct {
	children     []int // BenchmarkStopCost: children of the stopped parent
	mids, leaves int   // BenchmarkShutdownTree
	messages     int   // BenchmarkMessages: per kind and round
	idle         int   // BenchmarkIdleHeap: actors per kind and round
	stopping     int   // BenchmarkCancelLatency: actors stopping at once
	kids         int   // BenchmarkNoticeLatency: children probed per round
}

var sizes = size{
	children: []int{1_000, 10_000, 100_000},
	mids:     100, leaves: 1_000,
	messages: 500_000,
	idle:     20_000,
	stopping: 10_000,
	kids:     1_000,
}

// oneMillion reports whether BenchmarkStopCost also stops a parent with 1M children
// (QUIESCE_BENCH_1M=1): a minute or more per round, and several GiB.
func oneMillion() bool { return os.Getenv("QUIESCE_BENCH_1M") == "1" }

// idle is an actor that does nothing.
type idle struct{}

func (idle) Receive(actor.Context) {}

// threeSteps is the plan every benchmarked component stops with: one step per
// policy, each doing only count.Add(1) (the hand-written baseline's steps do the
// same), so that what is measured is Quiesce's own cost and a round can check that
// every step ran. count may be nil.
func threeSteps[A any](count *atomic.Int64) []qactor.Step[A] {
	op := func(A, context.Context) error {
		if count != nil {
			count.Add(1)
		}
		return nil
	}
	return []qactor.Step[A]{
		{Name: "drain", Policy: policy.DeferFlag, Run: op},
		{Name: "disconnect", Policy: policy.DeferReraise, Run: op},
		{Name: "close", Policy: policy.Plain, Run: op},
	}
}

// plainSteps is threeSteps with every step Plain.
func plainSteps[A any](count *atomic.Int64) []qactor.Step[A] {
	steps := threeSteps[A](count)
	for i := range steps {
		steps[i].Policy = policy.Plain
	}
	return steps
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
