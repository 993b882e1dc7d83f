// Command metrics shows Quiesce's OpenTelemetry metrics, exported in Prometheus'
// text format: it gives an actor system a meter provider (protoactor's
// actor.WithMetricProviders), stops a few components in different ways, and prints
// the quiesce_ series a Prometheus server would scrape from /metrics.
//
//	go run ./examples/metrics
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		os.Exit(1)
	}
}

// session is a component that answers requests and, when it stops, drains and closes.
type session struct{}

func (session) Receive(c actor.Context) {
	if _, ok := c.Message().(string); ok && c.Sender() != nil {
		c.Respond("ok")
	}
}

func run(out io.Writer) error {
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return err
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer func() { _ = provider.Shutdown(context.Background()) }()
	sys := actor.NewActorSystem(actor.WithMetricProviders(provider),
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }))

	quick := func(_ session, ctx context.Context) error { return nil }
	slow := func(_ session, ctx context.Context) error {
		select {
		case <-time.After(time.Hour):
		case <-ctx.Done():
		}
		return context.Cause(ctx)
	}
	graceful := qactor.Component[session]{New: func() session { return session{} }, Steps: []qactor.Step[session]{
		{Name: "drain", Policy: policy.DeferFlag, Run: quick},
		{Name: "close", Policy: policy.Plain, Always: true, Run: quick},
	}}.MustProps()
	overrun := qactor.Component[session]{New: func() session { return session{} }, Budget: mailbox.After(20 * time.Millisecond),
		Steps: []qactor.Step[session]{
			{Name: "drain", Policy: policy.DeferFlag, Run: slow},
			{Name: "close", Policy: policy.Plain, Always: true, Run: quick},
		}}.MustProps()

	// Three sessions stop gracefully, one overruns its budget and is forced, and a
	// request that comes while one stops is refused.
	ctx := context.Background()
	for range 3 {
		if _, err := qactor.Stop(ctx, sys, sys.Root.Spawn(graceful), errors.New("deploy")); err != nil {
			return err
		}
	}
	pid := sys.Root.Spawn(overrun)
	stopped := make(chan error, 1)
	go func() { _, err := qactor.Stop(ctx, sys, pid, errors.New("deploy")); stopped <- err }()
	for phase, _ := qactor.PhaseOf(sys, pid); phase != lifecycle.Stopping; phase, _ = qactor.PhaseOf(sys, pid) {
		time.Sleep(time.Millisecond)
	}
	if _, err := qactor.Result(sys.Root.RequestFuture(pid, "late", time.Second)); !errors.Is(err, mailbox.ErrStopping) {
		return fmt.Errorf("want a refusal, got %v", err)
	}
	if err := <-stopped; err != nil {
		return err
	}

	families, err := registry.Gather()
	if err != nil {
		return err
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "quiesce_") {
			continue
		}
		var b strings.Builder
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			return err
		}
		for _, line := range strings.Split(b.String(), "\n") {
			// The histograms' buckets and sums depend on the machine's speed: their
			// counts say enough here.
			if strings.Contains(line, "_bucket{") || strings.Contains(line, "_sum") {
				continue
			}
			if line != "" {
				fmt.Fprintln(out, line)
			}
		}
	}
	return nil
}
