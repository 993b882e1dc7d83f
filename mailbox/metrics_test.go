package mailbox_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// sums returns each data point of the Int64 sum named name, by its attributes.
func sums(t *testing.T, rm metricdata.ResourceMetrics, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			require.True(t, ok, "%s is a %T", name, m.Data)
			for _, dp := range sum.DataPoints {
				out[attrs(dp.Attributes)] = dp.Value
			}
		}
	}
	return out
}

// counts returns each data point count of the histogram named name, by attributes.
func counts(t *testing.T, rm metricdata.ResourceMetrics, name string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					out[attrs(dp.Attributes)] = dp.Count
				}
			}
		}
	}
	return out
}

func attrs(s attribute.Set) string {
	var out string
	for _, kv := range s.ToSlice() {
		if out != "" {
			out += ","
		}
		out += string(kv.Key) + "=" + kv.Value.Emit()
	}
	return out
}

// With a meter provider on the actor system (protoactor's WithMetricProviders), the
// mailbox counts stops by reason and verdict, refusals by why, deferred requests,
// forces by cause and abandonments, times stops and steps, and gauges the
// components stopping now.
func TestMetricsCountWhatStopsDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer func() { _ = provider.Shutdown(context.Background()) }()
		sys := actor.NewActorSystem(actor.WithMetricProviders(provider), actor.WithDeadLetterThrottleInterval(time.Millisecond),
			actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }))

		// One stop that completes, with a deferred request and a refusal.
		plan := lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag,
			Run: func(context.Context) error { time.Sleep(100 * time.Millisecond); return nil }})
		pid := sys.Root.Spawn(props(t, mailbox.Config{Plan: plan}, func(actor.Context) {}))
		synctest.Wait()
		mb := mailbox.Of(sys, pid)
		tk := mb.Stop(nil, nil)
		synctest.Wait()
		mb.Stop(nil, nil) // deferred
		sys.Root.Send(pid, "late")
		synctest.Wait()

		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		assert.Equal(t, map[string]int64{"": 1}, sums(t, rm, "quiesce.stopping"), "one component stopping now")
		<-tk.Done()

		// One stop forced by its budget, whose deaf step is abandoned.
		deaf := lifecycle.MustPlan(lifecycle.Step{Name: "hang", Policy: policy.DeferFlag,
			Run: func(context.Context) error { time.Sleep(time.Hour); return nil }})
		pid2 := sys.Root.Spawn(props(t, mailbox.Config{Plan: deaf, Budget: mailbox.After(time.Second), AbandonAfter: time.Second},
			func(actor.Context) {}))
		synctest.Wait()
		<-mailbox.Of(sys, pid2).Stop(lifecycle.NewReason(lifecycle.Shutdown, nil), nil).Done()

		require.NoError(t, reader.Collect(context.Background(), &rm))
		assert.Equal(t, map[string]int64{"": 0}, sums(t, rm, "quiesce.stopping"))
		assert.Equal(t, map[string]int64{
			"reason=stop requested,verdict=all completed": 1,
			"reason=shutdown,verdict=some abandoned":      1,
		}, sums(t, rm, "quiesce.stops"))
		assert.Equal(t, map[string]uint64{
			"reason=stop requested,verdict=all completed": 1,
			"reason=shutdown,verdict=some abandoned":      1,
		}, counts(t, rm, "quiesce.stop.duration"))
		assert.Equal(t, map[string]uint64{"status=completed,step=drain": 1, "status=abandoned,step=hang": 1},
			counts(t, rm, "quiesce.step.duration"))
		assert.Equal(t, map[string]int64{"why=stopping": 1}, sums(t, rm, "quiesce.refused"))
		assert.Equal(t, map[string]int64{"": 1}, sums(t, rm, "quiesce.stop_requests.deferred"))
		assert.Equal(t, map[string]int64{"cause=budget": 1}, sums(t, rm, "quiesce.forces"))
		assert.Equal(t, map[string]int64{"step=hang": 1}, sums(t, rm, "quiesce.abandonments"))
		time.Sleep(time.Hour) // the abandoned step returns
		settle()
	})
}
