package mailbox_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// A parent hears in Receive that its child's DeferFlag step deferred a second stop.
func ExampleDeferredCancel() {
	sys := quietSystem()
	inStep, release := make(chan struct{}), make(chan struct{})
	plan := lifecycle.MustPlan(lifecycle.Step{Name: "flush", Policy: policy.DeferFlag, Run: func(context.Context) error {
		close(inStep)
		<-release // a second stop does not cut it short
		return nil
	}})
	child, err := mailbox.Producer(mailbox.Config{Plan: plan})
	if err != nil {
		panic(err)
	}
	parent, err := mailbox.Producer(mailbox.Config{})
	if err != nil {
		panic(err)
	}
	kids := make(chan *actor.PID, 1)
	notices := make(chan mailbox.Notice, 2)
	pid, _ := sys.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		switch n := c.Message().(type) {
		case *actor.Started:
			kid, _ := c.SpawnNamed(actor.PropsFromFunc(func(actor.Context) {}, actor.WithMailbox(child)), "worker")
			kids <- kid
		case *mailbox.DeferredCancel:
			notices <- n
		case *mailbox.Finished:
			notices <- n
		}
	}, actor.WithMailbox(parent)), "svc")
	kid := await(kids, "the parent to spawn its child")

	mb := mailbox.Of(sys, kid)
	ticket := mb.Stop(lifecycle.NewReason(lifecycle.Requested, errors.New("deploy")), nil)
	await(inStep, "the child to begin flushing")
	mb.Stop(lifecycle.NewReason(lifecycle.Requested, errors.New("second SIGTERM")), nil)

	d := await(notices, "the DeferredCancel notice").(*mailbox.DeferredCancel)
	fmt.Println("deferred:", d.Actor.Id, d.Step, d.Policy)
	fmt.Println("  cause:", d.Cause)
	fmt.Println("  stop requests:", d.StopRequests)
	fmt.Println("  budget left unlimited:", d.BudgetLeft == mailbox.Unlimited)
	close(release)

	f := await(notices, "the Finished notice").(*mailbox.Finished)
	fmt.Println("finished:", f.Actor.Id, f.Report.Verdict(), "same stop:", f.Stop == d.Stop)
	s := f.Report.Steps[0]
	fmt.Printf("  %s %s: %d stop request, %d deferred\n", s.Name, s.Status, s.StopRequests, s.Deferred)
	await(ticket.Done(), "the child to stop")
	await(mailbox.Of(sys, pid).Stop(nil, nil).Done(), "the parent to stop")
	// Output:
	// deferred: svc/worker flush defer-flag
	//   cause: stop requested: second SIGTERM
	//   stop requests: 1
	//   budget left unlimited: true
	// finished: svc/worker all completed same stop: true
	//   flush completed: 1 stop request, 1 deferred
}

// An actor that is not the parent watches a component and hears its Finished.
func ExampleMailbox_Watch() {
	sys := quietSystem()
	producer, err := mailbox.Producer(mailbox.Config{Plan: lifecycle.MustPlan(
		lifecycle.Step{Name: "close", Run: func(context.Context) error { return nil }},
	)})
	if err != nil {
		panic(err)
	}
	pid, _ := sys.Root.SpawnNamed(actor.PropsFromFunc(func(actor.Context) {}, actor.WithMailbox(producer)), "cache")

	heard := make(chan *mailbox.Finished, 1)
	monitor := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) { // a plain protoactor actor
		if f, ok := c.Message().(*mailbox.Finished); ok {
			heard <- f
		}
	}))
	mb := mailbox.Of(sys, pid)
	mb.Watch(monitor)
	ticket := mb.Stop(lifecycle.NewReason(lifecycle.Shutdown, errors.New("SIGTERM")), nil)

	f := await(heard, "the watcher to hear Finished")
	fmt.Println(f.Actor.Id, "finished:", f.Report.Reason, "-", f.Report.Verdict())
	fmt.Println("the ticket's report:", f.Report == ticket.Report())
	await(ticket.Done(), "the stop")
	if err := sys.Root.StopFuture(monitor).Wait(); err != nil {
		panic(err)
	}
	// Output:
	// cache finished: shutdown: SIGTERM - all completed
	// the ticket's report: true
}

// Settings{Events: true} publishes one actor's phases and steps on the EventStream.
func ExampleConfigure() {
	sys := quietSystem()
	mailbox.Configure(sys, mailbox.Settings{Events: true}) // before spawning
	events := make(chan any, 16)
	sub := sys.EventStream.Subscribe(func(evt any) {
		switch evt.(type) {
		case *mailbox.PhaseChanged, *mailbox.StepFinished:
			events <- evt // called on the publishing mailbox's goroutine
		}
	})
	defer sys.EventStream.Unsubscribe(sub)

	producer, err := mailbox.Producer(mailbox.Config{Plan: lifecycle.MustPlan(
		lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(context.Context) error { return nil }},
		lifecycle.Step{Name: "close", Run: func(context.Context) error { return errors.New("already closed") }},
	)})
	if err != nil {
		panic(err)
	}
	pid, _ := sys.Root.SpawnNamed(actor.PropsFromFunc(func(actor.Context) {}, actor.WithMailbox(producer)), "cache")
	show := func(evt any) {
		switch e := evt.(type) {
		case *mailbox.PhaseChanged:
			fmt.Printf("%s: phase %s -> %s", e.Actor.Id, e.From, e.To)
			if e.Reason != nil {
				fmt.Printf(" (%v)", e.Reason)
			}
			fmt.Println()
		case *mailbox.StepFinished:
			fmt.Printf("%s: step %s %s %s\n", e.Actor.Id, e.Step.Name, e.Step.Policy, e.Step.Status)
		}
	}
	show(await(events, "the actor to run")) // stopped before it runs, it would never run

	ticket := mailbox.Of(sys, pid).Stop(lifecycle.NewReason(lifecycle.Requested, errors.New("deploy")), nil)
	await(ticket.Done(), "the stop") // Stopped is published before Done is closed
	for range 4 {
		show(await(events, "an event of the stop"))
	}
	// Output:
	// cache: phase starting -> running
	// cache: phase running -> stopping (stop requested: deploy)
	// cache: step drain defer-flag completed
	// cache: step close plain failed
	// cache: phase stopping -> stopped (stop requested: deploy)
}
