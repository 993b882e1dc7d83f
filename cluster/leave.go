package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/types/known/emptypb"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/cluster/clusterpb"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	qremote "github.com/quiesce/quiesce/remote"
)

// Report is what a Leave did, step by step.
type Report struct {
	Member  string // the member's ID
	Address string
	// Step 1: leave membership, keep serving.
	Peers       int           // the members this one told it is leaving
	Unannounced []string      // peers that did not answer the announcement (or do not speak Quiesce)
	Excluded    time.Duration // from the leave's start until every peer's topology excluded it
	Unconfirmed []string      // peers that heard it, and did not confirm their topology excludes it in time
	// Step 2: drain. The grains' stop, one root per activation that stopped; those
	// that had not when the drain gave up are in Tree.Stopping.
	Tree *qactor.Tree
	// Step 3: hand off.
	HandedOff          int      // states the identities' new owners confirmed they have
	HandoffUnconfirmed []string // identities whose state was sent, and not confirmed
	Lost               []string // identities whose state had no member to go to (the last member's, all)
	// Identities whose Save did not complete (an error, a panic, its timeout, or it
	// never returned): their next activation starts without this one's state.
	Unsaved []string
	// Step 4: shut down.
	Duration time.Duration
}

// String tells the leave in a few lines, a step each; print Tree for the grains'
// own reports.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "leave of %s (%s) in %v\n", r.Member, r.Address, r.Duration.Round(time.Millisecond))
	missed := map[string]bool{}
	for _, p := range append(append([]string(nil), r.Unannounced...), r.Unconfirmed...) {
		missed[p] = true
	}
	fmt.Fprintf(&b, "  1. left membership: %d of %s excluded it after %v", r.Peers-len(missed), plural(r.Peers, "peer"), r.Excluded.Round(time.Millisecond))
	if len(r.Unannounced) > 0 {
		fmt.Fprintf(&b, " (did not hear it: %s)", strings.Join(r.Unannounced, ", "))
	}
	if len(r.Unconfirmed) > 0 {
		fmt.Fprintf(&b, " (unconfirmed: %s)", strings.Join(r.Unconfirmed, ", "))
	}
	b.WriteString("\n")
	if r.Tree != nil {
		fmt.Fprintf(&b, "  2. drained %s: %v in %v", plural(len(r.Tree.Roots), "grain"), r.Tree.Verdict, r.Tree.Duration.Round(time.Millisecond))
		if n := len(r.Tree.Stopping); n > 0 {
			fmt.Fprintf(&b, ", %d still stopping at the deadline", n)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "  3. handed off %s", plural(r.HandedOff, "state"))
	if len(r.HandoffUnconfirmed) > 0 {
		fmt.Fprintf(&b, ", %d unconfirmed: %s", len(r.HandoffUnconfirmed), strings.Join(r.HandoffUnconfirmed, ", "))
	}
	if len(r.Unsaved) > 0 {
		fmt.Fprintf(&b, ", not saved %d: %s", len(r.Unsaved), strings.Join(r.Unsaved, ", "))
	}
	if len(r.Lost) > 0 {
		fmt.Fprintf(&b, ", lost %d: %s", len(r.Lost), strings.Join(r.Lost, ", "))
	}
	b.WriteString("\n  4. shut down identity lookup, gossip, remote\n")
	return b.String()
}

// plural is "1 peer", "2 peers", "2 identities".
func plural(n int, what string) string {
	switch {
	case n == 1:
		return "1 " + what
	case strings.HasSuffix(what, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(what, "y"))
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// leave is a leave under way.
type leave struct {
	deadline time.Time
	drainBy  time.Time
	peers    []*cluster.Member
	once     sync.Once
	tickets  []*mailbox.Ticket
	keys     []string     // the identity of each ticket's activation
	pids     []*actor.PID // and its PID
	began    time.Time
	releases sync.WaitGroup // the Released pushes, one per activation held at the start

	mu          sync.Mutex
	handed      int      // (mu) states the new owner confirmed
	unconfirmed []string // (mu) states sent whose confirmation did not come
	lost        []string // (mu) states with no owner to go to
}

// beginDrain asks every activation of this member to stop for the leave, by the
// drain's deadline, once.
func (l *leave) beginDrain(m *Member) {
	l.once.Do(func() {
		l.began = time.Now()
		m.mu.Lock()
		pids := make([]*actor.PID, 0, len(m.acts))
		keys := make([]string, 0, len(m.acts))
		for key, a := range m.acts {
			pids, keys = append(pids, a.pid), append(keys, key)
		}
		m.mu.Unlock()
		reason := lifecycle.NewReason(lifecycle.Shutdown, ErrMemberLeaving)
		for i, pid := range pids {
			if mb := mailbox.Of(m.sys, pid); mb != nil {
				l.tickets = append(l.tickets, mb.StopBy(l.drainBy, reason, nil))
				l.keys, l.pids = append(l.keys, keys[i]), append(l.pids, pid)
			}
		}
		close(m.draining)
	})
}

// Leave leaves the cluster gracefully, under ctx's deadline (Config.Deadline if it
// has none), and shuts the member down: see the package doc for the algorithm. It
// returns what it did, and an error for what it could not do: peers that did not
// hear or confirm the leave (step 1), grains that had not stopped when the drain
// gave up (qactor.ErrIncomplete), states not saved or with nowhere to go
// (ErrStateLost). Grains forced by the deadline are not an error: the Report's tree
// says so (its verdict, some forced). Leave on a member that has left, is leaving,
// was closed, or is a client returns ErrLeave, saying which, and a nil Report.
func (m *Member) Leave(ctx context.Context) (*Report, error) {
	start := time.Now()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = start.Add(m.cfg.Deadline)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	total := deadline.Sub(start)
	reserve := min(m.cfg.Reserve, total/4)
	l := &leave{deadline: deadline, drainBy: deadline.Add(-reserve)}
	m.mu.Lock()
	if why := m.cannotLeaveLocked(); why != "" {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrLeave, why)
	}
	m.leave = l
	m.inLeave.Store(true)
	self := m.sys.ID
	var peers []*cluster.Member
	for _, mem := range m.topology {
		if mem.Id != self {
			peers = append(peers, mem)
		}
	}
	l.peers = peers
	clear(m.answered) // the flush of step 4 is for whoever sends during the leave
	m.arrived = start
	held := make(map[string]*activation, len(m.acts))
	for key, a := range m.acts {
		held[key] = a
	}
	m.mu.Unlock()
	rep := &Report{Member: self, Address: m.sys.Address(), Peers: len(peers)}
	var errs []error

	// 1. Leave membership, keep serving.
	rep.Unannounced, rep.Unconfirmed = m.announce(ctx, l, held, start.Add(min(m.cfg.ExcludeWithin, total/4)))
	rep.Excluded = time.Since(start)
	if len(rep.Unannounced) > 0 {
		errs = append(errs, fmt.Errorf("quiesce/cluster: step 1: %s did not hear which identities this member holds", plural(len(rep.Unannounced), "peer")))
	}
	if len(rep.Unconfirmed) > 0 {
		errs = append(errs, fmt.Errorf("quiesce/cluster: step 1: %s did not confirm they exclude this member", plural(len(rep.Unconfirmed), "peer")))
	}

	// 2. Drain.
	l.beginDrain(m)
	tree, err := m.drain(ctx, l)
	rep.Tree = tree
	if err != nil {
		errs = append(errs, err)
	}

	// 3. Hand off.
	m.handoff(l, deadline.Add(-reserve/2))

	// 4. Shut down, once nothing has arrived for a while.
	m.quiet(deadline.Add(-reserve / 4))
	m.shutdown(ctx, l)

	// What became of the states, read once every release has ended (shutdown waits
	// for them), so a late one is counted.
	l.mu.Lock()
	rep.HandedOff, rep.Lost, rep.HandoffUnconfirmed = l.handed, l.lost, l.unconfirmed
	l.mu.Unlock()
	rep.Unsaved = l.unsaved()
	sort.Strings(rep.Lost)
	sort.Strings(rep.HandoffUnconfirmed)
	if n := len(rep.Unsaved); n > 0 {
		errs = append(errs, fmt.Errorf("%w (step 2): Save did not complete for %s: %s", ErrStateLost, plural(n, "identity"), strings.Join(rep.Unsaved, ", ")))
	}
	if n := len(rep.Lost); n > 0 {
		errs = append(errs, fmt.Errorf("%w (step 3): no member to take %s: %s", ErrStateLost, plural(n, "identity"), strings.Join(rep.Lost, ", ")))
	}
	rep.Duration = time.Since(start)
	return rep, errors.Join(errs...)
}

// cannotLeaveLocked says why this member cannot leave, or "".
func (m *Member) cannotLeaveLocked() string {
	switch {
	case m.leave != nil:
		return "it has left, or is leaving, already"
	case m.closed.Load():
		return "it was closed (Close removes the Member without leaving)"
	case m.c.Remote == nil:
		return "it is not a member of the cluster (a client, or not started)"
	}
	return ""
}

// announce is step 1: it tells every peer that this member is leaving and which
// identities it holds, refuses new activations once they all know, leaves
// membership (the gossip key of a graceful leave, and the provider), and asks again
// until every peer's topology excludes this member or by is reached. It returns the
// peers that did not answer the announcement, and those that did not confirm.
func (m *Member) announce(ctx context.Context, l *leave, held map[string]*activation, by time.Time) (unannounced, unconfirmed []string) {
	keys := make([]string, 0, len(held))
	for k := range held {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pending := map[string]bool{}
	for _, p := range l.peers {
		pending[p.Address()] = true
	}
	// The announcement: every peer hears which identities this member holds.
	type answer struct {
		addr     string
		excluded bool
		ok       bool
	}
	answers := make(chan answer, len(pending))
	wait := min(m.cfg.CallTimeout, max(time.Until(by), time.Millisecond))
	for addr := range pending {
		go func() {
			msg := &clusterpb.Leaving{MemberId: m.sys.ID, Address: m.sys.Address(), WaitNs: int64(time.Until(l.deadline)), Held: keys}
			res, err := m.call(addr, msg, wait)
			ack, ok := res.(*clusterpb.LeavingAck)
			answers <- answer{addr: addr, excluded: ok && ack.Excluded, ok: err == nil && ok}
		}()
	}
	for n := len(pending); n > 0; n-- {
		a := <-answers
		switch {
		case a.excluded:
			delete(pending, a.addr)
		case !a.ok:
			// No answer, or a member that does not speak Quiesce: it does not know
			// which identities this member holds, and is not asked again.
			unannounced = append(unannounced, a.addr)
			delete(pending, a.addr)
		}
	}
	// Every peer that answered knows which identities this member holds: an
	// activation of one of them there waits for its Released. From now on this
	// member takes no new activation.
	m.mu.Lock()
	close(m.leaving)
	m.mu.Unlock()
	for key, a := range held {
		l.releases.Add(1)
		go m.releaseWhenDone(l, key, a)
	}
	if len(m.c.GetClusterKinds()) > 0 {
		// A member (StartMember builds the kinds; a client has none): a client's
		// gossiper was never started, and its SetState calls a nil throttle
		// (gossiper.go:106).
		m.c.Gossip.SetState(cluster.GracefullyLeftKey, &emptypb.Empty{})
	}
	if err := m.c.Config.ClusterProvider.Shutdown(true); err != nil {
		m.sys.Logger().Warn("quiesce/cluster: the provider's shutdown failed", "error", err)
	}
	if len(pending) > 0 {
		m.confirm(ctx, l, pending, by)
	}
	for addr := range pending {
		unconfirmed = append(unconfirmed, addr)
	}
	sort.Strings(unannounced)
	sort.Strings(unconfirmed)
	return unannounced, unconfirmed
}

// confirm asks each peer of pending, every Config.Poll, until its topology excludes
// this member, or by; it removes from pending the peers that confirmed. A peer
// whose topology excludes this member has dropped its endpoint to it
// (cluster.MemberList.TerminateMember), and its answer may be lost in the
// endpoint's churn (see the package doc): each peer is asked on its own, again and
// again, each time waiting little, and an answer that comes late still counts.
func (m *Member) confirm(ctx context.Context, l *leave, pending map[string]bool, by time.Time) {
	confirmed := make(chan string, len(pending))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for addr := range pending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(m.cfg.Poll)
			defer tick.Stop()
			for {
				wg.Add(1)
				go func() { // one question; its answer may come after the next is asked
					defer wg.Done()
					msg := &clusterpb.Leaving{MemberId: m.sys.ID, Address: m.sys.Address(), WaitNs: int64(time.Until(l.deadline))}
					res, err := m.call(addr, msg, min(m.cfg.CallTimeout, 4*m.cfg.Poll, max(time.Until(by), time.Millisecond)))
					if ack, ok := res.(*clusterpb.LeavingAck); err == nil && ok && ack.Excluded {
						select {
						case confirmed <- addr:
						case <-stop:
						}
					}
				}()
				select {
				case <-tick.C:
				case <-stop:
					return
				}
			}
		}()
	}
	timer := time.NewTimer(time.Until(by))
	defer timer.Stop()
wait:
	for len(pending) > 0 {
		select {
		case addr := <-confirmed:
			delete(pending, addr)
		case <-timer.C:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	close(stop)
	wg.Wait()
}

// releaseWhenDone waits until the activation of key has stopped, then tells every
// peer the identity is released, and its new owner the state it saved.
func (m *Member) releaseWhenDone(l *leave, key string, a *activation) {
	defer l.releases.Done()
	select {
	case <-a.done:
	case <-m.quit:
		return
	}
	m.mu.Lock()
	state, has := m.parked[key]
	delete(m.parked, key)
	m.mu.Unlock()
	m.release(l, key, state, has)
}

// release sends Released of key to every peer of the leave and to the identity's
// owner, with the state to the owner, and records what became of the state.
func (m *Member) release(l *leave, key string, state []byte, has bool) {
	owner := m.ownerOf(key)
	to := map[string]bool{}
	for _, p := range l.peers {
		to[p.Address()] = true
	}
	if owner != "" {
		to[owner] = true
	}
	var wg sync.WaitGroup
	for addr := range to {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := &clusterpb.Released{Address: m.sys.Address(), Key: key}
			if addr == owner && has {
				msg.HasState, msg.State = true, state
			}
			res, err := m.call(addr, msg, m.cfg.CallTimeout)
			if addr != owner || !has {
				return
			}
			l.mu.Lock()
			if _, ok := res.(*clusterpb.ReleasedAck); ok && err == nil {
				l.handed++
			} else {
				l.unconfirmed = append(l.unconfirmed, key)
			}
			l.mu.Unlock()
		}()
	}
	wg.Wait()
	if has && owner == "" {
		l.mu.Lock()
		l.lost = append(l.lost, key)
		l.mu.Unlock()
	}
}

// ownerOf returns the address of key's owner among the members of this member's
// topology that are not leaving, this one neither, or "".
func (m *Member) ownerOf(key string) string {
	kind, identity, _ := strings.Cut(key, "/")
	return m.owner(cluster.NewClusterIdentity(identity, kind), m.leavingAddrs(), true)
}

// owner returns the address of ci's owner (protoactor's rendezvous) among the
// members of this member's topology that are not leaving, nor this one if notSelf,
// or "".
func (m *Member) owner(ci *cluster.ClusterIdentity, leaving map[string]bool, notSelf bool) string {
	var owners cluster.Members
	for _, mem := range m.Topology() {
		if !leaving[mem.Address()] && !(notSelf && mem.Id == m.sys.ID) {
			owners = append(owners, mem)
		}
	}
	rdv := cluster.NewRendezvous()
	rdv.UpdateMembers(owners)
	return rdv.GetByClusterIdentity(ci)
}

// drain is step 2: it waits for the grains' stops, begun by beginDrain, until the
// drain's deadline; past it, it forces them and waits two force budgets more.
func (m *Member) drain(ctx context.Context, l *leave) (*qactor.Tree, error) {
	dctx, cancel := context.WithDeadline(ctx, l.drainBy)
	defer cancel()
	tree := &qactor.Tree{}
	wait := func(until <-chan struct{}) bool {
		for _, t := range l.tickets {
			select {
			case <-t.Done():
			case <-until:
				return false
			}
		}
		return true
	}
	var err error
	if !wait(dctx.Done()) {
		var grace time.Duration
		for _, t := range l.tickets {
			grace = max(grace, 2*t.AbandonAfter())
		}
		qactor.Force(m.sys, fmt.Errorf("%w: %w", ErrMemberLeaving, mailbox.ErrDeadline), m.stopping()...) //nolint:errcheck // local PIDs
		gctx, gcancel := context.WithTimeout(context.Background(), grace)
		if !wait(gctx.Done()) {
			err = fmt.Errorf("quiesce/cluster: step 2: %w: some grains had not stopped by the leave's deadline", qactor.ErrIncomplete)
		}
		gcancel()
	}
	for i, t := range l.tickets {
		r := t.Report()
		if r == nil {
			// Not stopped by the deadline: named, and the verdict says it was left.
			tree.Stopping = append(tree.Stopping, l.pids[i])
			tree.Verdict = max(tree.Verdict, lifecycle.SomeAbandoned)
			continue
		}
		tree.Roots = append(tree.Roots, r)
		tree.Verdict = max(tree.Verdict, r.Verdict())
	}
	tree.Duration = time.Since(l.began)
	return tree, err
}

// unsaved returns the identities whose activation's HandoffStep ran and did not
// complete: their state was not saved.
func (l *leave) unsaved() []string {
	var out []string
	for i, t := range l.tickets {
		r := t.Report()
		if r == nil {
			continue
		}
		for _, s := range r.Steps {
			if s.Name == HandoffStep && s.Status != lifecycle.Completed {
				out = append(out, l.keys[i])
			}
		}
	}
	sort.Strings(out)
	return out
}

// stopping returns the PIDs of the activations that have not stopped.
func (m *Member) stopping() []*actor.PID {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*actor.PID
	for _, a := range m.acts {
		out = append(out, a.pid)
	}
	return out
}

// handoff is step 3: it waits, until by, for the Released of every identity this
// member held when the leave began, then hands off what else is parked here (state
// saved by activations that stopped before the leave, or handed to this member),
// each to its identity's owner.
func (m *Member) handoff(l *leave, by time.Time) {
	done := make(chan struct{})
	go func() {
		l.releases.Wait()
		close(done)
	}()
	timer := time.NewTimer(time.Until(by))
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
	m.mu.Lock()
	parked := m.parked
	m.parked = map[string][]byte{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for key, st := range parked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.release(l, key, st, true)
		}()
	}
	wg.Wait()
}

// quiet waits until nothing has reached this member's grains, and no activation
// has been refused here, for Config.Quiet, or until by.
func (m *Member) quiet(by time.Time) {
	for {
		m.mu.Lock()
		next := m.arrived.Add(m.cfg.Quiet)
		m.mu.Unlock()
		now := time.Now()
		if !next.After(now) || !by.After(now) {
			return
		}
		timer := time.NewTimer(min(next.Sub(now), by.Sub(now)))
		<-timer.C
	}
}

// shutdown is step 4: it tells the peers the leave is over, makes sure what the
// grains answered has left (a round trip to each node they heard from: protoactor's
// endpoint writer keeps the order of what it sends), and shuts down what
// cluster.Shutdown does, in this order: identity lookup, gossip, remote, the actor
// system.
func (m *Member) shutdown(ctx context.Context, l *leave) {
	// An answer from a peer whose topology excludes this member may be lost (see
	// announce): the round trips wait little.
	wait := min(m.cfg.CallTimeout, 500*time.Millisecond, max(remaining(ctx, m.cfg.CallTimeout), 100*time.Millisecond))
	var wg sync.WaitGroup
	for _, p := range l.peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = m.call(p.Address(), &clusterpb.Left{Address: m.sys.Address()}, wait)
		}()
	}
	m.mu.Lock()
	addrs := make([]string, 0, len(m.answered))
	for a := range m.answered {
		addrs = append(addrs, a)
	}
	m.mu.Unlock()
	for _, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A node with Quiesce's remote answers Touched; one without, its dead letter.
			_, _ = m.sys.Root.RequestFuture(actor.NewPID(addr, qremote.ProcessName), &actor.Touch{}, wait).Result()
		}()
	}
	wg.Wait()
	m.c.IdentityLookup.Shutdown()
	m.c.Gossip.Shutdown()
	m.Close()
	l.releases.Wait() // they end at Close, within a call's timeout
	sys := m.sys
	// protoactor's remote.Shutdown(true) stops the endpoint manager, which sets a
	// field to nil that endpoint writers read without a lock (a data race, and a nil
	// dereference if the read comes late): stop the activator and the endpoint
	// supervisor (every endpoint writer with it) first, then the gRPC server.
	qremote.StopRemote(sys, m.c.Remote)
	sys.Shutdown()
}
