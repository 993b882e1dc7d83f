package cluster_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	testprovider "github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qactor "github.com/quiesce/quiesce/actor"
	qcluster "github.com/quiesce/quiesce/cluster"
	"github.com/quiesce/quiesce/internal/clusternode"
	"github.com/quiesce/quiesce/internal/testsys"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// leaks are the goroutines protoactor leaves behind, which no API ends.
var leaks = []goleak.Option{
	// The test provider's TTL loop ranges over a ticker's channel, which Stop does
	// not close (clusterproviders/test/test_provider.go:124-130).
	goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster/clusterproviders/test.(*Provider).startTtlReport.func1"),
	// The gossiper's log throttle waits a minute on a ticker, on a goroutine of its
	// own, once it has been used (actor/throttler.go:27-38).
	goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/cluster.(*Gossiper).StartGossiping.NewThrottle.func3.1"),
	goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1.1"),
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, leaks...) }

// bound is how long a test waits for anything before it fails saying what for.
const bound = 20 * time.Second

const kind = "counter"

// tracker sees every activation of the counter grains of one test: which serve at
// once, what each request returned, and which request was served more than once.
type tracker struct {
	mu       sync.Mutex
	live     map[string]int // identity -> activations between their start and their close
	overlaps []string       // identities that had two live activations at once
	served   map[string]int // request -> times served
	gate     chan struct{}  // if not nil, every request waits for it to close
	posted   chan string    // a message posted to an activation: its identity
	starts   chan string    // an activation started serving: its address
}

func newTracker() *tracker {
	return &tracker{live: map[string]int{}, served: map[string]int{}, posted: make(chan string, 1024), starts: make(chan string, 64)}
}

// counter is a grain: each request adds one and answers the new value.
type counter struct {
	t     *tracker
	id    string
	value int64
}

func (g *counter) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *cluster.ClusterInit:
		g.id = m.Identity.Identity
	case *wrapperspb.StringValue:
		g.t.mu.Lock()
		gate := g.t.gate
		g.t.mu.Unlock()
		if gate != nil {
			<-gate
		}
		g.value++
		g.t.mu.Lock()
		g.t.served[m.Value]++
		g.t.mu.Unlock()
		c.Respond(wrapperspb.Int64(g.value))
	}
}

func (g *counter) start(c actor.Context) error {
	id := qclusterIdentity(c)
	g.t.mu.Lock()
	g.t.live[id]++
	if g.t.live[id] > 1 {
		g.t.overlaps = append(g.t.overlaps, id)
	}
	g.t.mu.Unlock()
	select {
	case g.t.starts <- c.ActorSystem().Address():
	default:
	}
	return nil
}

func (g *counter) close(ctx context.Context) error {
	c := mailbox.ActorContext(ctx)
	id := qclusterIdentity(c)
	g.t.mu.Lock()
	g.t.live[id]--
	g.t.mu.Unlock()
	return nil
}

func qclusterIdentity(c actor.Context) string { return cluster.GetClusterIdentity(c).Identity }

func (g *counter) save(context.Context) ([]byte, error) {
	return binary.AppendVarint(nil, g.value), nil
}

func (g *counter) load(state []byte) error {
	v, n := binary.Varint(state)
	if n <= 0 {
		return fmt.Errorf("bad counter state")
	}
	g.value = v
	return nil
}

// posted is mailbox middleware that tells the tracker of every message posted.
type posted struct{ t *tracker }

func (p posted) MailboxStarted() {}
func (p posted) MessagePosted(msg any) {
	if _, ok := actor.UnwrapEnvelopeMessage(msg).(*wrapperspb.StringValue); ok {
		p.t.posted <- ""
	}
}
func (p posted) MessageReceived(any) {}
func (p posted) MailboxEmpty()       {}

// counterKind is the counter kind, with a graceful leave (Save and Load).
func counterKind(t *tracker) *cluster.Kind {
	return qcluster.Grain[*counter]{
		Component: qactor.Component[*counter]{
			New:        func() *counter { return &counter{t: t} },
			Start:      []func(*counter, actor.Context) error{(*counter).start},
			Steps:      []qactor.Step[*counter]{{Name: "close", Policy: policy.Plain, Timeout: time.Second, Run: (*counter).close}},
			Middleware: []actor.MailboxMiddleware{posted{t}},
		},
		Save: (*counter).save,
		Load: (*counter).load,
	}.MustKind(kind)
}

// quiet is a test actor system that logs only errors, and publishes Quiesce's
// lifecycle events.
func quiet() *actor.ActorSystem {
	sys := testsys.New(actor.WithLoggerFactory(func(sys *actor.ActorSystem) *slog.Logger {
		if os.Getenv("QCLUSTER_LOG") != "" {
			return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("sys", sys.ID)
		}
		return slog.New(slog.DiscardHandler)
	}))
	mailbox.Configure(sys, mailbox.Settings{Events: true})
	return sys
}

// testCluster starts members members and one client on the in-memory test
// provider, and a plain remote node.
func testCluster(t *testing.T, tr *tracker, members int) (ms []*clusternode.Node, client, plain *clusternode.Node) {
	t.Helper()
	agent := testprovider.NewInMemAgent()
	specs := make([]clusternode.Spec, 0, members+1)
	for range members {
		specs = append(specs, clusternode.Spec{System: quiet(), Provider: testprovider.NewTestProvider(agent), Kinds: []*cluster.Kind{counterKind(tr)}, Options: []cluster.ConfigOption{clusternode.QuietGossip}})
	}
	// The client is a member without the kind: the test provider's StartClient
	// dereferences nil (it never sets the provider's cluster, test_provider.go:86-92).
	specs = append(specs, clusternode.Spec{System: quiet(), Provider: testprovider.NewTestProvider(agent), Options: []cluster.ConfigOption{clusternode.QuietGossip}})
	specs = append(specs, clusternode.Spec{System: quiet(), Plain: true})
	nodes, err := clusternode.Start(t.Name(), specs)
	if err != nil {
		t.Fatal(err)
	}
	return nodes[:members], nodes[members], nodes[members+1]
}

// stop shuts nodes down, each with a leave, in order.
func stop(t *testing.T, nodes ...*clusternode.Node) {
	t.Helper()
	for _, n := range nodes {
		// The last member has nobody to hand its grains' state to.
		if _, err := n.Member.Leave(context.Background()); err != nil && !errors.Is(err, qcluster.ErrStateLost) {
			t.Errorf("%s: %v", n.System().Address(), err)
		}
	}
}

// owner returns the member among ms that owns identity.
func owner(ms []*clusternode.Node, identity string) (*clusternode.Node, []*clusternode.Node) {
	rdv := cluster.NewRendezvous()
	var all cluster.Members
	for _, m := range ms {
		all = append(all, m.Member.Topology()...)
		break
	}
	rdv.UpdateMembers(all)
	addr := rdv.GetByClusterIdentity(cluster.NewClusterIdentity(identity, kind))
	var others []*clusternode.Node
	var own *clusternode.Node
	for _, m := range ms {
		if m.System().Address() == addr {
			own = m
		} else {
			others = append(others, m)
		}
	}
	return own, others
}

// result is what one request got.
type result struct {
	id    string
	value int64
	err   error
}

// send sends n requests for identity through caller, each on its own goroutine, and
// returns the channel of their results.
func send(caller *qcluster.Caller, identity, prefix string, n int, timeout time.Duration) <-chan result {
	out := make(chan result, n)
	for i := range n {
		id := prefix + strconv.Itoa(i)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			res, err := caller.Request(ctx, identity, kind, wrapperspb.String(id))
			r := result{id: id, err: err}
			if v, ok := res.(*wrapperspb.Int64Value); ok {
				r.value = v.Value
			}
			out <- r
		}()
	}
	return out
}

// collect waits for n results.
func collect(t *testing.T, ch <-chan result, n int, what string) []result {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	out := make([]result, 0, n)
	for len(out) < n {
		select {
		case r := <-ch:
			out = append(out, r)
		case <-timer.C:
			t.Fatalf("waited %v for %s: %d of %d results", bound, what, len(out), n)
		}
	}
	return out
}

// waitN waits for n values on ch.
func waitN[T any](t *testing.T, ch <-chan T, n int, what string) {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for i := range n {
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("waited %v for %s: %d of %d", bound, what, i, n)
		}
	}
}


// values checks that the answers are exactly 1..n: none lost, none served twice.
func values(t *testing.T, rs []result) {
	t.Helper()
	got := make([]int, 0, len(rs))
	for _, r := range rs {
		if r.err != nil {
			t.Errorf("request %s: %v", r.id, r.err)
			continue
		}
		got = append(got, int(r.value))
	}
	sort.Ints(got)
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("answers are not 1..%d: %v", len(rs), got)
		}
	}
}
