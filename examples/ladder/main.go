// Command ladder shows the escalation ladder on a small supervised tree: a
// supervisor stops three workers. "quick" finishes at once. "deaf" ignores its ctx:
// its 200 ms budget runs out and it is forced, which it ignores too, so it is
// abandoned an AbandonAfter (100 ms) later: the actor stops waiting for it,
// finalizes, and its report names the goroutine left behind. "slow" overruns its
// 450 ms budget and is forced: its step's own ctx is cancelled, and only its Always
// step runs after. The rungs come apart in time, so the output is the same on every
// run. The supervisor hears of each rung, and prints the tree report.
//
//	go run ./examples/ladder
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// node is every actor of the tree; the supervisor prints the notices it gets.
type node struct{ out io.Writer }

func (n *node) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *mailbox.Forced:
		fmt.Fprintf(n.out, "notice: %s forced in step %q (%v)\n", m.Actor.Id, m.Step, m.Cause)
	case *mailbox.Abandoned:
		fmt.Fprintf(n.out, "notice: %s abandoned step %q, goroutine %s\n", m.Actor.Id, m.Step, m.Goroutine)
	case *mailbox.Finished:
		fmt.Fprintf(n.out, "notice: %s finished: %v\n", m.Actor.Id, m.Report.Verdict())
	}
}

func step(name string, p policy.Policy, run func(context.Context) error) qactor.Step[*node] {
	return qactor.Step[*node]{Name: name, Policy: p, Run: func(_ *node, ctx context.Context) error { return run(ctx) }}
}

func closes() qactor.Step[*node] {
	s := step("close", policy.Plain, func(context.Context) error { return nil })
	s.Always = true
	return s
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
	deafness := make(chan struct{}) // what the deaf step waits for instead of its ctx
	defer close(deafness)           // the goroutine left behind is ours to end

	worker := func(budget mailbox.Budget, steps ...qactor.Step[*node]) *actor.Props {
		return qactor.Component[*node]{
			New: func() *node { return &node{out: out} }, Steps: steps,
			Budget: budget, AbandonAfter: 100 * time.Millisecond,
		}.MustProps()
	}
	quick := worker(mailbox.Infinity, closes())
	slow := worker(mailbox.After(450*time.Millisecond), // forced after deaf is abandoned: the rungs come in order
		step("drain", policy.DeferFlag, func(ctx context.Context) error {
			select { // ten seconds of work, but it honours a force
			case <-time.After(10 * time.Second):
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}),
		step("deregister", policy.Plain, func(context.Context) error { return nil }),
		closes())
	deaf := worker(mailbox.After(200*time.Millisecond),
		step("flush", policy.DeferReraise, func(context.Context) error { <-deafness; return nil }),
		closes())

	running := make(chan struct{}) // the supervisor has started its workers
	supervisor := qactor.Component[*node]{
		New: func() *node { return &node{out: out} },
		Start: []func(*node, actor.Context) error{func(_ *node, c actor.Context) error {
			defer close(running)
			for _, name := range []string{"quick", "slow", "deaf"} {
				p := map[string]*actor.Props{"quick": quick, "slow": slow, "deaf": deaf}[name]
				if _, err := c.SpawnNamed(p, name); err != nil {
					return err
				}
			}
			return nil
		}},
		Steps: []qactor.Step[*node]{step("flush", policy.DeferFlag, func(context.Context) error { return nil })},
	}.MustProps()
	root, err := sys.Root.SpawnNamed(supervisor, "supervisor")
	if err != nil {
		return err
	}

	<-running // a stop that came before the start would skip it: nothing to stop
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tree, err := qactor.Shutdown(ctx, sys, errors.New("SIGTERM"), root)
	if err != nil {
		return err
	}
	fmt.Fprint(out, tree)
	return nil
}
