package actor_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// conn is an ordinary protoactor actor whose methods make its Stopping phase.
type conn struct{ sessions int }

func (c *conn) Receive(actor.Context) {}

// drain lets the sessions finish. Under DeferFlag, a second stop does not cut it short.
func (c *conn) drain(ctx context.Context) error {
	c.sessions = 0
	return nil
}

// close releases the socket. Always: it runs even after a force.
func (c *conn) close(ctx context.Context) error { return nil }

// Declare a component, spawn it as usual, stop it gracefully and read its report.
func ExampleComponent() {
	props, err := qactor.Component[*conn]{
		New: func() *conn { return &conn{sessions: 3} },
		Steps: []qactor.Step[*conn]{
			{Name: "drain", Policy: policy.DeferFlag, Timeout: 5 * time.Second, Run: (*conn).drain},
			{Name: "close", Always: true, Run: (*conn).close},
		},
	}.Props()
	if err != nil {
		panic(err)
	}
	system := newSystem() // an actor.ActorSystem, quiet for the example
	pid, _ := system.Root.SpawnNamed(props, "conn")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // your own deadline
	defer cancel()
	report, err := qactor.Stop(ctx, system, pid, errors.New("deploy"))
	if err != nil {
		panic(err)
	}
	fmt.Println(report.Actor, "stopped:", report.Reason)
	for _, s := range report.Steps {
		fmt.Println(s.Name, s.Policy, s.Status)
	}
	fmt.Println("verdict:", report.Verdict())
	// Output:
	// conn stopped: stop requested: deploy
	// drain defer-flag completed
	// close plain completed
	// verdict: all completed
}

// A component's plan is checked before anything runs, and prints as a dry run.
func ExampleComponent_Plan() {
	plan, err := qactor.Component[*conn]{
		New:      func() *conn { return &conn{} },
		Deadline: 30 * time.Second,
		Steps: []qactor.Step[*conn]{
			{Name: "drain", Policy: policy.DeferFlag, Timeout: 20 * time.Second, Grace: 5 * time.Second, Run: (*conn).drain},
			{Name: "close", Timeout: 5 * time.Second, Always: true, Run: (*conn).close},
		},
	}.Plan()
	if err != nil {
		panic(err)
	}
	fmt.Print(plan)

	_, err = qactor.Component[*conn]{
		New:   func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "close", Grace: time.Second, Run: (*conn).close}},
	}.Props()
	fmt.Println(err)
	// Output:
	// plan: 2 steps, timeouts 25s (deadline 30s)
	//   1.  drain  defer-flag  timeout 20s  grace 5s
	//   2.  close  plain       timeout 5s   grace none  always
	// lifecycle: plan step 1 "close": a Grace has no effect under the plain policy
}

// Stop takes a reason, which the steps read from their ctx, and the caller's own
// deadline instead of protoactor's fixed 10 s.
func ExampleStop() {
	props := qactor.Component[*conn]{
		New: func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "close", Run: func(c *conn, ctx context.Context) error {
			fmt.Println("closing:", lifecycle.ReasonFrom(ctx))
			return nil
		}}},
	}.MustProps()
	system := newSystem() // an actor.ActorSystem, quiet for the example
	pid := system.Root.Spawn(props)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	report, err := qactor.Stop(ctx, system, pid, errors.New("maintenance"))
	if err != nil {
		panic(err) // ctx's cause, had the deadline come first
	}
	fmt.Println(report.Steps[0].Name, report.Steps[0].Status)
	_, alive := qactor.PhaseOf(system, pid)
	fmt.Println("alive:", alive)
	// Output:
	// closing: stop requested: maintenance
	// close completed
	// alive: false
}

// Shutdown stops a tree from its root under one outer deadline, and returns one tree
// report: each child's report nested under its parent's.
func ExampleShutdown() {
	worker := qactor.Component[*conn]{
		New:   func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "drain", Policy: policy.DeferFlag, Run: (*conn).drain}},
	}.MustProps()
	started := make(chan struct{})
	service := qactor.Component[*conn]{
		New:   func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "close", Always: true, Run: (*conn).close}},
		Start: []func(*conn, actor.Context) error{func(_ *conn, c actor.Context) error {
			for _, name := range []string{"a", "b"} {
				if _, err := c.SpawnNamed(worker, name); err != nil {
					return err
				}
			}
			close(started)
			return nil
		}},
	}.MustProps()
	system := newSystem() // an actor.ActorSystem, quiet for the example
	root, _ := system.Root.SpawnNamed(service, "svc")
	await(started, "the service to start its workers")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tree, err := qactor.Shutdown(ctx, system, errors.New("SIGTERM"), root)
	if err != nil {
		panic(err)
	}
	total, _ := tree.Components()
	fmt.Println("verdict:", tree.Verdict)
	fmt.Println("components:", total)
	svc := tree.Roots[0]
	fmt.Printf("%s: %v, steps %s\n", svc.Actor, svc.Reason, stepNames(svc))
	slices.SortFunc(svc.Children, func(a, b *lifecycle.Report) int { return cmp.Compare(a.Actor, b.Actor) })
	for _, c := range svc.Children {
		fmt.Printf("  %s: %v, steps %s\n", c.Actor, c.Reason, stepNames(c))
	}
	// Output:
	// verdict: all completed
	// components: 3
	// svc: shutdown: SIGTERM, steps [children close]
	//   svc/a: parent stopping: shutdown: SIGTERM, steps [drain]
	//   svc/b: parent stopping: shutdown: SIGTERM, steps [drain]
}

func stepNames(r *lifecycle.Report) []string {
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name)
	}
	return names
}

// A request to a component that is stopping gets a refusal at once, which Result
// turns into an error that says why: not a timeout, not a dead letter.
func ExampleResult() {
	inStep, release := make(chan struct{}), make(chan struct{})
	props := qactor.Component[*conn]{
		New: func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "drain", Policy: policy.DeferFlag, Run: func(*conn, context.Context) error {
			close(inStep)
			<-release
			return nil
		}}},
	}.MustProps()
	system := newSystem() // an actor.ActorSystem, quiet for the example
	pid, _ := system.Root.SpawnNamed(props, "cache")

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = qactor.Stop(ctx, system, pid, errors.New("deploy"))
	}()
	await(inStep, "the component to begin draining")

	_, err := qactor.Result(system.Root.RequestFuture(pid, "get", 5*time.Second))
	fmt.Println(err)
	fmt.Println("stopping:", errors.Is(err, mailbox.ErrStopping))
	fmt.Println("timeout:", errors.Is(err, actor.ErrTimeout))
	var refused *mailbox.Refused
	if errors.As(err, &refused) {
		fmt.Println("refused:", refused.Message, "because", refused.Reason)
	}
	close(release)
	await(stopped, "the component to stop")
	// Output:
	// quiesce: cache refused a message of type string: stopping (stop requested: deploy)
	// stopping: true
	// timeout: false
	// refused: get because stop requested: deploy
}
