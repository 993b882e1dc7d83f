package remote_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// BenchmarkRefusal: how long a request to a stopping component takes to come back
// refused, from its own node and from another, alternating in one run; and, for
// scale, a request to a running actor on the other node (a protoactor round trip).
func BenchmarkRefusal(b *testing.B) {
	release := make(chan struct{})
	defer close(release)
	began := make(chan string, 1)
	props := qactor.Component[*staged]{
		New:   func() *staged { return &staged{began: began} },
		Steps: []qactor.Step[*staged]{hold("drain", policy.DeferFlag, release)},
	}.MustProps()
	pid := beta.System.Root.Spawn(props)
	mailbox.Of(beta.System, pid).Stop(nil, nil)
	<-began
	echo := spawnEcho(beta.System)
	defer beta.System.Root.Stop(echo)
	msg := wrapperspb.String("job")
	refused := func(sys *actor.ActorSystem) time.Duration {
		start := time.Now()
		_, err := qactor.Result(sys.Root.RequestFuture(pid, msg, 10*time.Second))
		d := time.Since(start)
		if _, ok := err.(*mailbox.Refused); !ok {
			b.Fatalf("want a refusal, got %v", err)
		}
		return d
	}
	var local, remote, roundTrip time.Duration
	b.ResetTimer()
	for range b.N {
		local += refused(beta.System)
		remote += refused(alpha.System)
		start := time.Now()
		if _, err := alpha.System.Root.RequestFuture(echo, msg, 10*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		roundTrip += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(local.Nanoseconds())/n, "local-ns/refusal")
	b.ReportMetric(float64(remote.Nanoseconds())/n, "remote-ns/refusal")
	b.ReportMetric(float64(roundTrip.Nanoseconds())/n, "remote-ns/echo")
	b.ReportMetric(float64(remote)/float64(local), "remote/local")
	b.ReportMetric(float64(remote)/float64(roundTrip), "remote-refusal/echo")
}

// rawActor is a protoactor actor without Quiesce.
type rawActor struct{}

func (rawActor) Receive(actor.Context) {}

const (
	rawKind       = "bench-raw"
	componentKind = "bench-component"
)

// BenchmarkRemoteStop: n components spawned on beta from alpha (protoactor's remote
// spawn), stopped from alpha, all at once; per round, in turn: raw protoactor actors
// stopped with StopFuture, components (3 plain steps) stopped with StopFuture (the
// plan runs, no reason, no report), and the same components stopped with
// qactor.Stop (a reason there, the report back). Only the stops are timed.
func BenchmarkRemoteStop(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var raw, future, graceful time.Duration
			for range b.N {
				raw += stopAll(b, n, rawKind, func(pid *actor.PID) error {
					return alpha.System.Root.StopFuture(pid).Wait()
				})
				future += stopAll(b, n, componentKind, func(pid *actor.PID) error {
					return alpha.System.Root.StopFuture(pid).Wait()
				})
				graceful += stopAll(b, n, componentKind, func(pid *actor.PID) error {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					rep, err := qactor.Stop(ctx, alpha.System, pid, nil)
					if err == nil && rep.Verdict() != lifecycle.AllCompleted {
						err = fmt.Errorf("%v", rep)
					}
					return err
				})
			}
			per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*n) }
			b.ReportMetric(per(raw), "raw-ns/actor")
			b.ReportMetric(per(future), "stopfuture-ns/component")
			b.ReportMetric(per(graceful), "qstop-ns/component")
			b.ReportMetric(float64(future)/float64(raw), "stopfuture/raw")
			b.ReportMetric(float64(graceful)/float64(raw), "qstop/raw")
		})
	}
}

// stopAll spawns n actors of kind on beta from alpha, then stops them all at once
// with stop, and returns how long the stops took.
func stopAll(b *testing.B, n int, kind string, stop func(*actor.PID) error) time.Duration {
	b.StopTimer()
	futures := make([]*actor.Future, n)
	for i := range futures {
		futures[i] = alpha.Remote.SpawnFuture(beta.Address(), "", kind, time.Minute)
	}
	pids := make([]*actor.PID, n)
	for i, f := range futures {
		res, err := f.Result()
		if err != nil {
			b.Fatal(err)
		}
		pids[i] = res.(interface{ GetPid() *actor.PID }).GetPid()
	}
	b.StartTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, pid := range pids {
		wg.Go(func() {
			if err := stop(pid); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return d
}
