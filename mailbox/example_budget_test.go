package mailbox_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// The kinds of budget, as they print and parse, and a Brutal stop's report.
func ExampleBudget() {
	for _, b := range []mailbox.Budget{mailbox.After(5 * time.Second), mailbox.Infinity, mailbox.Brutal} {
		d, limited := b.Limit()
		fmt.Printf("%v: limit %v, %v\n", b, d, limited)
	}
	var b mailbox.Budget
	fmt.Println(b.UnmarshalText([]byte("250ms")), b)
	fmt.Println(b.UnmarshalText([]byte("soon")))
	fmt.Println(mailbox.After(0).Validate())

	// A Brutal stop: nothing queued is drained, and only the Always steps run.
	sys := quietSystem()
	plan := lifecycle.MustPlan(
		lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(context.Context) error { return nil }},
		lifecycle.Step{Name: "close", Always: true, Run: func(context.Context) error { return nil }},
	)
	producer, err := mailbox.Producer(mailbox.Config{Plan: plan, Budget: mailbox.Brutal})
	if err != nil {
		panic(err)
	}
	busy, release := make(chan struct{}), make(chan struct{})
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if msg, ok := c.Message().(string); ok && msg == "first" {
			close(busy)
			<-release
		}
	}, actor.WithMailbox(producer)))
	sys.Root.Send(pid, "first")
	await(busy, "the actor to be busy")
	sys.Root.Send(pid, "queued") // waits behind "first"
	ticket := mailbox.Of(sys, pid).Stop(nil, nil)
	close(release)
	await(ticket.Done(), "the brutal stop")
	rep := ticket.Report()
	fmt.Println(rep.Verdict(), "-", rep.Forced)
	fmt.Println("brutal:", errors.Is(rep.Forced, mailbox.ErrBrutal), "drained:", rep.Drained, "refused:", rep.Refused)
	for _, s := range rep.Steps {
		fmt.Println(s.Name, s.Status)
	}
	// Output:
	// 5s: limit 5s, true
	// infinity: limit 0s, false
	// brutal: limit 0s, true
	// <nil> 250ms
	// mailbox: budget "soon": want infinity, brutal or a duration such as 5s
	// budget 0s: must be positive
	// some forced - lifecycle: forced: mailbox: brutal budget
	// brutal: true drained: 0 refused: 1
	// drain skipped
	// close completed
}

// Fit shrinks a budget and an AbandonAfter so that a stop ends by a short deadline.
func ExampleFit() {
	// The AbandonAfter is at most a quarter of what is left, the budget what remains
	// once the force and the abandonment after it are set aside; a budget that fits
	// already is kept.
	cases := []struct {
		budget       mailbox.Budget
		abandonAfter time.Duration
		left         time.Duration
	}{
		{mailbox.Infinity, time.Second, 30 * time.Second}, // a pod's grace period
		{mailbox.After(10 * time.Second), time.Second, 2 * time.Second},
		{mailbox.After(200 * time.Millisecond), time.Second, 2 * time.Second},
		{mailbox.Brutal, time.Second, 2 * time.Second},
		{mailbox.After(10 * time.Second), 0, 30 * time.Millisecond}, // short: 10 ms for each rung
		{mailbox.After(10 * time.Second), 0, 15 * time.Millisecond}, // too close: nothing left
		{mailbox.After(10 * time.Second), 0, -time.Second},          // the deadline has passed
	}
	for _, c := range cases {
		b, abandonAfter, fitted := mailbox.Fit(c.budget, c.abandonAfter, c.left)
		fmt.Printf("%v within %v: budget %v, abandon after %v, fitted %v\n", c.budget, c.left, b, abandonAfter, fitted)
	}
	// Output:
	// infinity within 30s: budget 28s, abandon after 1s, fitted true
	// 10s within 2s: budget 1s, abandon after 500ms, fitted true
	// 200ms within 2s: budget 200ms, abandon after 500ms, fitted false
	// brutal within 2s: budget brutal, abandon after 500ms, fitted false
	// 10s within 30ms: budget 10ms, abandon after 10ms, fitted true
	// 10s within 15ms: budget brutal, abandon after 10ms, fitted true
	// 10s within -1s: budget brutal, abandon after 10ms, fitted true
}

// A stop whose outer deadline has passed is forced at once, with ErrDeadline.
func ExampleMailbox_StopBy() {
	// Nothing is drained and the steps that are not Always are skipped; the Always ones
	// still run, each within an AbandonAfter cut to 10 ms (see Fit).
	sys := quietSystem()
	plan := lifecycle.MustPlan(
		lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(context.Context) error { return nil }},
		lifecycle.Step{Name: "close", Always: true, Run: func(context.Context) error { return nil }},
	)
	producer, err := mailbox.Producer(mailbox.Config{Plan: plan})
	if err != nil {
		panic(err)
	}
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}, actor.WithMailbox(producer)))
	ticket := mailbox.Of(sys, pid).StopBy(time.Now().Add(-time.Second), lifecycle.NewReason(lifecycle.Shutdown, nil), nil)
	fmt.Println("abandon after:", ticket.AbandonAfter())
	await(ticket.Done(), "the stop")
	rep := ticket.Report()
	fmt.Println("forced:", rep.Forced)
	fmt.Println("deadline:", errors.Is(rep.Forced, mailbox.ErrDeadline))
	fmt.Println(rep.Steps[0].Name, rep.Steps[0].Status)
	// Output:
	// abandon after: 10ms
	// forced: lifecycle: forced: mailbox: the stop's outer deadline
	// deadline: true
	// drain skipped
}
