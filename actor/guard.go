package actor

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/mailbox"
)

// guard wraps an incarnation. A panic in its handler for *actor.Stopping,
// *actor.Stopped or *actor.Restarting would leave protoactor halfway through stopping
// the actor and escalate a failure whose Restart brings it back to life (upstream
// issue 214); guard logs such a panic and lets protoactor finish. Every other
// message goes straight through, and its panics escalate as usual.
type guard[A actor.Actor] struct{ inner A }

func newGuard[A actor.Actor](inner A) *guard[A] { return &guard[A]{inner: inner} }

// Receive passes every message on; only the stop handlers run under a recover,
// in a frame of their own, so that every other message pays for nothing more
// than the type switch.
func (g *guard[A]) Receive(c actor.Context) {
	switch c.Message().(type) {
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
		g.stopHandler(c)
		return
	}
	g.inner.Receive(c)
}

func (g *guard[A]) stopHandler(c actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			c.Logger().Error("quiesce: panic in a stop handler, ignored so that the stop completes",
				slog.String("actor", mailbox.PIDText(c.Self())), slog.Any("message", c.Message()), slog.Any("panic", r))
		}
	}()
	g.inner.Receive(c)
}

func (g *guard[A]) incarnation() any { return g.inner }
