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
	"sync/atomic"
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

// The clusters of the tests, started once, together: protoactor's remote.Start
// writes gRPC's global logger, which the gRPC goroutines of every node started
// before read (see internal/testnode); a node started after others have run, even
// after they stopped, races with what they left. Each test stops its own.
var (
	leaveFleet, baselineFleet, automanagedFleet, deadlineFleet, exampleFleet, retryFleet *fleet
	// The faults of protoactor's own leave (baseline_test.go), each beside Member.Leave
	// under the same load.
	lostFleet, keptFleet, twiceFleet, windowFleet *fleet
	// A leave whose grain's Save fails; a lone member's whose deadline has passed.
	edgesFleet, loneFleet *fleet
)

// allFleets are the fleets of every test, for TestMain to stop what a test did not.
func allFleets() []*fleet {
	return []*fleet{leaveFleet, baselineFleet, automanagedFleet, deadlineFleet, exampleFleet, retryFleet,
		lostFleet, keptFleet, twiceFleet, windowFleet, edgesFleet, loneFleet}
}

// fleet is the cluster of one test: its members, a client, perhaps a node
// outside the cluster, and the tracker of its grains.
type fleet struct {
	tr            *tracker
	ms            []*clusternode.Node
	client, plain *clusternode.Node
	taken         atomic.Bool
}

// take hands a test its fleet, once. The fleets start once per process (see
// above) and a test stops its own, so a second run of the test (go test -count=2)
// fails at once, saying why, instead of waiting on members that have left.
func take(t *testing.T, f *fleet) *fleet {
	t.Helper()
	if f.taken.Swap(true) {
		t.Fatal("this test's cluster has left already: the clusters start once per process, so run the cluster tests with -count=1")
	}
	return f
}

func TestMain(m *testing.M) {
	var specs []clusternode.Spec
	healths := map[int]*clusternode.Health{} // an automanaged member's health endpoint, by its spec
	var plan []func(nodes []*clusternode.Node)
	add := func(f *fleet, ss []clusternode.Spec, members int, plain bool) {
		from := len(specs)
		specs = append(specs, ss...)
		plan = append(plan, func(nodes []*clusternode.Node) {
			f.ms = nodes[from : from+members]
			f.client = nodes[from+members]
			if plain {
				f.plain = nodes[from+members+1]
			}
		})
	}
	onTestProvider := func(name string, members int, plain bool, cfg qcluster.Config) *fleet {
		f := &fleet{tr: newTracker()}
		add(f, testProviderSpecs(name, f.tr, members, plain, cfg), members, plain)
		return f
	}
	onAutomanaged := func(name string, members int) *fleet {
		f := &fleet{tr: newTracker()}
		ss, hs, err := automanagedSpecs(name, f.tr, members)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for i, h := range hs {
			healths[len(specs)+i] = h
		}
		add(f, ss, members, false)
		return f
	}
	leaveFleet = onTestProvider("leave", 2, true, qcluster.Config{})
	baselineFleet = onTestProvider("baseline", 2, false, qcluster.Config{})
	deadlineFleet = onTestProvider("deadline", 2, false, qcluster.Config{})
	retryFleet = onTestProvider("retry", 1, false, qcluster.Config{})
	exampleFleet = onTestProvider("example", 2, false, qcluster.Config{})
	// The test provider drops a member from every topology at once: nothing arrives
	// after a leave's first step, and its quiet period may be short.
	quick := qcluster.Config{Quiet: 50 * time.Millisecond}
	lostFleet = onTestProvider("lost", 2, false, quick)
	keptFleet = onTestProvider("kept", 2, false, quick)
	twiceFleet = onTestProvider("twice", 2, false, quick)
	edgesFleet = onTestProvider("edges", 3, false, quick)
	// No peers: a member that dies while a peer answers it can leave that peer's
	// endpoint manager with an endpoint whose connection panicked, and the peer's
	// next topology change panics (protoactor remote/endpoint_manager.go:29-45).
	loneFleet = &fleet{tr: newTracker()}
	from := len(specs)
	specs = append(specs, clusternode.Spec{Name: "lone", System: quiet(), Provider: testprovider.NewTestProvider(testprovider.NewInMemAgent()),
		Kinds: []*cluster.Kind{counterKind(loneFleet.tr)}, Options: []cluster.ConfigOption{clusternode.QuietGossip}, Config: quick})
	plan = append(plan, func(nodes []*clusternode.Node) { loneFleet.ms = nodes[from : from+1] })
	automanagedFleet = onAutomanaged("automanaged", 2)
	// Automanaged providers poll one at a time (a package mutex, held through each
	// one's sleep: automanaged.go:230-263): the fewer, the sooner a poll comes.
	windowFleet = onAutomanaged("window", 3)

	nodes, err := clusternode.StartWith("", specs, func(i int, c *cluster.Cluster) {
		if h := healths[i]; h != nil {
			h.Attach(c)
		}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, p := range plan {
		p(nodes)
	}
	code := m.Run()
	// What a test did not stop (it failed, or was not run): a leave is a no-op
	// for a member that has left.
	for _, f := range allFleets() {
		for _, n := range append([]*clusternode.Node{f.client}, f.ms...) {
			if n != nil {
				_, _ = n.Member.Leave(context.Background())
			}
		}
		if f.plain != nil {
			f.plain.Shutdown()
		}
	}
	if code == 0 {
		if err := goleak.Find(leaks...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testProviderSpecs are members members and a client on one in-memory test
// provider, and a node outside the cluster if plain, each Member configured with cfg.
func testProviderSpecs(name string, tr *tracker, members int, plain bool, cfg qcluster.Config) []clusternode.Spec {
	agent := testprovider.NewInMemAgent()
	opts := []cluster.ConfigOption{clusternode.QuietGossip}
	specs := make([]clusternode.Spec, 0, members+2)
	for range members {
		specs = append(specs, clusternode.Spec{Name: name, System: quiet(), Provider: testprovider.NewTestProvider(agent), Kinds: []*cluster.Kind{counterKind(tr)}, Options: opts, Config: cfg})
	}
	// The client is a member without the kind: the test provider's StartClient
	// dereferences nil (it never sets the provider's cluster, test_provider.go:86-92).
	specs = append(specs, clusternode.Spec{Name: name, System: quiet(), Provider: testprovider.NewTestProvider(agent), Options: opts, Config: cfg})
	if plain {
		specs = append(specs, clusternode.Spec{System: quiet(), Plain: true})
	}
	return specs
}

// automanagedSpecs are members members and a client of automanaged providers that
// poll each other's health endpoint, on loopback, every 100 ms.
func automanagedSpecs(name string, tr *tracker, members int) ([]clusternode.Spec, []*clusternode.Health, error) {
	ports, err := clusternode.FreePorts(members)
	if err != nil {
		return nil, nil, err
	}
	hosts := make([]string, 0, members)
	for _, p := range ports {
		hosts = append(hosts, fmt.Sprintf("127.0.0.1:%d", p))
	}
	const refresh = 100 * time.Millisecond
	opts := []cluster.ConfigOption{clusternode.QuietGossip}
	var specs []clusternode.Spec
	var healths []*clusternode.Health
	for _, p := range ports {
		prov, h, err := clusternode.Automanaged(refresh, p, hosts...)
		if err != nil {
			return nil, nil, err
		}
		healths = append(healths, h)
		specs = append(specs, clusternode.Spec{Name: name, System: quiet(), Provider: prov, Kinds: []*cluster.Kind{counterKind(tr)}, Options: opts})
	}
	specs = append(specs, clusternode.Spec{Name: name, System: quiet(), Provider: clusternode.AutomanagedClient(refresh, hosts...), Client: true, Options: opts})
	return specs, healths, nil
}

// bound is how long a test waits for anything before it fails saying what for.
const bound = 20 * time.Second

const kind = "counter"

// tracker sees every activation of the counter grains of one test: which serve at
// once, what each request returned, and which request was served more than once.
type tracker struct {
	mu       sync.Mutex
	live     map[string]int           // identity -> activations between their start and their close
	overlaps []string                 // identities that had two live activations at once
	served   map[string]int           // request -> times served
	servedAt map[string][]string      // request -> the address of each activation that served it
	gate     chan struct{}            // if not nil, every request waits for it to close
	gated    map[string]chan struct{} // identity@address -> a gate for one activation's requests
	hold     chan struct{}            // if not nil, the close step waits for it, or its ctx
	saveErr  error                    // if not nil, Save fails with it
	blocked  chan string              // a request waits at its gate: its identity
	posted   chan string              // a message posted to an activation: its identity
	watched  chan struct{}            // a Watch posted to an activation (protoactor's PoisonFuture sends one, then its pill)
	starts   chan string              // an activation started serving: its address
	applied  chan string              // a request served: its ID@the activation's address
}

func newTracker() *tracker {
	return &tracker{live: map[string]int{}, served: map[string]int{}, servedAt: map[string][]string{}, gated: map[string]chan struct{}{},
		posted: make(chan string, 1024), blocked: make(chan string, 1024), watched: make(chan struct{}, 64), starts: make(chan string, 64), applied: make(chan string, 1024)}
}

// gateAt makes the requests to identity's activation on node wait until release is
// called (release may be called again).
func (t *tracker) gateAt(identity string, node *clusternode.Node) (release func()) {
	gate := make(chan struct{})
	t.mu.Lock()
	t.gated[identity+"@"+node.System().Address()] = gate
	t.mu.Unlock()
	return sync.OnceFunc(func() { close(gate) })
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
		if gate == nil {
			gate = g.t.gated[g.id+"@"+c.ActorSystem().Address()]
		}
		g.t.mu.Unlock()
		if gate != nil {
			select {
			case g.t.blocked <- g.id:
			default: // a test that does not wait for it
			}
			<-gate
		}
		g.value++
		g.t.mu.Lock()
		g.t.served[m.Value]++
		g.t.servedAt[m.Value] = append(g.t.servedAt[m.Value], c.ActorSystem().Address())
		g.t.mu.Unlock()
		select {
		case g.t.applied <- m.Value + "@" + c.ActorSystem().Address():
		default: // a test that does not count them
		}
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
	hold := g.t.hold
	g.t.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

func qclusterIdentity(c actor.Context) string { return cluster.GetClusterIdentity(c).Identity }

func (g *counter) save(context.Context) ([]byte, error) {
	g.t.mu.Lock()
	err := g.t.saveErr
	g.t.mu.Unlock()
	if err != nil {
		return nil, err
	}
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

// posted is mailbox middleware that tells the tracker of every request posted, and
// of every Watch.
type posted struct{ t *tracker }

func (p posted) MailboxStarted() {}
func (p posted) MessagePosted(msg any) {
	switch actor.UnwrapEnvelopeMessage(msg).(type) {
	case *wrapperspb.StringValue:
		select {
		case p.t.posted <- "":
		default: // a test that does not count them
		}
	case *actor.Watch:
		select {
		case p.t.watched <- struct{}{}:
		default:
		}
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
