package bench

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// probe is one actor's part in the latency benchmark: when the request for it was
// sent, how long it took to reach its step, and a channel closed once it had.
type probe struct {
	sent time.Time
	took time.Duration
	seen chan struct{}
}

// waiter is a component whose one plain step waits for its ctx, on the actor's own
// goroutine, then records how long the cancellation took to reach it.
type waiter struct {
	p     *probe
	ready *sync.WaitGroup
}

func (*waiter) Receive(actor.Context) {}

func (w *waiter) wait(ctx context.Context) error {
	w.ready.Done()
	<-ctx.Done()
	w.p.took = time.Since(w.p.sent)
	close(w.p.seen)
	return context.Cause(ctx)
}

func newProbes(n int) []*probe {
	ps := make([]*probe, n)
	for i := range ps {
		ps[i] = &probe{seen: make(chan struct{})}
	}
	return ps
}

func quantiles(ps []*probe) (p50, p99 time.Duration) {
	d := make([]time.Duration, len(ps))
	for i, p := range ps {
		d[i] = p.took
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100]
}

// BenchmarkCancelLatency: how fast a cancellation request (a second Stop, sent the
// protoactor way, while the actor's goroutine is busy running a plain step) reaches
// the step's ctx.Done(), with n actors (10k) stopping, each waiting in its step.
// One request at a time, each once the last has arrived, so what is measured is
// the delivery, not a queue of n wake-ups. Baseline ("ctx"), in the same loop and
// probed the same way: n goroutines waiting on their own contexts, each cancelled
// directly. Each round measures both, in turn first. Reports each kind's median
// over the rounds of its p50 and p99 (<kind>-p50-µs, <kind>-p99-µs), the spread of
// quiesce's p99 over the rounds (quiesce-p99-µs-lo, -hi) and the ratio of the p99s,
// taken within a round. Target: quiesce's p99 under 1 ms.
func BenchmarkCancelLatency(b *testing.B) {
	n := sizes.stopping
	sys := newSystem()
	r := alternate(b, []string{"ctx", "quiesce"}, func(b *testing.B, kind string) map[string]float64 {
		var ps []*probe
		if kind == "ctx" {
			ps = cancelContexts(n)
		} else {
			ps = cancelSteps(b, sys, n)
		}
		p50, p99 := quantiles(ps)
		return map[string]float64{"p50": float64(p50.Nanoseconds()) / 1e3, "p99": float64(p99.Nanoseconds()) / 1e3}
	})
	r.report(b, "p50", "p50-µs")
	r.report(b, "p99", "p99-µs")
	spread(b, "quiesce-p99-µs", r.vals["quiesce"]["p99"])
	r.ratio(b, "quiesce", "ctx", "p99", "-p99")
}

// cancelContexts probes n goroutines waiting on their own contexts.
func cancelContexts(n int) []*probe {
	ps := newProbes(n)
	var ready, exited sync.WaitGroup
	ready.Add(n)
	cancels := make([]context.CancelFunc, n)
	for i, p := range ps {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		exited.Go(func() {
			ready.Done()
			<-ctx.Done()
			p.took = time.Since(p.sent)
			close(p.seen)
		})
	}
	ready.Wait()
	for i, p := range ps {
		p.sent = time.Now()
		cancels[i]()
		<-p.seen
	}
	exited.Wait()
	return ps
}

// cancelSteps probes n components, each stopping and waiting in its step, and
// waits until they have stopped.
func cancelSteps(b *testing.B, sys *actor.ActorSystem, n int) []*probe {
	ps := newProbes(n)
	var ready sync.WaitGroup
	ready.Add(n)
	tickets := make([]*mailbox.Ticket, n)
	pids := make([]*actor.PID, n)
	for i, p := range ps {
		w := &waiter{p: p, ready: &ready}
		pids[i] = sys.Root.Spawn(qactor.Component[*waiter]{
			New:   func() *waiter { return w },
			Steps: []qactor.Step[*waiter]{{Name: "wait", Run: (*waiter).wait}},
		}.MustProps())
		tickets[i] = mailbox.Of(sys, pids[i]).Stop(nil, nil)
	}
	ready.Wait()
	for i, p := range ps {
		p.sent = time.Now()
		sys.Root.Stop(pids[i]) // the second request: a cancellation for the running step
		<-p.seen
	}
	for _, t := range tickets {
		<-t.Done()
		rep := t.Report()
		checkf(b, rep != nil && len(rep.Steps) == 1 && rep.Steps[0].Status == lifecycle.Interrupted,
			"a waiter's step was not interrupted: %v", rep)
	}
	return ps
}
