package remote

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/remote/wirepb"
)

// ProcessName is the name of the process every node that has installed Quiesce's
// remote support registers: the one its peers probe, and send Quiesce's messages
// to. The version in it is the wire form's.
const ProcessName = "quiesce.v1"

// Errors of a Node.
var (
	// ErrPlainNode: the node does not speak Quiesce (it has not installed this
	// package, or an older wire version): it answered the probe with a dead letter.
	ErrPlainNode = errors.New("quiesce/remote: the node does not speak Quiesce")
	// ErrUnreachable: the node did not answer the probe in time, or could not be
	// reached.
	ErrUnreachable = errors.New("quiesce/remote: the node is unreachable")
	// ErrClosed: the Node was closed.
	ErrClosed = errors.New("quiesce/remote: closed")
	// ErrInstalled: a Node is installed on the actor system already.
	ErrInstalled = errors.New("quiesce/remote: already installed on this actor system")
)

// Config tunes a Node. The zero value works.
type Config struct {
	// ProbeTimeout bounds the handshake with a node: how long the messages for it
	// wait to learn whether it speaks Quiesce. Zero means 5 s.
	ProbeTimeout time.Duration
	// CallTimeout bounds qactor.Force and qactor.PhaseOf for a PID of another node,
	// which take no ctx. Zero means 5 s.
	CallTimeout time.Duration
	// Pending bounds the messages held for one node while its probe runs; past it,
	// a message meets the fallback at once. Zero means 10,000.
	Pending int
	// Deaf names more local actors that must not be sent notices, besides
	// protoactor remote's activator (the parent of every remote spawn).
	Deaf func(pid *actor.PID) bool
}

func (c Config) withDefaults() Config {
	if c.ProbeTimeout <= 0 {
		c.ProbeTimeout = 5 * time.Second
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 5 * time.Second
	}
	if c.Pending <= 0 {
		c.Pending = 10_000
	}
	return c
}

// Node is Quiesce's remote support on one actor system: it is the system's
// mailbox.Remote and qactor.Remote, and its process, ProcessName, takes Quiesce's
// messages from other nodes. Its methods are safe from any goroutine.
type Node struct {
	system *actor.ActorSystem
	cfg    Config
	proc   *process
	sub    *eventstream.Subscription

	closed atomic.Bool
	quit   chan struct{}
	wg     sync.WaitGroup // the goroutines that wait for stops requested from other nodes

	mu     sync.Mutex
	peers  map[string]*peer // by address
	probes map[*probe]struct{}

	stats counters
}

// Install installs Quiesce's remote support on system and returns it. Install it
// once per actor system, after remote.NewRemote and before the system takes part in
// remote traffic (Start is fine either side of it); Close removes it.
func Install(system *actor.ActorSystem, cfg Config) (*Node, error) {
	if mailbox.InstalledRemote(system) != nil {
		return nil, ErrInstalled
	}
	n := &Node{
		system: system, cfg: cfg.withDefaults(), quit: make(chan struct{}),
		peers: map[string]*peer{}, probes: map[*probe]struct{}{},
	}
	n.proc = &process{n: n}
	if _, ok := system.ProcessRegistry.Add(n.proc, ProcessName); !ok {
		return nil, fmt.Errorf("quiesce/remote: the name %q is taken on this actor system", ProcessName)
	}
	n.sub = system.EventStream.SubscribeWithPredicate(n.onEvent, n.wants)
	mailbox.InstallRemote(system, n)
	return n, nil
}

// Of returns the Node installed on system, or nil.
func Of(system *actor.ActorSystem) *Node {
	n, _ := mailbox.InstalledRemote(system).(*Node)
	return n
}

// Close removes the Node from its actor system: mailboxes no longer offer it their
// messages, its process is gone (peers that probe the system from now on find a
// plain node), and the stops it was waiting for on behalf of other nodes are
// answered with ErrClosed. Call it before shutting remote down. Close waits for the
// Node's goroutines; it is safe to call twice.
func (n *Node) Close() {
	if !n.closed.CompareAndSwap(false, true) {
		return
	}
	mailbox.InstallRemote(n.system, nil)
	n.system.EventStream.Unsubscribe(n.sub)
	n.system.ProcessRegistry.Remove(n.system.NewLocalPID(ProcessName))
	close(n.quit)
	n.mu.Lock()
	probes := make([]*probe, 0, len(n.probes))
	for p := range n.probes {
		probes = append(probes, p)
	}
	n.mu.Unlock()
	for _, p := range probes {
		p.resolve(unreachable)
	}
	n.wg.Wait()
}

// Stats counts what a Node has done since Install.
type Stats struct {
	Probes    int64 // handshakes begun with other nodes
	Sent      int64 // Quiesce messages sent in wire form
	Received  int64 // Quiesce messages received in wire form
	Fallbacks int64 // refusals answered as a DeadLetterResponse, to a node that does not speak Quiesce
	Dropped   int64 // notices not sent, to a node that does not speak Quiesce
}

type counters struct{ probes, sent, received, fallbacks, dropped atomic.Int64 }

// Stats returns the Node's counts.
func (n *Node) Stats() Stats {
	return Stats{
		Probes: n.stats.probes.Load(), Sent: n.stats.sent.Load(), Received: n.stats.received.Load(),
		Fallbacks: n.stats.fallbacks.Load(), Dropped: n.stats.dropped.Load(),
	}
}

// Deaf reports whether pid, a local actor, must not be sent notices: protoactor
// remote's activator, or an actor Config.Deaf names. (mailbox.Remote)
func (n *Node) Deaf(pid *actor.PID) bool {
	return pid.Id == "activator" || (n.cfg.Deaf != nil && n.cfg.Deaf(pid))
}

// Deliver sends msg, a *mailbox.Refused, a Notice or a *mailbox.StepProgress, to
// pid, an actor of another node, without blocking (mailbox.Remote). To a node that
// speaks Quiesce it goes in wire form, through that node's process, which hands the
// Go value to pid; to one that does not, a refusal becomes protoactor's
// DeadLetterResponse (a future there fails with actor.ErrDeadLetter at once) and a
// notice is not sent. While the first probe of a node runs, its messages wait, in
// order.
func (n *Node) Deliver(pid *actor.PID, msg any) {
	if n.closed.Load() || pid == nil {
		return
	}
	p, fresh := n.peerFor(pid.Address)
	if fresh {
		n.probe(p)
	}
	p.mu.Lock()
	if p.state == probing && len(p.pending) < n.cfg.Pending {
		p.pending = append(p.pending, pending{pid, msg})
		p.mu.Unlock()
		return
	}
	st := p.state
	if st == probing {
		st = unreachable // too many waiting: this one does not
	}
	n.sendAs(st, pid, msg)
	p.mu.Unlock()
}

// sendAs sends msg to pid as a node in state st takes it.
func (n *Node) sendAs(st peerState, pid *actor.PID, msg any) {
	if st == speaks {
		if env := encode(pid, msg); env != nil {
			n.stats.sent.Add(1)
			n.system.Root.Send(processAt(pid.Address), env)
		}
		return
	}
	if r, ok := msg.(*mailbox.Refused); ok {
		n.stats.fallbacks.Add(1)
		n.system.Root.Send(pid, &actor.DeadLetterResponse{Target: r.Actor})
		return
	}
	n.stats.dropped.Add(1)
	n.system.Logger().Debug("quiesce/remote: notice not sent: the node does not speak Quiesce",
		slog.Any("to", pid), slog.String("notice", fmt.Sprintf("%T", msg)))
}

// send sends a Go value to pid: through Deliver if pid is on another node, at once if
// it is local.
func (n *Node) send(pid *actor.PID, msg any) {
	if n.local(pid) {
		n.system.Root.Send(pid, msg)
		return
	}
	n.Deliver(pid, msg)
}

// local reports whether pid is an actor of this system (see mailbox.RemoteFor).
func (n *Node) local(pid *actor.PID) bool { return mailbox.IsLocal(n.system, pid) }

func processAt(address string) *actor.PID { return actor.NewPID(address, ProcessName) }

// wants is the EventStream predicate: the events the Node handles.
func (n *Node) wants(evt any) bool {
	switch evt.(type) {
	case *remote.EndpointTerminatedEvent:
		return true
	}
	return false
}

func (n *Node) onEvent(evt any) {
	if e, ok := evt.(*remote.EndpointTerminatedEvent); ok {
		n.forget(e.Address, nil) // the node may come back as another program: probe it again
	}
}

// process is the Node's process in protoactor's registry, under ProcessName: no
// actor, no mailbox; protoactor's endpoint reader calls it on its own goroutine, and
// it does nothing that blocks.
type process struct{ n *Node }

func (p *process) SendUserMessage(_ *actor.PID, message any) {
	_, msg, sender := actor.UnwrapEnvelope(message)
	n := p.n
	switch m := msg.(type) {
	case *actor.Touch: // a peer's probe: answer as an actor would
		if sender != nil {
			n.system.Root.Send(sender, &actor.Touched{Who: n.system.NewLocalPID(ProcessName)})
		}
	case *wirepb.Envelope:
		n.stats.received.Add(1)
		n.receive(m, sender)
	}
}

func (*process) SendSystemMessage(*actor.PID, any) {}
func (*process) Stop(*actor.PID)                   {}

// receive handles a wire message from another node.
func (n *Node) receive(env *wirepb.Envelope, sender *actor.PID) {
	switch b := env.Body.(type) {
	case *wirepb.Envelope_Stop:
		n.serveStop(b.Stop, sender)
	case *wirepb.Envelope_Phase:
		n.servePhase(b.Phase, sender)
	case *wirepb.Envelope_Watch:
		n.serveWatch(b.Watch, sender)
	default:
		msg := decode(env)
		target := decodePID(env.Target)
		if msg == nil || target == nil {
			return // a reply that came too late, or a body of a later version
		}
		if _, refusal := msg.(*mailbox.Refused); refusal {
			n.system.Root.Send(target, msg) // a future or an actor: either takes its answer
			return
		}
		// A notice or progress goes to actors only, as a mailbox sends them: a
		// future would take it for its answer.
		if p, ok := n.system.ProcessRegistry.Get(target); ok {
			if _, ok := p.(*actor.ActorProcess); ok {
				p.SendUserMessage(target, msg)
			}
		}
	}
}
