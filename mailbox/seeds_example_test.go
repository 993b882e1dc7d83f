package mailbox_test

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// Progress flows up a tree (seed 004's progress in hierarchies): each child's step
// reports progress, its parent hears it as a Progressed notice, and adds its
// children's up in its Snapshot while it stops.
func ExampleSnapshot() {
	sys := quietSystem()
	release := make(chan struct{})
	child := func(done, total int) *actor.Props {
		plan := lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
			lifecycle.ReportProgress(ctx, "requests answered", done, total)
			<-release
			return nil
		}})
		p, _ := mailbox.Producer(mailbox.Config{Plan: plan})
		return actor.PropsFromFunc(func(actor.Context) {}, actor.WithMailbox(p))
	}
	heard := make(chan struct{}, 2)
	spawned := make(chan struct{})
	p, _ := mailbox.Producer(mailbox.Config{})
	parent := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			c.Spawn(child(3, 4))
			c.Spawn(child(5, 10))
			close(spawned)
		case *mailbox.Progressed:
			heard <- struct{}{}
		}
	}, actor.WithMailbox(p)))
	await(spawned, "the children")
	mb := mailbox.Of(sys, parent)
	ticket := mb.Stop(lifecycle.NewReason(lifecycle.Shutdown, nil), nil)
	for range 2 {
		await(heard, "a child's progress")
	}
	s := ticket.Snapshot()
	fmt.Println(s.Phase, s.Step, s.ChildrenStopping)
	fmt.Println(s.Children.Done, "of", s.Children.Total)
	close(release)
	await(ticket.Done(), "the stop")
	// Output:
	// stopping children 2
	// 8 of 14
}
