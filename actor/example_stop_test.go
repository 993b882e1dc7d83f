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

// stopped is what a qactor.Stop run on another goroutine returned.
type stopped struct {
	report *lifecycle.Report
	err    error
}

// stopAsync runs qactor.Stop on a goroutine of its own, under a 10 s deadline, and
// hands over what it returned: the example waits for it, so the goroutine ends.
func stopAsync(system *actor.ActorSystem, pid *actor.PID, cause error) <-chan stopped {
	out := make(chan stopped, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := qactor.Stop(ctx, system, pid, cause)
		out <- stopped{r, err}
	}()
	return out
}

// untilForced is a step that defers every stop request and returns only when its ctx
// is cancelled: by a force, since no request cancels a DeferFlag step.
func untilForced(entered chan<- struct{}) func(*conn, context.Context) error {
	return func(_ *conn, ctx context.Context) error {
		if entered != nil {
			close(entered)
		}
		<-ctx.Done()
		return context.Cause(ctx)
	}
}

// statuses lists each step of r with its status.
func statuses(r *lifecycle.Report) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Name+" "+s.Status.String())
	}
	return out
}

// Force cancels the running step whatever its policy; only Always steps run after it.
func ExampleForce() {
	inStep := make(chan struct{})
	props := qactor.Component[*conn]{
		New: func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{
			{Name: "drain", Policy: policy.DeferFlag, Run: untilForced(inStep)},
			{Name: "deregister", Run: func(*conn, context.Context) error { return nil }},
			{Name: "close", Always: true, Run: (*conn).close},
		},
	}.MustProps()
	system := newSystem() // an actor.ActorSystem, quiet for the example
	pid, _ := system.Root.SpawnNamed(props, "conn")

	result := stopAsync(system, pid, errors.New("deploy")) // Stop waits for the report
	await(inStep, "the component to begin draining")
	if err := qactor.Force(system, errors.New("operator"), pid); err != nil {
		panic(err)
	}
	res := await(result, "the forced stop")
	if res.err != nil {
		panic(res.err)
	}
	fmt.Println(res.report.Verdict(), "-", res.report.Forced)
	for _, s := range res.report.Steps {
		fmt.Println(s.Name, s.Status)
	}
	fmt.Println("forced:", errors.Is(res.report.Steps[0].Err, lifecycle.ErrForced))

	err := qactor.Force(system, nil, pid) // stopped: no longer a component
	fmt.Println("again:", errors.Is(err, qactor.ErrNotComponent))
	// Output:
	// some forced - lifecycle: forced: operator
	// drain forced
	// deregister skipped
	// close completed
	// forced: true
	// again: true
}

// A budget set on a running component forces its stop when it runs out.
func ExampleSetBudget() {
	props := qactor.Component[*conn]{
		New: func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{
			{Name: "drain", Policy: policy.DeferFlag, Run: untilForced(nil)},
			{Name: "close", Always: true, Run: (*conn).close},
		},
	}.MustProps() // Budget left zero: mailbox.Infinity
	system := newSystem() // an actor.ActorSystem, quiet for the example
	pid, _ := system.Root.SpawnNamed(props, "conn")
	if err := qactor.SetBudget(system, pid, mailbox.After(20*time.Millisecond)); err != nil {
		panic(err)
	}
	fmt.Println(qactor.SetBudget(system, pid, mailbox.After(-time.Second)))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	report, err := qactor.Stop(ctx, system, pid, errors.New("deploy"))
	if err != nil {
		panic(err)
	}
	fmt.Println(report.Verdict(), "-", report.Forced)
	fmt.Println("budget expired:", errors.Is(report.Forced, mailbox.ErrBudgetExpired))
	for _, s := range report.Steps {
		fmt.Println(s.Name, s.Status)
	}
	// Output:
	// budget -1s: must be positive
	// some forced - lifecycle: forced: mailbox: stop budget expired
	// budget expired: true
	// drain forced
	// close completed
}

// A parent gives each child, from one props, its own budget at spawn time.
func ExampleSpawnWithBudget() {
	// As an OTP child spec does: a Brutal one, whose stop runs only the Always steps,
	// and an infinite one, whose stop runs them all.
	worker := qactor.Component[*conn]{
		New: func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{
			{Name: "drain", Policy: policy.DeferFlag, Run: (*conn).drain},
			{Name: "close", Always: true, Run: (*conn).close},
		},
	}.MustProps()
	started := make(chan struct{})
	service := qactor.Component[*conn]{
		New: func() *conn { return &conn{} },
		Start: []func(*conn, actor.Context) error{func(_ *conn, c actor.Context) error {
			if _, err := qactor.SpawnWithBudget(c, worker, mailbox.Brutal); err != nil {
				return err
			}
			if _, err := qactor.SpawnWithBudget(c, worker, mailbox.Infinity); err != nil {
				return err
			}
			close(started)
			return nil
		}},
	}.MustProps()
	system := newSystem() // an actor.ActorSystem, quiet for the example
	root, _ := system.Root.SpawnNamed(service, "svc")
	await(started, "the service to start its workers")

	_, err := qactor.SpawnWithBudget(system.Root, worker, mailbox.After(0))
	fmt.Println(err)
	plain := actor.PropsFromFunc(func(actor.Context) {})
	_, err = qactor.SpawnWithBudget(system.Root, plain, mailbox.Brutal)
	fmt.Println(err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	report, err := qactor.Stop(ctx, system, root, errors.New("deploy"))
	if err != nil {
		panic(err)
	}
	forced := map[bool]string{true: "brutal", false: "infinity"}
	for _, v := range []bool{true, false} { // children stop in parallel: order them
		for _, c := range report.Children {
			if (c.Forced != nil) == v {
				fmt.Printf("%s: %v, %v\n", forced[v], c.Verdict(), statuses(c))
			}
		}
	}
	// Output:
	// budget 0s: must be positive
	// quiesce: not a live Quiesce component: the props are not a Component's (no Quiesce mailbox), and the actor was stopped again
	// brutal: some forced, [drain skipped close completed]
	// infinity: all completed, [drain completed close completed]
}
