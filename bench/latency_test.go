package bench

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
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
// the step's ctx.Done(), with n actors stopping, each waiting in its step. One
// request at a time, each once the last has arrived, so what is measured is the
// delivery, not a queue of n wake-ups. Baseline, in the same run and probed the
// same way: n goroutines waiting on their own contexts, each cancelled directly.
// Target: p99 under 1 ms.
func BenchmarkCancelLatency(b *testing.B) {
	const n = 10_000
	var q50, q99, c50, c99 time.Duration
	for range b.N {
		// Baseline: bare contexts.
		ps := newProbes(n)
		var ready sync.WaitGroup
		ready.Add(n)
		cancels := make([]context.CancelFunc, n)
		for i, p := range ps {
			ctx, cancel := context.WithCancel(context.Background())
			cancels[i] = cancel
			go func() {
				ready.Done()
				<-ctx.Done()
				p.took = time.Since(p.sent)
				close(p.seen)
			}()
		}
		ready.Wait()
		for i, p := range ps {
			p.sent = time.Now()
			cancels[i]()
			<-p.seen
		}
		a, z := quantiles(ps)
		c50, c99 = c50+a, c99+z

		// Quiesce: n components, each stopping and waiting in its step.
		sys := newSystem()
		ps = newProbes(n)
		ready.Add(n)
		tickets := make([]*mailbox.Ticket, n)
		pids := make([]*actor.PID, n)
		for i, p := range ps {
			w := &waiter{p: p, ready: &ready}
			pids[i] = sys.Root.Spawn(qactor.Component[*waiter]{
				New:   func() *waiter { return w },
				Steps: []qactor.Step[*waiter]{{Name: "wait", Run: (*waiter).wait}},
			}.MustProps())
			tickets[i] = mailbox.Of(sys, pids[i]).Request(nil, nil)
		}
		ready.Wait()
		for i, p := range ps {
			p.sent = time.Now()
			sys.Root.Stop(pids[i]) // the second request: a cancellation for the running step
			<-p.seen
		}
		for _, t := range tickets {
			<-t.Done()
		}
		a, z = quantiles(ps)
		q50, q99 = q50+a, q99+z
	}
	per := float64(b.N)
	b.ReportMetric(float64(c50.Nanoseconds())/per/1e3, "ctx-p50-µs")
	b.ReportMetric(float64(c99.Nanoseconds())/per/1e3, "ctx-p99-µs")
	b.ReportMetric(float64(q50.Nanoseconds())/per/1e3, "quiesce-p50-µs")
	b.ReportMetric(float64(q99.Nanoseconds())/per/1e3, "quiesce-p99-µs")
	ratio(b, "p99/ctx-p99", float64(q99), float64(c99))
}
