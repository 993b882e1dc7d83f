package mailbox_test

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/internal/testsys"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// newSystem returns a real actor system that logs nowhere.
func newSystem() *actor.ActorSystem { return testsys.New() }

// settle ends a synctest bubble cleanly; see testsys.Settle.
func settle() { testsys.Settle() }

// events subscribes to the system's EventStream and hands over every value of type T.
func events[T any](sys *actor.ActorSystem) (<-chan T, func()) {
	ch := make(chan T, 1024)
	sub := sys.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(T); ok {
			ch <- e
		}
	})
	return ch, func() { sys.EventStream.Unsubscribe(sub) }
}

// props returns the props of an actor that runs receive in a bare Quiesce mailbox
// made from cfg.
func props(t testing.TB, cfg mailbox.Config, receive actor.ReceiveFunc, opts ...actor.PropsOption) *actor.Props {
	t.Helper()
	p, err := mailbox.Producer(cfg)
	require.NoError(t, err)
	return actor.PropsFromFunc(receive, append(opts, actor.WithMailbox(p))...)
}

// spawn spawns p from the root and waits until the actor is Running. It returns the
// PID and the actor's mailbox.
func spawn(t testing.TB, sys *actor.ActorSystem, p *actor.Props) (*actor.PID, *mailbox.Mailbox) {
	t.Helper()
	phases, unsubscribe := events[*mailbox.PhaseChanged](sys)
	defer unsubscribe()
	pid := sys.Root.Spawn(p)
	recvUntil(t, phases, "the new actor to run", func(e *mailbox.PhaseChanged) bool {
		return e.Actor.Equal(pid) && e.To == lifecycle.Running
	})
	mb := mailbox.Of(sys, pid)
	require.NotNil(t, mb)
	return pid, mb
}

// withChild spawns, as spawn does, a Quiesce actor made from cfg that spawns one
// child from child when it starts, and hands receive every other message. It
// returns the parent's PID and mailbox, and the child's mailbox.
func withChild(t testing.TB, sys *actor.ActorSystem, cfg mailbox.Config, child *actor.Props, receive actor.ReceiveFunc) (*actor.PID, *mailbox.Mailbox, *mailbox.Mailbox) {
	t.Helper()
	kids := make(chan *actor.PID, 1)
	pid, mb := spawn(t, sys, props(t, cfg, func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			kids <- c.Spawn(child)
			return
		}
		receive(c)
	}))
	km := mailbox.Of(sys, recv(t, kids, "the child to be spawned"))
	require.NotNil(t, km)
	return pid, mb, km
}

// probe is an actor that reports, in order, every string and notice it gets, and
// answers a request for s with "ok s". On "block" it reports, signals entered and
// waits for release: what is sent meanwhile stays queued.
type probe struct {
	t       testing.TB
	got     chan any
	entered chan struct{}
	release chan struct{}
}

func newProbe(t testing.TB) *probe {
	return &probe{t: t, got: make(chan any, 256), entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (p *probe) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case string:
		p.got <- m
		if m == "block" {
			p.entered <- struct{}{}
			<-p.release
		}
		if c.Sender() != nil {
			c.Respond("ok " + m)
		}
	case mailbox.Notice:
		p.got <- m
	}
}

// step returns a step that reports "step <name>" to p, and then, if wait is not
// nil, waits for it to be closed, deaf to its ctx.
func (p *probe) step(name string, pol policy.Policy, wait <-chan struct{}) lifecycle.Step {
	return lifecycle.Step{Name: name, Policy: pol, Run: func(context.Context) error {
		p.got <- "step " + name
		if wait != nil {
			<-wait
		}
		return nil
	}}
}

// next returns what p got next, or fails the test saying it waited for what.
func (p *probe) next(what string) any {
	p.t.Helper()
	return recv(p.t, p.got, what)
}

// take returns the next n things p got, or fails the test saying it waited for what.
func (p *probe) take(n int, what string) []any {
	p.t.Helper()
	return recvN(p.t, p.got, n, what)
}

// awaitEntered waits until p's Receive has begun handling "block".
func (p *probe) awaitEntered() {
	p.t.Helper()
	recv(p.t, p.entered, `the probe to begin handling "block"`)
}

// deadLetters returns the messages published as dead letters to pid.
func deadLetters(sys *actor.ActorSystem, pid *actor.PID) (<-chan any, func()) {
	ch := make(chan any, 1024)
	sub := sys.EventStream.Subscribe(func(evt any) {
		if d, ok := evt.(*actor.DeadLetterEvent); ok && d.PID.Equal(pid) {
			ch <- d.Message
		}
	})
	return ch, func() { sys.EventStream.Unsubscribe(sub) }
}
