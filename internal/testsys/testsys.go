// Package testsys makes the actor systems Quiesce's tests run on: real protoactor
// systems that log nowhere and leave no goroutine behind for goleak.
package testsys

import (
	"io"
	"log/slog"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/mailbox"
)

// New returns an actor system that logs nowhere and publishes Quiesce's events. Its dead-letter log throttle (a
// protoactor goroutine that sleeps one interval after each logged dead letter)
// sleeps a millisecond, so that goleak finds it gone.
func New(opts ...actor.ConfigOption) *actor.ActorSystem {
	sys := actor.NewActorSystem(append([]actor.ConfigOption{
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	}, opts...)...)
	mailbox.Configure(sys, mailbox.Settings{Events: true}) // the tests observe through events
	return sys
}

// Settle ends a synctest bubble cleanly: protoactor's dead-letter log throttle
// sleeps an interval in a goroutine of its own, and a bubble's clock stops when its
// main goroutine returns. Call it last, inside the bubble.
func Settle() {
	time.Sleep(10 * time.Millisecond)
	synctest.Wait()
}
