package mailbox

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"weak"

	"github.com/asynkron/protoactor-go/actor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/quiesce/quiesce/lifecycle"
)

// MeterName is the OpenTelemetry meter Quiesce's instruments belong to.
const MeterName = "github.com/quiesce/quiesce"

// The instruments, on the actor system's meter provider (protoactor's
// actor.WithMetricProviders), as protoactor's own are. A system without one records
// nothing and pays one nil check per stop.
//
//	quiesce.stops                     counter         reason, verdict
//	quiesce.stop.duration             histogram (s)   reason, verdict
//	quiesce.step.duration             histogram (s)   step, status
//	quiesce.refused                   counter         why: stopping, stopped, full
//	quiesce.stop_requests.deferred    counter
//	quiesce.forces                    counter         cause: budget, brutal, deadline, requested
//	quiesce.abandonments              counter         step
//	quiesce.stopping                  up-down counter (components stopping now)
type instruments struct {
	stops        metric.Int64Counter
	stopDuration metric.Float64Histogram
	stepDuration metric.Float64Histogram
	refused      metric.Int64Counter
	deferred     metric.Int64Counter
	forces       metric.Int64Counter
	abandonments metric.Int64Counter
	stopping     metric.Int64UpDownCounter
}

// meters holds each actor system's instruments, made once, by the first mailbox
// that needs them; an entry goes with its system.
var meters sync.Map // weak.Pointer[actor.ActorSystem] -> *instruments

// instrumentsOf returns system's instruments, or nil if it has no meter provider.
func instrumentsOf(system *actor.ActorSystem) *instruments {
	if system == nil || system.Config == nil || system.Config.MetricsProvider == nil {
		return nil
	}
	key := weak.Make(system)
	if in, ok := meters.Load(key); ok {
		return in.(*instruments)
	}
	in, err := newInstruments(system.Config.MetricsProvider.Meter(MeterName))
	if err != nil {
		system.Logger().Error("quiesce: metrics are off: cannot make the instruments", "error", err)
		return nil
	}
	if had, loaded := meters.LoadOrStore(key, in); loaded {
		return had.(*instruments)
	}
	runtime.AddCleanup(system, func(k weak.Pointer[actor.ActorSystem]) { meters.Delete(k) }, key)
	return in
}

func newInstruments(m metric.Meter) (*instruments, error) {
	var in instruments
	var err, e error
	add := func(e error) { err = errors.Join(err, e) }
	in.stops, e = m.Int64Counter("quiesce.stops", metric.WithUnit("{stop}"),
		metric.WithDescription("Stops of Quiesce components that ended, by reason kind and verdict."))
	add(e)
	in.stopDuration, e = m.Float64Histogram("quiesce.stop.duration", metric.WithUnit("s"),
		metric.WithDescription("How long stops took, from the first request to the report, by reason kind and verdict."))
	add(e)
	in.stepDuration, e = m.Float64Histogram("quiesce.step.duration", metric.WithUnit("s"),
		metric.WithDescription("How long the steps of stopping components took, by step name and status."))
	add(e)
	in.refused, e = m.Int64Counter("quiesce.refused", metric.WithUnit("{message}"),
		metric.WithDescription("Messages refused, answered or dead-lettered with the reason, by why: stopping, stopped, full."))
	add(e)
	in.deferred, e = m.Int64Counter("quiesce.stop_requests.deferred", metric.WithUnit("{request}"),
		metric.WithDescription("Stop requests that a running step deferred (or that waited for the next step)."))
	add(e)
	in.forces, e = m.Int64Counter("quiesce.forces", metric.WithUnit("{stop}"),
		metric.WithDescription("Stops forced, by cause: budget, brutal, deadline, requested."))
	add(e)
	in.abandonments, e = m.Int64Counter("quiesce.abandonments", metric.WithUnit("{step}"),
		metric.WithDescription("Steps abandoned: they did not return after a force."))
	add(e)
	in.stopping, e = m.Int64UpDownCounter("quiesce.stopping", metric.WithUnit("{component}"),
		metric.WithDescription("Components stopping now."))
	add(e)
	return &in, err
}

// The record methods do nothing on a nil *instruments: a system without metrics.
// Those called for every stop and step check for nil where they are called (they
// inline), so that a system without metrics does not pay for a call.

func (in *instruments) began() {
	if in != nil {
		in.stopping.Add(context.Background(), 1)
	}
}

func (in *instruments) ended(r *lifecycle.Report) {
	if in != nil {
		in.recordEnd(r)
	}
}

func (in *instruments) recordEnd(r *lifecycle.Report) {
	attrs := metric.WithAttributes(attribute.String("reason", reasonKind(r.Reason)), attribute.String("verdict", r.Verdict().String()))
	ctx := context.Background()
	in.stopping.Add(ctx, -1)
	in.stops.Add(ctx, 1, attrs)
	in.stopDuration.Record(ctx, r.Duration.Seconds(), attrs)
}

func (in *instruments) step(r *lifecycle.StepReport) {
	if in != nil {
		in.recordStep(r)
	}
}

func (in *instruments) recordStep(r *lifecycle.StepReport) {
	in.stepDuration.Record(context.Background(), r.Duration.Seconds(),
		metric.WithAttributes(attribute.String("step", r.Name), attribute.String("status", r.Status.String())))
}

func (in *instruments) refusal(err error) {
	if in == nil {
		return
	}
	why := "stopping"
	switch {
	case errors.Is(err, ErrFull):
		why = "full"
	case errors.Is(err, ErrStopped):
		why = "stopped"
	}
	in.refused.Add(context.Background(), 1, metric.WithAttributes(attribute.String("why", why)))
}

func (in *instruments) deferredRequest() {
	if in != nil {
		in.deferred.Add(context.Background(), 1)
	}
}

func (in *instruments) forced(cause error) {
	if in == nil {
		return
	}
	why := "requested"
	switch {
	case errors.Is(cause, ErrDeadline):
		why = "deadline"
	case errors.Is(cause, ErrBrutal):
		why = "brutal"
	case errors.Is(cause, ErrBudgetExpired):
		why = "budget"
	}
	in.forces.Add(context.Background(), 1, metric.WithAttributes(attribute.String("cause", why)))
}

func (in *instruments) abandoned(step string) {
	if in != nil {
		in.abandonments.Add(context.Background(), 1, metric.WithAttributes(attribute.String("step", step)))
	}
}

func reasonKind(r *lifecycle.Reason) string {
	if r == nil {
		return "none"
	}
	return r.Kind.String()
}
