package mailbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// quietSystem is an actor system that logs nowhere.
func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.NewTextHandler(io.Discard, nil))
		}),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
}

// A bare Quiesce mailbox gives an ordinary protoactor actor a Stopping phase: what
// was queued when the stop came is handled, what comes later is refused, and then
// the plan runs, step by step.
func ExampleProducer() {
	sys := quietSystem()
	plan := lifecycle.MustPlan(
		lifecycle.Step{Name: "flush", Policy: policy.DeferFlag, Run: func(context.Context) error {
			fmt.Println("flushing")
			return nil
		}},
		lifecycle.Step{Name: "close", Run: func(context.Context) error { return errors.New("already closed") }},
	)
	producer, err := mailbox.Producer(mailbox.Config{Plan: plan})
	if err != nil {
		panic(err)
	}
	busy, release := make(chan struct{}), make(chan struct{})
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if msg, ok := c.Message().(string); ok {
			fmt.Println("got", msg)
			if msg == "first" {
				close(busy)
				<-release
			}
		}
	}, actor.WithMailbox(producer)))

	sys.Root.Send(pid, "first")
	await(busy, "the actor to be busy") // what comes next waits in its queue
	sys.Root.Send(pid, "second")
	sys.Root.Send(pid, "third")
	mb := mailbox.Of(sys, pid)
	ticket := mb.Stop(lifecycle.NewReason(lifecycle.Shutdown, nil), nil)
	sys.Root.Send(pid, "too late")
	close(release)

	await(ticket.Done(), "the stop to end")
	rep := ticket.Report()
	fmt.Println("reason:", rep.Reason)
	for _, s := range rep.Steps {
		fmt.Println(s.Name, s.Status, s.Err)
	}
	fmt.Println("drained:", rep.Drained, "refused:", rep.Refused)
	fmt.Println("phase:", mb.Phase())
	// Output:
	// got first
	// got second
	// got third
	// flushing
	// reason: shutdown
	// flush completed <nil>
	// close failed already closed
	// drained: 2 refused: 1
	// phase: stopped
}

// A request to an actor that is stopping is answered at once with a *Refused: the
// caller can tell it from a timeout and from a dead letter, and learns why.
func ExampleRefused() {
	sys := quietSystem()
	inStep, done := make(chan struct{}), make(chan struct{})
	plan := lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(context.Context) error {
		close(inStep)
		<-done
		return nil
	}})
	producer, err := mailbox.Producer(mailbox.Config{Plan: plan})
	if err != nil {
		panic(err)
	}
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}, actor.WithMailbox(producer)))
	mb := mailbox.Of(sys, pid)
	ticket := mb.Stop(lifecycle.NewReason(lifecycle.Requested, errors.New("deploy v2")), nil)
	await(inStep, "the step to begin")

	res, err := sys.Root.RequestFuture(pid, "hello", 5*time.Second).Result()
	r, ok := res.(*mailbox.Refused)
	fmt.Println("future error:", err)
	fmt.Println("refused:", ok, r.Message)
	fmt.Println("stopping:", errors.Is(r, mailbox.ErrStopping))
	fmt.Println("timeout or dead letter:", errors.Is(r, actor.ErrTimeout) || errors.Is(r, actor.ErrDeadLetter))
	fmt.Println("why:", r.Reason)

	close(done)
	await(ticket.Done(), "the stop to end")
	fmt.Println("refusals in the report:", ticket.Report().Refused)
	// Output:
	// future error: <nil>
	// refused: true hello
	// stopping: true
	// timeout or dead letter: false
	// why: stop requested: deploy v2
	// refusals in the report: 1
}
