package remote

import (
	"context"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The handshake. A node learns whether a peer speaks Quiesce by asking the peer's
// process (ProcessName) with protoactor's own Touch, a message every protoactor
// node has registered: a node that has installed this package answers Touched, one
// that has not answers with its dead letter's DeadLetterResponse. Only then do
// Quiesce's wire messages go to it, so a node that lacks their types never receives
// one (protoactor's protobuf deserializer would crash it). The answer is kept per
// address until protoactor reports the endpoint terminated: a node that restarts at
// the same address, perhaps as an older program, is probed again.

type peerState uint8

const (
	probing     peerState = iota // the probe is under way: messages wait
	speaks                       // the peer speaks Quiesce
	plain                        // the peer answered with a dead letter
	unreachable                  // the probe found no answer; the next message probes again
)

type peer struct {
	addr    string
	ready   chan struct{} // closed once the probe has an answer
	mu      sync.Mutex
	state   peerState // (mu)
	pending []pending // (mu) held while probing, in order
}

type pending struct {
	pid *actor.PID
	msg any
}

// peerFor returns the peer at addr, and whether it is new, so that its probe is
// still to begin.
func (n *Node) peerFor(addr string) (*peer, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p := n.peers[addr]; p != nil {
		return p, false
	}
	p := &peer{addr: addr, ready: make(chan struct{})}
	n.peers[addr] = p
	return p, true
}

// forget drops what is known of addr (only if it is still p, when p is not nil).
func (n *Node) forget(addr string, p *peer) {
	n.mu.Lock()
	if q := n.peers[addr]; q != nil && (p == nil || q == p) {
		delete(n.peers, addr)
	}
	n.mu.Unlock()
}

// speaks waits for the answer of addr's probe, beginning it if need be.
func (n *Node) speaks(ctx context.Context, addr string) error {
	if n.closed.Load() {
		return ErrClosed
	}
	p, fresh := n.peerFor(addr)
	if fresh {
		n.probe(p)
	}
	select {
	case <-p.ready:
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-n.quit:
		return ErrClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case speaks:
		return nil
	case plain:
		return ErrPlainNode
	}
	return ErrUnreachable
}

// probe is one handshake: a process of its own takes the answer, and a timer
// bounds the wait.
type probe struct {
	n     *Node
	peer  *peer
	pid   *actor.PID
	mu    sync.Mutex
	timer *time.Timer // (mu)
	done  bool        // (mu)
}

func (n *Node) probe(p *peer) {
	n.stats.probes.Add(1)
	pr := &probe{n: n, peer: p}
	pr.pid, _ = n.system.ProcessRegistry.Add(pr, "quiesce.probe"+n.system.ProcessRegistry.NextId())
	n.mu.Lock()
	n.probes[pr] = struct{}{}
	n.mu.Unlock()
	pr.mu.Lock()
	pr.timer = time.AfterFunc(n.cfg.ProbeTimeout, func() { pr.resolve(unreachable) })
	pr.mu.Unlock()
	if n.closed.Load() {
		pr.resolve(unreachable) // Close may have missed it
		return
	}
	n.system.Root.RequestWithCustomSender(processAt(p.addr), &actor.Touch{}, pr.pid)
}

// SendUserMessage takes the probe's answer. A DeadLetterResponse with a Target comes
// from this node's own endpoint writer, which could not reach the peer; the peer's
// dead letter answers without one.
func (pr *probe) SendUserMessage(_ *actor.PID, message any) {
	switch m := actor.UnwrapEnvelopeMessage(message).(type) {
	case *actor.Touched:
		pr.resolve(speaks)
	case *actor.DeadLetterResponse:
		if m.Target != nil {
			pr.resolve(unreachable)
			return
		}
		pr.resolve(plain)
	default:
		pr.resolve(plain) // something answered, and it is not Quiesce
	}
}

func (*probe) SendSystemMessage(*actor.PID, any) {}
func (*probe) Stop(*actor.PID)                   {}

// resolve records the answer, once, and sends what waited for it, in order.
func (pr *probe) resolve(st peerState) {
	pr.mu.Lock()
	if pr.done {
		pr.mu.Unlock()
		return
	}
	pr.done = true
	if pr.timer != nil {
		pr.timer.Stop()
	}
	pr.mu.Unlock()
	n, p := pr.n, pr.peer
	n.system.ProcessRegistry.Remove(pr.pid)
	n.mu.Lock()
	delete(n.probes, pr)
	n.mu.Unlock()
	p.mu.Lock()
	p.state = st
	for _, m := range p.pending {
		n.sendAs(st, m.pid, m.msg)
	}
	p.pending = nil
	close(p.ready)
	p.mu.Unlock()
	if st == unreachable {
		n.forget(p.addr, p)
	}
}
