package actor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// A stop under way, read from another goroutine while its step runs.
func ExampleSnapshotOf() {
	inStep, release := make(chan struct{}), make(chan struct{})
	props := qactor.Component[*conn]{
		New: func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "drain", Policy: policy.DeferFlag, Run: func(_ *conn, ctx context.Context) error {
			lifecycle.ReportProgress(ctx, "sessions closed", 3, 10)
			close(inStep)
			<-release
			return nil
		}}},
	}.MustProps()
	system := newSystem() // an actor.ActorSystem, quiet for the example
	pid, _ := system.Root.SpawnNamed(props, "conn")

	_, stopping, err := qactor.SnapshotOf(system, pid)
	fmt.Println("before the stop:", stopping, err)

	result := stopAsync(system, pid, errors.New("deploy"))
	await(inStep, "the component to begin draining")
	system.Root.Stop(pid) // a second stop: deferred by drain
	s, stopping, err := qactor.SnapshotOf(system, pid)
	if err != nil {
		panic(err)
	}
	fmt.Println("stopping:", stopping, s.Phase, s.Actor, "-", s.Reason)
	fmt.Println("step:", s.Step, s.Policy, "-", s.Progress)
	fmt.Println("stop requests:", s.StopRequests, "deferred:", s.Deferred)
	fmt.Println("budget left unlimited:", s.BudgetLeft == mailbox.Unlimited, "finished:", s.Finished)

	close(release)
	if res := await(result, "the stop"); res.err != nil {
		panic(res.err)
	}
	_, _, err = qactor.SnapshotOf(system, pid)
	fmt.Println("after it:", err)
	// Output:
	// before the stop: false <nil>
	// stopping: true stopping conn - stop requested: deploy
	// step: drain defer-flag - sessions closed (3/10)
	// stop requests: 1 deferred: 1
	// budget left unlimited: true finished: false
	// after it: conn: quiesce: not a live Quiesce component (it never was one, or it has stopped)
}

// echo answers every string with itself.
type echo struct{}

func (*echo) Receive(c actor.Context) {
	if s, ok := c.Message().(string); ok {
		c.Respond(s)
	}
}

// A component's phase, read from another goroutine, from starting to gone.
func ExamplePhaseOf() {
	inStart, started := make(chan struct{}), make(chan struct{})
	inStep, release := make(chan struct{}), make(chan struct{})
	props := qactor.Component[*echo]{
		New: func() *echo { return &echo{} },
		Start: []func(*echo, actor.Context) error{func(*echo, actor.Context) error {
			close(inStart)
			<-started // connect, warm a cache...
			return nil
		}},
		Steps: []qactor.Step[*echo]{{Name: "drain", Policy: policy.DeferFlag, Run: func(*echo, context.Context) error {
			close(inStep)
			<-release
			return nil
		}}},
	}.MustProps()
	system := newSystem() // an actor.ActorSystem, quiet for the example
	pid := system.Root.Spawn(props)

	await(inStart, "the start hook")
	fmt.Println(qactor.PhaseOf(system, pid))
	close(started)
	// A message is handled once the start hooks are over: its answer means running.
	if _, err := qactor.Result(system.Root.RequestFuture(pid, "ping", 5*time.Second)); err != nil {
		panic(err)
	}
	fmt.Println(qactor.PhaseOf(system, pid))

	result := stopAsync(system, pid, errors.New("deploy"))
	await(inStep, "the component to begin draining")
	fmt.Println(qactor.PhaseOf(system, pid))
	close(release)
	if res := await(result, "the stop"); res.err != nil {
		panic(res.err)
	}
	_, alive := qactor.PhaseOf(system, pid)
	fmt.Println("alive:", alive)
	// Output:
	// starting true
	// running true
	// stopping true
	// alive: false
}
