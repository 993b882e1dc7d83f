package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// HandoffStep is the name of the step a Grain adds to its component's plan, last:
// the one that saves the activation's state for the identity's next activation.
const HandoffStep = "handoff"

// Grain is a cluster kind whose activations are Quiesce components that leave with
// their member: an activation does not serve before the identity's last
// activation, on a leaving member, has stopped, and may take over its state.
type Grain[A actor.Actor] struct {
	// Component is the grain: its actor, start hooks and plan, as for any component.
	Component qactor.Component[A]
	// Save, if set, runs as the plan's last step (HandoffStep, DeferFlag, Always, so
	// it runs after a force too, with the force budget): the state it returns is
	// given to the identity's next activation, here or, when this member leaves, on
	// the identity's new owner. Return nil for no state. It runs only for an
	// activation that started.
	Save func(a A, ctx context.Context) ([]byte, error)
	// Load, if set, takes the state the identity's last activation saved, before
	// the activation's own start hooks run. It is not called when there is none.
	Load func(a A, state []byte) error
	// SaveTimeout bounds Save. Zero means 5 s.
	SaveTimeout time.Duration
	// AcquireTimeout bounds how long an activation waits for leaving members to
	// release its identity, before it gives up with ErrNotReleased. Zero means 30 s.
	AcquireTimeout time.Duration
}

// Kind returns the cluster kind name of g, for cluster.WithKinds.
func (g Grain[A]) Kind(name string) (*cluster.Kind, error) {
	if name == "" {
		return nil, errors.New("quiesce/cluster: Grain.Kind: an empty kind name")
	}
	c := g.Component
	if g.SaveTimeout <= 0 {
		g.SaveTimeout = 5 * time.Second
	}
	if g.AcquireTimeout <= 0 {
		g.AcquireTimeout = 30 * time.Second
	}
	acquire := func(a A, ctx actor.Context) error {
		mem, key := grainOf(ctx)
		if mem == nil {
			return nil // not a cluster activation, or no Member: plain protoactor
		}
		state, err := mem.acquire(ctx.Self(), key, g.AcquireTimeout)
		if errors.Is(err, errRefusing) {
			return nil // it refuses every message (see watch), and never serves
		}
		if err != nil {
			// Nothing queued for this activation may be handled: it never served, and
			// the identity may live elsewhere. A forced stop has nothing to drain, and
			// refuses what is queued, with err as the reason's cause.
			if mb := mailbox.Of(ctx.ActorSystem(), ctx.Self()); mb != nil {
				mb.Force(err)
			}
			return err
		}
		if state != nil && g.Load != nil {
			if err := g.Load(a, state); err != nil {
				return fmt.Errorf("quiesce/cluster: %s: load the handed-off state: %w", key, err)
			}
		}
		mem.started(key, ctx.Self())
		return nil
	}
	// The component's own start hooks run only for an activation that serves.
	hooks := make([]func(A, actor.Context) error, 0, len(c.Start)+1)
	hooks = append(hooks, acquire)
	for _, h := range c.Start {
		hooks = append(hooks, func(a A, ctx actor.Context) error {
			if mem := Of(ctx.ActorSystem()); mem != nil && mem.refuses(ctx.Self()) {
				return nil
			}
			return h(a, ctx)
		})
	}
	c.Start = hooks
	if g.Save != nil {
		c.Steps = append(append([]qactor.Step[A](nil), c.Steps...), qactor.Step[A]{
			Name: HandoffStep, Policy: policy.DeferFlag, Timeout: g.SaveTimeout, Always: true,
			Run: func(a A, ctx context.Context) error {
				actx := mailbox.ActorContext(ctx)
				if actx == nil {
					return nil
				}
				mem, key := grainOf(actx)
				if mem == nil || !mem.hasStarted(key, actx.Self()) {
					return nil
				}
				state, err := g.Save(a, ctx)
				if err != nil {
					return err
				}
				mem.park(key, state)
				return nil
			},
		})
	}
	c.Options = append(append([]actor.PropsOption(nil), c.Options...), actor.WithReceiverMiddleware(watch))
	props, err := c.Props()
	if err != nil {
		return nil, err
	}
	return cluster.NewKind(name, props), nil
}

// MustKind is Kind that panics on an error.
func (g Grain[A]) MustKind(name string) *cluster.Kind {
	k, err := g.Kind(name)
	if err != nil {
		panic(err)
	}
	return k
}

// watch is the grains' receiver middleware: it records who sends to them (the
// leave makes sure its answers have left before remote shuts down), and their end.
func watch(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		mem := Of(c.ActorSystem())
		leaving := mem != nil && mem.inLeave.Load() // before it, nothing refuses and nothing is heard
		switch env.Message.(type) {
		case actor.SystemMessage, actor.AutoReceiveMessage, *cluster.ClusterInit:
		default:
			if leaving && mem.refuses(c.Self()) {
				mem.refuse(c.Self(), env)
				return
			}
		}
		next(c, env)
		switch env.Message.(type) {
		case *actor.Stopped:
			if ctx, ok := c.(actor.Context); ok && mem != nil {
				if ci := identityOf(ctx); ci != nil {
					mem.finished(ci.AsKey(), ctx.Self())
				}
				mem.unrefuse(ctx.Self())
			}
		default:
			// (Read again: a leave that began while the message was handled has
			// cleared what was heard, and wants this sender.)
			if mem != nil && mem.inLeave.Load() && env.Sender != nil && !mailbox.IsLocal(c.ActorSystem(), env.Sender) {
				mem.heard(env.Sender.Address)
			}
		}
	}
}

// grainOf returns the Member of the grain's system and the grain's key: nil if it
// is not a cluster activation or there is no Member.
func grainOf(ctx actor.Context) (mem *Member, key string) {
	mem = Of(ctx.ActorSystem())
	if mem == nil {
		return nil, ""
	}
	ci := identityOf(ctx)
	if ci == nil {
		return nil, ""
	}
	return mem, ci.AsKey()
}

// identityOf returns the grain's cluster identity, or nil: protoactor's
// GetClusterIdentity panics for an actor the cluster did not spawn.
func identityOf(ctx actor.ExtensionContext) (ci *cluster.ClusterIdentity) {
	defer func() {
		if recover() != nil {
			ci = nil
		}
	}()
	return cluster.GetClusterIdentity(ctx)
}

// activation is a grain's activation on this member.
type activation struct {
	pid     *actor.PID
	done    chan struct{} // closed once its actor has stopped
	once    sync.Once
	started bool // (Member.mu) it passed its acquire: its Save may hand state off
}

func (a *activation) end() { a.once.Do(func() { close(a.done) }) }

// errRefusing: the activation is on a leaving member, and refuses what it gets.
var errRefusing = errors.New("quiesce/cluster: refusing")

// refuses reports whether the activation self only refuses messages.
func (m *Member) refuses(self *actor.PID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refusing[self.Id]
}

func (m *Member) unrefuse(self *actor.PID) {
	m.mu.Lock()
	delete(m.refusing, self.Id)
	m.mu.Unlock()
}

// refuse answers a message to a refusing activation with the refusal of a member
// that is leaving, as the mailbox of a stopping grain would, on any node.
func (m *Member) refuse(self *actor.PID, env *actor.MessageEnvelope) {
	m.mu.Lock()
	m.arrived = time.Now()
	m.mu.Unlock()
	r := &mailbox.Refused{Actor: self, Message: env.Message, Err: mailbox.ErrStopping,
		Reason: lifecycle.NewReason(lifecycle.Shutdown, ErrMemberLeaving)}
	mailbox.SendRefusal(m.sys, env.Sender, r)
}

// acquire registers a new activation of key and waits until no leaving member
// holds the identity (its activation there has stopped, or the member has left, or
// its leave's deadline has passed), returning the state handed off, if any.
func (m *Member) acquire(self *actor.PID, key string, wait time.Duration) ([]byte, error) {
	m.mu.Lock()
	if m.leave != nil {
		// This member is leaving: it takes no new activation. Until every peer has
		// heard so, the start waits; then the activation refuses every message it
		// gets, as the member leaving, until the leave stops it (a caller that hears
		// it looks elsewhere; one that found it gone would try here again).
		m.arrived = time.Now()
		m.refusing[self.Id] = true
		m.mu.Unlock()
		select {
		case <-m.leaving:
		case <-m.quit:
		}
		return nil, errRefusing
	}
	a := &activation{pid: self, done: make(chan struct{})}
	m.acts[key] = a
	m.mu.Unlock()

	fail := func(err error) ([]byte, error) {
		m.mu.Lock()
		if m.acts[key] == a {
			delete(m.acts, key)
		}
		m.mu.Unlock()
		a.end()
		return nil, err
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		now := time.Now()
		m.mu.Lock()
		var soonest time.Time
		for _, l := range m.leavers {
			if l.held[key] && now.Before(l.until) && (soonest.IsZero() || l.until.Before(soonest)) {
				soonest = l.until
			}
		}
		changed := m.changed
		if soonest.IsZero() {
			var state []byte
			if st, ok := m.parked[key]; ok {
				delete(m.parked, key)
				state = st
			}
			m.mu.Unlock()
			return state, nil
		}
		m.mu.Unlock()
		expiry := time.NewTimer(time.Until(soonest))
		select {
		case <-changed:
		case <-expiry.C:
		case <-timeout.C:
			expiry.Stop()
			return fail(fmt.Errorf("%w: %s, after %v", ErrNotReleased, key, wait))
		case <-m.leaving:
			expiry.Stop()
			return fail(ErrMemberLeaving)
		case <-m.quit:
			expiry.Stop()
			return fail(ErrMemberLeaving)
		}
		expiry.Stop()
	}
}

// started marks key's activation as started.
func (m *Member) started(key string, self *actor.PID) {
	m.mu.Lock()
	if a := m.acts[key]; a != nil && a.pid.Equal(self) {
		a.started = true
	}
	m.mu.Unlock()
}

func (m *Member) hasStarted(key string, self *actor.PID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.acts[key]
	return a != nil && a.pid.Equal(self) && a.started
}

// finished sees key's activation stopped.
func (m *Member) finished(key string, self *actor.PID) {
	m.mu.Lock()
	a := m.acts[key]
	if a != nil && a.pid.Equal(self) {
		delete(m.acts, key)
	} else {
		a = nil
	}
	m.mu.Unlock()
	if a != nil {
		a.end()
	}
}

// park keeps state for key's next activation.
func (m *Member) park(key string, state []byte) {
	if state == nil {
		return
	}
	m.mu.Lock()
	m.parked[key] = state
	m.mu.Unlock()
}

// heard records that a grain here heard from addr, during a leave.
func (m *Member) heard(addr string) {
	m.mu.Lock()
	if m.leave != nil {
		m.answered[addr] = struct{}{}
		m.arrived = time.Now()
	}
	m.mu.Unlock()
}
