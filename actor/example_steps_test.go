package actor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// The built-in Children step placed in the plan, with its type argument.
func ExampleChildren() {
	// The supervisor stops accepting before its workers stop, and closes after; the
	// type argument cannot be inferred. With Order Reverse the workers stop one at a
	// time, the last started first.
	worker := qactor.Component[*conn]{
		New: func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "drain", Policy: policy.DeferFlag, Run: func(_ *conn, ctx context.Context) error {
			fmt.Println(mailbox.ActorContext(ctx).Self().Id, "drains")
			return nil
		}}},
	}.MustProps()
	started := make(chan struct{})
	supervisor := qactor.Component[*conn]{
		New: func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{
			{Name: "stop-accepting", Timeout: time.Second, Run: func(*conn, context.Context) error {
				fmt.Println("sup stops accepting")
				return nil
			}},
			qactor.Children[*conn](policy.DeferFlag, 10*time.Second),
			{Name: "close", Timeout: time.Second, Always: true, Run: func(*conn, context.Context) error {
				fmt.Println("sup closes")
				return nil
			}},
		},
		Order: mailbox.Reverse,
		Start: []func(*conn, actor.Context) error{func(_ *conn, c actor.Context) error {
			for _, name := range []string{"db", "api"} { // api depends on db
				if _, err := c.SpawnNamed(worker, name); err != nil {
					return err
				}
			}
			close(started)
			return nil
		}},
	}
	plan, err := supervisor.Plan()
	if err != nil {
		panic(err)
	}
	fmt.Print(plan)

	system := newSystem() // an actor.ActorSystem, quiet for the example
	pid, _ := system.Root.SpawnNamed(supervisor.MustProps(), "sup")
	await(started, "the supervisor to start its workers")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	report, err := qactor.Stop(ctx, system, pid, errors.New("deploy"))
	if err != nil {
		panic(err)
	}
	fmt.Println(statuses(report))
	for _, c := range report.Children {
		fmt.Println(c.Actor, c.Reason)
	}
	// Output:
	// plan: 3 steps, timeouts 12s
	//   1.  stop-accepting  plain       timeout 1s   grace none
	//   2.  children        defer-flag  timeout 10s  grace none  always
	//   3.  close           plain       timeout 1s   grace none  always
	// sup stops accepting
	// sup/api drains
	// sup/db drains
	// sup closes
	// [stop-accepting completed children completed close completed]
	// sup/api parent stopping: stop requested: deploy
	// sup/db parent stopping: stop requested: deploy
}

// closeSessions sits deep in a step's call chain, where only the ctx has come:
// Incarnation finds the actor whose step runs.
func closeSessions(ctx context.Context) int {
	c := qactor.Incarnation[*conn](ctx)
	n := c.sessions
	c.sessions = 0
	return n
}

// A helper that has only a step's ctx reaches the incarnation's state.
func ExampleIncarnation() {
	props := qactor.Component[*conn]{
		New: func() *conn { return &conn{sessions: 3} },
		Steps: []qactor.Step[*conn]{{Name: "drain", Policy: policy.DeferFlag, Run: func(_ *conn, ctx context.Context) error {
			fmt.Println("closed", closeSessions(ctx), "sessions")
			fmt.Println("as an echo:", qactor.Incarnation[*echo](ctx)) // another type: the zero value
			return nil
		}}},
	}.MustProps()
	system := newSystem() // an actor.ActorSystem, quiet for the example
	pid := system.Root.Spawn(props)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := qactor.Stop(ctx, system, pid, nil); err != nil {
		panic(err)
	}
	fmt.Println("outside a step:", qactor.Incarnation[*conn](ctx))
	// Output:
	// closed 3 sessions
	// as an echo: <nil>
	// outside a step: <nil>
}
