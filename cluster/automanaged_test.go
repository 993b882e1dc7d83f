package cluster_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qcluster "github.com/quiesce/quiesce/cluster"
	"github.com/quiesce/quiesce/internal/clusternode"
)

// A member leaves an automanaged cluster (health checks over HTTP on loopback)
// while a client keeps eight identities busy through a Caller: the peers learn of
// the leave at their next poll, the member serves until they all have, then drains
// and hands each count over. Every request is answered, once, and each identity's
// answers count up with no gap, across the leave.
func TestLeaveAutomanagedUnderLoad(t *testing.T) {
	f := take(t, automanagedFleet)
	tr, ms, client := f.tr, f.ms, f.client
	// Wait until the client sees both members.
	waitTopology(t, client, 2)
	caller, err := qcluster.NewCaller(client.Cluster, qcluster.CallerConfig{})
	if err != nil {
		t.Fatal(err)
	}

	identities := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	var (
		mu       sync.Mutex
		answers  = map[string][]int64{}
		failures []error
		sent     int
	)
	stopLoad := make(chan struct{})
	answered := make(chan struct{}, 100000)
	var wg sync.WaitGroup
	for _, id := range identities {
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					select {
					case <-stopLoad:
						return
					default:
					}
					ctx, cancel := context.WithTimeout(context.Background(), bound)
					began := time.Now()
					res, err := caller.Request(ctx, id, kind, wrapperspb.String(id+"-"+strconv.Itoa(w)+"-"+strconv.Itoa(n)))
					cancel()
					mu.Lock()
					sent++
					if err != nil {
						failures = append(failures, fmt.Errorf("sent at %v: %w", began.Format("15:04:05.000"), err))
					} else {
						answers[id] = append(answers[id], res.(*wrapperspb.Int64Value).Value)
					}
					mu.Unlock()
					answered <- struct{}{}
				}
			}()
		}
	}
	waitN(t, answered, 200, "200 answers before the leave")
	leaver := ms[0]
	t.Logf("leaving: %s at %v; staying: %s", leaver.System().Address(), time.Now().Format("15:04:05.000"), ms[1].System().Address())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	rep, err := leaver.Member.Leave(ctx)
	cancel()
	if err != nil {
		t.Error(err)
	}
	waitN(t, answered, 200, "200 answers after the leave")
	close(stopLoad)
	wg.Wait()
	t.Logf("%v", rep)
	if len(rep.Unconfirmed) > 0 || rep.Tree == nil {
		t.Errorf("the leave: %v", rep)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, err := range failures {
		t.Errorf("a request failed: %v", err)
	}
	total := 0
	for _, id := range identities {
		vs := answers[id]
		total += len(vs)
		sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
		for i, v := range vs {
			if v != int64(i+1) {
				t.Fatalf("%s: answers are not 1..%d: %v", id, len(vs), vs)
			}
		}
	}
	if total != sent {
		t.Errorf("%d requests sent, %d answered", sent, total)
	}
	tr.mu.Lock()
	if len(tr.overlaps) > 0 {
		t.Errorf("two live activations at once of %v", tr.overlaps)
	}
	for id, n := range tr.served {
		if n > 1 {
			t.Errorf("request %s served %d times", id, n)
		}
	}
	tr.mu.Unlock()
	t.Logf("%d requests, all answered once; the leave took %v, its peers excluded it after %v", sent, rep.Duration, rep.Excluded)
	// The client first: a node that sends to one gone waits for protoactor's
	// connection retries (five, two seconds apart) before its remote can stop.
	stopAutomanagedClient(client)
	stop(t, ms[1])
}

// waitTopology waits until node's topology has n members.
func waitTopology(t *testing.T, node *clusternode.Node, n int) {
	t.Helper()
	changed := make(chan struct{}, 1)
	sub := node.System().EventStream.Subscribe(func(evt any) {
		if _, ok := evt.(*cluster.ClusterTopology); ok {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	})
	defer node.System().EventStream.Unsubscribe(sub)
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for len(node.Member.Topology()) != n {
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("waited %v for a topology of %d members: %d", bound, n, len(node.Member.Topology()))
		}
	}
}

// stopAutomanagedClient shuts an automanaged client down.
func stopAutomanagedClient(n *clusternode.Node) {
	_ = n.Cluster.Config.ClusterProvider.Shutdown(true)
	n.Member.Close()
	clusternode.StopRemote(n.Cluster)
}
