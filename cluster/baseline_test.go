package cluster_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// protoactor's own graceful leave, Cluster.Shutdown(true), on the same cluster and
// grains: the peers route the identity to its new owner as soon as the provider
// drops the member, and the new owner activates it while the old activation still
// drains its queue, waiting for protoactor's poison. Two activations of one
// identity serve at once. (TestLeaveDrainsAndHandsOff is the same leave with
// Member.Leave: never.)
func TestProtoactorShutdownServesTwoActivations(t *testing.T) {
	f := baselineFleet
	tr, ms, client := f.tr, f.ms, f.client
	leaver, stay := owner(ms, "x")
	defer stop(t, append(stay, client)...)

	gate := make(chan struct{})
	tr.gate = gate
	queued := make(chan error, 10)
	for range 10 {
		go func() {
			_, err := client.Cluster.Request("x", kind, wrapperspb.String("queued"), cluster.WithTimeout(bound))
			queued <- err
		}()
	}
	waitN(t, tr.posted, 10, "10 requests to reach the grain")
	waitN(t, tr.starts, 1, "the first activation")

	dropped := make(chan struct{}, 1)
	sub := client.System().EventStream.Subscribe(func(evt any) {
		if top, ok := evt.(*cluster.ClusterTopology); ok && len(top.Left) > 0 {
			select {
			case dropped <- struct{}{}:
			default:
			}
		}
	})
	defer client.System().EventStream.Unsubscribe(sub)
	shutdown := make(chan struct{})
	go func() {
		defer close(shutdown)
		protoactorShutdown(leaver.Cluster)
	}()
	waitN(t, dropped, 1, "the client's topology to drop the leaving member")

	// The next request goes to the new owner, which activates x at once.
	later := make(chan error, 1)
	go func() {
		_, err := client.Cluster.Request("x", kind, wrapperspb.String("later"), cluster.WithTimeout(bound))
		later <- err
	}()
	waitN(t, tr.starts, 1, "the second activation")
	tr.mu.Lock()
	overlaps := len(tr.overlaps)
	tr.mu.Unlock()
	if overlaps == 0 {
		t.Error("protoactor's Cluster.Shutdown(true) did not serve two activations of x at once: the fault this test pins is gone")
	}
	close(gate)
	waitN(t, queued, 10, "the queued requests")
	waitN(t, later, 1, "the later request")
	select {
	case <-shutdown:
	case <-time.After(bound):
		t.Fatalf("waited %v for Cluster.Shutdown", bound)
	}
	leaver.Member.Close()
	sys := leaver.System()
	_ = sys.Root.StopFuture(sys.NewLocalPID("activator")).Wait()
	_ = sys.Root.StopFuture(sys.NewLocalPID("EndpointSupervisor")).Wait()
	leaver.Cluster.Remote.Shutdown(false)
}

// protoactorShutdown is Cluster.Shutdown(true) (cluster/cluster.go:141-158) up to
// its remote's: the same calls, in the same order, without the two seconds'
// sleep, and without remote.Shutdown(true), whose stop of the endpoint manager is a
// data race in protoactor (see internal/testnode) that would fail this test under
// -race for a fault it does not pin.
func protoactorShutdown(c *cluster.Cluster) {
	c.Gossip.SetState(cluster.GracefullyLeftKey, &emptypb.Empty{})
	c.ActorSystem.Shutdown()
	_ = c.Config.ClusterProvider.Shutdown(true)
	c.IdentityLookup.Shutdown()
	c.IdentityLookup.Shutdown()
	c.Gossip.Shutdown()
}
