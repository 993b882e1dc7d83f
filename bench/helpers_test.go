package bench

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newSystem() *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
}

// idle is an actor that does nothing.
type idle struct{}

func (idle) Receive(actor.Context) {}

// threeSteps is the plan every benchmarked component stops with: one step per policy,
// each doing nothing, so that what is measured is Quiesce's own cost.
func threeSteps[A any]() []qactor.Step[A] {
	nothing := func(A, context.Context) error { return nil }
	return []qactor.Step[A]{
		{Name: "drain", Policy: policy.DeferFlag, Run: nothing},
		{Name: "disconnect", Policy: policy.DeferReraise, Run: nothing},
		{Name: "close", Policy: policy.Plain, Run: nothing},
	}
}

// ratio reports b's metric a/base as name.
func ratio(b *testing.B, name string, a, base float64) {
	if base > 0 {
		b.ReportMetric(a/base, name)
	}
}

// versus runs b.N rounds, each stopping one raw tree with protoactor's StopFuture
// and one graceful tree with stop, both built by spawn, so that both see the same
// machine. It reports the time of each, per round, and their ratio.
func versus(b *testing.B, sys *actor.ActorSystem, spawn func(graceful bool) *actor.PID, stop func(*actor.PID) error) {
	var raw, graceful time.Duration
	for range b.N {
		for _, g := range []bool{false, true} {
			b.StopTimer()
			pid := spawn(g)
			b.StartTimer()
			t0 := time.Now()
			var err error
			if g {
				err = stop(pid)
			} else {
				err = sys.Root.StopFuture(pid).Wait()
			}
			took := time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			if g {
				graceful += took
			} else {
				raw += took
			}
		}
	}
	per := float64(b.N)
	b.ReportMetric(float64(raw.Milliseconds())/per, "raw-ms")
	b.ReportMetric(float64(graceful.Milliseconds())/per, "graceful-ms")
	ratio(b, "graceful/raw", float64(graceful), float64(raw))
}
