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
