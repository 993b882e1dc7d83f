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
	"github.com/quiesce/quiesce/policy"
)

// ShutdownSystem stops every top-level component by its plan, then protoactor's system.
func ExampleShutdownSystem() {
	closing := func(*conn, context.Context) error { return nil }
	worker := qactor.Component[*conn]{
		New:   func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "drain", Policy: policy.DeferFlag, Run: (*conn).drain}},
	}.MustProps()
	started := make(chan struct{})
	api := qactor.Component[*conn]{
		New:   func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "close", Always: true, Run: closing}},
		Start: []func(*conn, actor.Context) error{func(_ *conn, c actor.Context) error {
			_, err := c.SpawnNamed(worker, "conn-1")
			close(started)
			return err
		}},
	}.MustProps()
	db := qactor.Component[*conn]{
		New:   func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "flush", Policy: policy.DeferReraise, Run: closing}},
	}.MustProps()
	system := newSystem() // an actor.ActorSystem, quiet for the example
	if _, err := system.Root.SpawnNamed(api, "api"); err != nil {
		panic(err)
	}
	if _, err := system.Root.SpawnNamed(db, "db"); err != nil {
		panic(err)
	}
	await(started, "the api to start its worker")
	fmt.Println("top level:", len(qactor.TopLevel(system)))

	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second) // a pod's grace period, less a margin
	defer cancel()
	tree, err := qactor.ShutdownSystem(ctx, system, errors.New("SIGTERM"))
	if err != nil {
		panic(err)
	}
	total, by := tree.Components()
	fmt.Println(tree.Verdict, "-", total, "components,", by[lifecycle.AllCompleted], "all completed")
	roots := slices.SortedFunc(slices.Values(tree.Roots), func(a, b *lifecycle.Report) int { return cmp.Compare(a.Actor, b.Actor) })
	for _, r := range roots {
		fmt.Println(r.Actor, r.Reason, statuses(r))
		for _, c := range r.Children {
			fmt.Println("  "+c.Actor, c.Reason, statuses(c))
		}
	}
	fmt.Println("system stopped:", system.IsStopped())
	// Output:
	// top level: 2
	// all completed - 3 components, 3 all completed
	// api shutdown: SIGTERM [children completed close completed]
	//   api/conn-1 parent stopping: shutdown: SIGTERM [drain completed]
	// db shutdown: SIGTERM [flush completed]
	// system stopped: true
}

// A Tree prints like the tree command and counts its components by verdict.
func ExampleTree() {
	// The reports are made by hand, so that their durations print the same every time;
	// a Shutdown returns a Tree with the durations it measured.
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	shutdown := lifecycle.NewReason(lifecycle.Shutdown, errors.New("SIGTERM"))
	conn := &lifecycle.Report{
		Actor: "api/conn-1", Reason: lifecycle.NewReason(lifecycle.ParentStopping, shutdown), Start: start,
		Duration: 300 * time.Millisecond, Forced: fmt.Errorf("%w: budget", lifecycle.ErrForced),
		Steps: []lifecycle.StepReport{
			{Name: "drain", Policy: policy.DeferFlag, Status: lifecycle.Forced, Start: start, Duration: 300 * time.Millisecond,
				Progress: &lifecycle.Progress{Message: "sessions closed", Done: 7, Total: 9}},
		},
	}
	api := &lifecycle.Report{
		Actor: "api", Reason: shutdown, Start: start, Duration: 310 * time.Millisecond,
		Steps: []lifecycle.StepReport{
			{Name: "children", Policy: policy.DeferFlag, Status: lifecycle.Completed, Start: start, Duration: 300 * time.Millisecond},
			{Name: "close", Policy: policy.Plain, Status: lifecycle.Completed, Start: start, Duration: 10 * time.Millisecond},
		},
		Children: []*lifecycle.Report{conn},
	}
	db := &lifecycle.Report{
		Actor: "db", Reason: shutdown, Start: start, Duration: 20 * time.Millisecond,
		Steps: []lifecycle.StepReport{
			{Name: "flush", Policy: policy.DeferReraise, Status: lifecycle.Failed, Start: start, Duration: 20 * time.Millisecond,
				Err: errors.New("disk full")},
		},
	}
	tree := &qactor.Tree{Roots: []*lifecycle.Report{api, db}, Verdict: lifecycle.SomeForced, Duration: 310 * time.Millisecond}
	fmt.Print(tree)
	total, by := tree.Components()
	fmt.Println(total, "components:", by)
	// Output:
	// shutdown: some forced in 310ms
	// api [some forced 310ms] shutdown: SIGTERM
	// ├── children defer-flag completed 300ms
	// ├── close plain completed 10ms
	// └── api/conn-1 [some forced 300ms] parent stopping: shutdown: SIGTERM
	//     │   forced: lifecycle: forced: budget
	//     └── drain defer-flag forced 300ms [sessions closed (7/9)]
	// db [some failed 20ms] shutdown: SIGTERM
	// └── flush defer-reraise failed 20ms (disk full)
	// 3 components: map[all completed:1 some failed:1 some forced:1]
}

// Folded is for big trees: a connection manager's 500 sessions that ended alike
// print once, with a count, and the one forced prints in full.
func ExampleTree_Folded() {
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	shutdown := lifecycle.NewReason(lifecycle.Shutdown, errors.New("SIGTERM"))
	api := &lifecycle.Report{Actor: "api", Reason: shutdown, Start: start, Duration: 2 * time.Second}
	for i := range 500 {
		session := &lifecycle.Report{
			Actor: fmt.Sprintf("api/s%d", i), Reason: lifecycle.NewReason(lifecycle.ParentStopping, shutdown),
			Start: start, Duration: time.Duration(1+i%9) * time.Millisecond,
		}
		status := lifecycle.Completed
		if i == 250 {
			status, session.Duration = lifecycle.Forced, 2*time.Second
			session.Forced = fmt.Errorf("%w: budget", lifecycle.ErrForced)
		}
		session.Steps = []lifecycle.StepReport{
			{Name: "goodbye", Policy: policy.DeferFlag, Status: status, Start: start, Duration: session.Duration},
		}
		api.Children = append(api.Children, session)
	}
	tree := &qactor.Tree{Roots: []*lifecycle.Report{api}, Verdict: lifecycle.SomeForced, Duration: 2 * time.Second}
	fmt.Print(tree.Folded())
	// Output:
	// shutdown: some forced in 2s
	// api [some forced 2s] shutdown: SIGTERM
	// ├── api/s0 [all completed 1ms] parent stopping: shutdown: SIGTERM
	// │   └── goodbye defer-flag completed 1ms
	// ├── … and 498 more like api/s0 [all completed 1ms–9ms]
	// └── api/s250 [some forced 2s] parent stopping: shutdown: SIGTERM
	//     │   forced: lifecycle: forced: budget
	//     └── goodbye defer-flag forced 2s
}
