package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/quiesce/quiesce/cluster/clusterpb"
	qremote "github.com/quiesce/quiesce/remote"
)

// ProcessName is the name of the process every member with this package installed
// registers: the one its peers probe, and send the leave's messages to.
const ProcessName = "quiesce.cluster.v1"

// Errors.
var (
	// ErrMemberLeaving: the member is leaving the cluster. A grain there that is
	// stopping for the leave, or an activation refused there, refuses a message
	// with a *mailbox.Refused whose reason has this cause, on any node: a caller
	// may send the message again, to the identity's new owner (Caller does).
	ErrMemberLeaving = errors.New("quiesce/cluster: the member is leaving the cluster")
	// ErrNotReleased: an activation could not begin, because a leaving member did
	// not release its identity in time (its last activation there had not stopped).
	// The activation refuses what was sent to it, with this cause: nothing was
	// handled, and a caller may send it again.
	ErrNotReleased = errors.New("quiesce/cluster: a leaving member did not release the identity in time")
	// ErrStateLost: a leave could not hand the state of some identities off (no
	// other member owns them, or the owner did not take it in time). Report.Lost
	// names them.
	ErrStateLost = errors.New("quiesce/cluster: state not handed off")
	// ErrInstalled: a Member is installed on the actor system already.
	ErrInstalled = errors.New("quiesce/cluster: already installed on this actor system")
	// ErrLeave: Leave was called twice, after Close, or on a member that is not one
	// (a client); the error says which.
	ErrLeave = errors.New("quiesce/cluster: cannot leave")
)

func init() {
	for code, err := range map[string]error{
		"cluster.member-leaving": ErrMemberLeaving,
		"cluster.not-released":   ErrNotReleased,
	} {
		if e := qremote.RegisterError(code, err); e != nil {
			panic(e)
		}
	}
}

// Config tunes a Member. The zero value works.
type Config struct {
	// Remote is the configuration of the Quiesce remote Node that Install installs
	// when the actor system has none. Its Deaf is extended to protoactor's placement
	// actor (disthash), the parent of every grain, which logs an error for every
	// notice.
	Remote qremote.Config
	// Deadline bounds a Leave whose ctx has no deadline. Zero means 30 s.
	Deadline time.Duration
	// ExcludeWithin bounds the first step of a leave: how long it waits for every
	// peer's topology to exclude the member. Zero means 10 s; it never takes more
	// than a quarter of the time the leave has.
	ExcludeWithin time.Duration
	// Reserve is the time a leave keeps, after its drain, to hand off state and
	// shut down. Zero means 2 s; it never takes more than a quarter of the time the
	// leave has.
	Reserve time.Duration
	// Poll is how often the first step of a leave asks its peers whether their
	// topology excludes it. Zero means 50 ms.
	Poll time.Duration
	// CallTimeout bounds one message of the leave to one peer, and the probe. Zero
	// means 2 s.
	CallTimeout time.Duration
	// Quiet is how long step 4 of a leave waits with nothing arriving (no message
	// to a grain, no activation refused) before it shuts remote down: callers whose
	// topology still has this member keep sending to it until their provider
	// drops it, and what they send is refused, so they look elsewhere, as long as
	// remote is up. Set it above the provider's refresh interval (automanaged's
	// health poll). Zero means 500 ms; it ends, in any case, at the leave's deadline
	// less a quarter of the reserve.
	Quiet time.Duration
	// Linger bounds how long protoactor's removal of the endpoint to a node waits
	// for the Caller's requests still in flight to that node (see the package doc):
	// zero means 1 s.
	Linger time.Duration
}

func (c Config) withDefaults() Config {
	if c.Deadline <= 0 {
		c.Deadline = 30 * time.Second
	}
	if c.ExcludeWithin <= 0 {
		c.ExcludeWithin = 10 * time.Second
	}
	if c.Reserve <= 0 {
		c.Reserve = 2 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 50 * time.Millisecond
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 2 * time.Second
	}
	if c.Quiet <= 0 {
		c.Quiet = 500 * time.Millisecond
	}
	if c.Linger <= 0 {
		c.Linger = time.Second
	}
	return c
}

// members maps each actor system to its Member: the grains' hooks find it there.
var members sync.Map // *actor.ActorSystem -> *Member

// Member is Quiesce's graceful leave on one member (or client) of a protoactor
// cluster: its grains' activations, the members of the cluster that are leaving,
// and the leave itself. Its methods are safe from any goroutine.
type Member struct {
	c       *cluster.Cluster
	sys     *actor.ActorSystem
	cfg     Config
	node    *qremote.Node
	ownNode bool
	sub     *eventstream.Subscription

	quit   chan struct{}
	closed atomic.Bool
	// inLeave is set, under mu, with leave: until then no grain refuses and none
	// is heard from, so a grain's messages take no lock (see watch).
	inLeave atomic.Bool

	mu       sync.Mutex
	topology []*cluster.Member      // (mu) the last topology this system saw
	acts     map[string]*activation // (mu) live activations, by kind/identity
	parked   map[string][]byte      // (mu) state handed off, for the identity's next activation
	leavers  map[string]*leaver     // (mu) members that are leaving, by address
	changed  chan struct{}          // (mu) closed, and replaced, when leavers changes
	speakers map[string]bool        // (mu) the probe's answer, by address
	leaving  chan struct{}          // closed once this member refuses new activations
	draining chan struct{}          // closed once the leave has asked every grain to stop
	leave    *leave                 // (mu) the leave under way, if any
	answered map[string]struct{}    // (mu) addresses this member's grains have heard from
	arrived  time.Time              // (mu) when a message last reached a grain, or an activation was refused, during a leave
	refusing map[string]bool        // (mu) activations that only refuse, on a leaving member, by PID Id
	inflight map[string]int         // (mu) the Caller's requests without an answer yet, by address
	settled  chan struct{}          // (mu) closed, and replaced, when a request in flight ends
	marks    map[string]time.Time   // (mu) addresses a caller found leaving, until when
}

// leaver is another member that said it is leaving.
type leaver struct {
	id    string
	until time.Time
	held  map[string]bool // identities whose activation there has not stopped
}

// Install installs Quiesce's graceful leave on c's actor system. Call it after
// cluster.New and before c.StartMember or c.StartClient: it must see every topology
// the cluster publishes, before protoactor's placement actor does. On a client it
// is what Caller needs. It installs a Quiesce remote Node (package remote) unless
// the system has one.
func Install(c *cluster.Cluster, cfg Config) (*Member, error) {
	if c == nil || c.ActorSystem == nil {
		return nil, errors.New("quiesce/cluster: Install: a nil cluster (build it with cluster.New first)")
	}
	sys := c.ActorSystem
	m := &Member{
		c: c, sys: sys, cfg: cfg.withDefaults(), quit: make(chan struct{}), leaving: make(chan struct{}), draining: make(chan struct{}),
		acts: map[string]*activation{}, parked: map[string][]byte{}, changed: make(chan struct{}),
		leavers: map[string]*leaver{}, speakers: map[string]bool{},
		answered: map[string]struct{}{}, marks: map[string]time.Time{},
		inflight: map[string]int{}, settled: make(chan struct{}), refusing: map[string]bool{},
	}
	if _, loaded := members.LoadOrStore(sys, m); loaded {
		return nil, ErrInstalled
	}
	if n := qremote.Of(sys); n != nil {
		m.node = n
	} else {
		rc := m.cfg.Remote
		deaf := rc.Deaf
		rc.Deaf = func(pid *actor.PID) bool {
			return pid.Id == disthash.PartitionActivatorActorName || (deaf != nil && deaf(pid))
		}
		n, err := qremote.Install(sys, rc)
		if err != nil {
			members.Delete(sys)
			return nil, err
		}
		m.node, m.ownNode = n, true
	}
	if _, ok := sys.ProcessRegistry.Add(&process{m: m}, ProcessName); !ok {
		m.Close()
		return nil, fmt.Errorf("quiesce/cluster: the name %q is taken on this actor system", ProcessName)
	}
	m.sub = sys.EventStream.Subscribe(m.onEvent)
	return m, nil
}

// Of returns the Member installed on system, or nil.
func Of(system *actor.ActorSystem) *Member {
	m, _ := members.Load(system)
	mem, _ := m.(*Member)
	return mem
}

// Close removes the Member from its actor system, without leaving: its process,
// its subscription, and the remote Node it installed. Leave closes it.
func (m *Member) Close() {
	if !m.closed.CompareAndSwap(false, true) {
		return
	}
	close(m.quit)
	if m.sub != nil {
		m.sys.EventStream.Unsubscribe(m.sub)
	}
	m.sys.ProcessRegistry.Remove(m.sys.NewLocalPID(ProcessName))
	if m.ownNode {
		m.node.Close()
	}
	members.CompareAndDelete(m.sys, m)
}

// onEvent sees what the actor system publishes: the cluster's topology, and the
// end of an endpoint.
func (m *Member) onEvent(evt any) {
	if e, ok := evt.(*remote.EndpointTerminatedEvent); ok {
		m.linger(e.Address)
		return
	}
	t, ok := evt.(*cluster.ClusterTopology)
	if !ok {
		return
	}
	m.mu.Lock()
	m.topology = append([]*cluster.Member(nil), t.Members...)
	in := false
	for _, mem := range t.Members {
		if mem.Id == m.sys.ID {
			in = true
		}
	}
	l := m.leave
	m.mu.Unlock()
	if !in && l != nil {
		// This member's own topology no longer has it: protoactor's placement actor
		// will poison every grain here as soon as it sees this topology (it comes
		// after this subscriber). The drain begins now, so that its stop, with its
		// reason and deadline, comes first and the poison is refused.
		l.beginDrain(m)
	}
}

// Leaving is closed once this member, leaving, refuses new activations: every peer
// has heard that it leaves (or could not be asked).
func (m *Member) Leaving() <-chan struct{} { return m.leaving }

// Draining is closed once the leave has asked every grain of this member to stop:
// from then on they refuse what comes, and drain what was queued.
func (m *Member) Draining() <-chan struct{} { return m.draining }

// linger runs before protoactor's endpoint manager sees that the endpoint to addr
// is over (this subscription comes first: Install precedes remote's start). The
// endpoint writer that stops then closes its gRPC connection at once, which may
// drop what it had just sent (remote/endpoint_writer.go, closeClientConn): a request
// of the Caller's sent a moment ago may be lost, and could then only time out. So
// the removal waits, at most Config.Linger, for the Caller's requests to addr that
// have no answer yet; meanwhile the Caller sends no new one there (addr is marked
// leaving).
func (m *Member) linger(addr string) {
	timer := time.NewTimer(m.cfg.Linger)
	defer timer.Stop()
	for {
		m.mu.Lock()
		n := m.inflight[addr]
		if n > 0 {
			if until := time.Now().Add(m.cfg.Linger); m.marks[addr].Before(until) {
				m.marks[addr] = until
			}
		}
		settled := m.settled
		m.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-settled:
		case <-timer.C:
			return
		case <-m.quit:
			return
		}
	}
}

// sending counts a request of the Caller's to addr, until done is called.
func (m *Member) sending(addr string) (done func()) {
	m.mu.Lock()
	m.inflight[addr]++
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		if m.inflight[addr]--; m.inflight[addr] <= 0 {
			delete(m.inflight, addr)
		}
		close(m.settled)
		m.settled = make(chan struct{})
		m.mu.Unlock()
	}
}

// Topology returns the members of the last topology this system saw.
func (m *Member) Topology() []*cluster.Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*cluster.Member(nil), m.topology...)
}

// excludes reports whether the topology this system saw last has no member id.
func (m *Member) excludes(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mem := range m.topology {
		if mem.Id == id {
			return false
		}
	}
	return true
}

// leavingAddrs returns the addresses of the members that said they are leaving,
// and of those a caller found leaving, forgetting the ones whose time is over.
func (m *Member) leavingAddrs() map[string]bool {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]bool{}
	for addr, l := range m.leavers {
		if now.After(l.until) {
			delete(m.leavers, addr)
			continue
		}
		out[addr] = true
	}
	for addr, until := range m.marks {
		if now.After(until) {
			delete(m.marks, addr)
			continue
		}
		out[addr] = true
	}
	return out
}

// mark records that a caller found the member at addr leaving.
func (m *Member) mark(addr string, until time.Time) {
	m.mu.Lock()
	m.marks[addr] = until
	m.mu.Unlock()
}

// process is the Member's process in protoactor's registry, under ProcessName:
// protoactor's endpoint reader calls it on its own goroutine, so nothing here
// blocks; what must wait does on a goroutine the Member owns.
type process struct{ m *Member }

func (p *process) SendUserMessage(_ *actor.PID, message any) {
	_, msg, sender := actor.UnwrapEnvelope(message)
	p.m.serve(msg, sender)
}

func (*process) SendSystemMessage(*actor.PID, any) {}
func (*process) Stop(*actor.PID)                   {}

// speaks probes the member at addr, once: whether it has this package installed,
// so that it may receive this package's protobuf types (a type a protoactor node
// has not registered crashes it on arrival).
func (m *Member) speaks(addr string) bool {
	m.mu.Lock()
	ok, known := m.speakers[addr]
	m.mu.Unlock()
	if known {
		return ok
	}
	res, err := m.sys.Root.RequestFuture(actor.NewPID(addr, ProcessName), &actor.Touch{}, m.cfg.CallTimeout).Result()
	if err != nil && !errors.Is(err, actor.ErrDeadLetter) {
		return false // no answer: ask again next time
	}
	_, ok = res.(*actor.Touched)
	m.mu.Lock()
	m.speakers[addr] = ok
	m.mu.Unlock()
	return ok
}

// call sends msg to the Member process of the member at addr and waits for its
// answer, at most d.
func (m *Member) call(addr string, msg any, d time.Duration) (any, error) {
	if !m.speaks(addr) {
		return nil, fmt.Errorf("quiesce/cluster: %s: %w", addr, qremote.ErrPlainNode)
	}
	return m.sys.Root.RequestFuture(actor.NewPID(addr, ProcessName), msg, d).Result()
}

// remaining returns how long until ctx's deadline, or d if it has none.
// (At least a millisecond: protoactor takes a future's timeout of zero or less as
// none at all, and a call made as the deadline passes would wait for ever.)
func remaining(ctx context.Context, d time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), time.Millisecond)
	}
	return d
}

// serve handles a message to the Member's process, from another member.
func (m *Member) serve(msg any, sender *actor.PID) {
	reply := func(r any) {
		if sender != nil {
			m.sys.Root.Send(sender, r)
		}
	}
	switch r := msg.(type) {
	case *actor.Touch: // a peer's probe: answer as an actor would
		reply(&actor.Touched{Who: m.sys.NewLocalPID(ProcessName)})
	case *clusterpb.Leaving:
		held := make(map[string]bool, len(r.Held))
		for _, k := range r.Held {
			held[k] = true
		}
		until := time.Now().Add(time.Duration(r.WaitNs) + m.cfg.CallTimeout)
		m.mu.Lock()
		if l := m.leavers[r.Address]; l != nil && l.id == r.MemberId {
			l.until = until // asked again: what it holds came with the first, and shrinks by Released
		} else {
			m.leavers[r.Address] = &leaver{id: r.MemberId, until: until, held: held}
		}
		m.changedLocked()
		m.mu.Unlock()
		reply(&clusterpb.LeavingAck{Excluded: m.excludes(r.MemberId)})
	case *clusterpb.Released:
		m.mu.Lock()
		if r.HasState {
			m.parked[r.Key] = append([]byte{}, r.State...)
		}
		if l := m.leavers[r.Address]; l != nil {
			delete(l.held, r.Key)
		}
		m.changedLocked()
		m.mu.Unlock()
		reply(&clusterpb.ReleasedAck{})
	case *clusterpb.Left:
		m.mu.Lock()
		delete(m.leavers, r.Address)
		m.changedLocked()
		m.mu.Unlock()
		reply(&clusterpb.LeftAck{})
	}
}

// changedLocked wakes whoever waits for the leavers to change.
func (m *Member) changedLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}
