package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// A report printed with String, and with %+v for each step's start, progress and partial.
func ExampleReport() {
	// Made by hand, so that its durations print the same every time.
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	report := &lifecycle.Report{
		Actor: "cache", Reason: lifecycle.NewReason(lifecycle.Requested, errors.New("deploy v2")),
		Start: start, Duration: 80 * time.Millisecond, Drained: 3, Refused: 1, StopRequests: 2,
		Steps: []lifecycle.StepReport{
			{Name: "flush", Policy: policy.DeferFlag, Status: lifecycle.Completed, StopRequests: 1, Deferred: 1,
				Start: start, Duration: 60 * time.Millisecond,
				Progress: &lifecycle.Progress{Message: "flushed", Done: 40, Total: 40}, Partial: "40 entries"},
			{Name: "deregister", Policy: policy.Plain, Status: lifecycle.Interrupted, StopRequests: 1,
				Err: errors.New("canceled by the caller"), Start: start.Add(60 * time.Millisecond), Duration: 15 * time.Millisecond},
			{Name: "close", Policy: policy.Plain, Status: lifecycle.Completed, Start: start.Add(75 * time.Millisecond),
				Duration: 5 * time.Millisecond},
		},
	}
	fmt.Print(report)
	fmt.Println()
	fmt.Printf("%+v", report)
	// Output:
	// cache stopped in 80ms (stop requested: deploy v2): some cut short
	//   messages: 3 drained, 1 refused; 2 stop requests after the first
	//   1.  flush       defer-flag  completed    60ms  1 stop request, 1 deferred
	//   2.  deregister  plain       interrupted  15ms  1 stop request, 0 deferred; canceled by the caller
	//   3.  close       plain       completed    5ms
	//
	// cache stopped in 80ms (stop requested: deploy v2): some cut short
	//   messages: 3 drained, 1 refused; 2 stop requests after the first
	//   1.  flush       defer-flag  completed    60ms  +0s  progress: flushed (40/40)  partial: 40 entries  1 stop request, 1 deferred
	//   2.  deregister  plain       interrupted  15ms  +60ms  1 stop request, 0 deferred; canceled by the caller
	//   3.  close       plain       completed    5ms   +75ms
}

// Tree renders a report and its children's, a force and an abandoned goroutine included.
func ExampleReport_Tree() {
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	shutdown := lifecycle.NewReason(lifecycle.Shutdown, errors.New("SIGTERM"))
	child := func(name string, s lifecycle.StepReport, forced error) *lifecycle.Report {
		return &lifecycle.Report{Actor: name, Reason: lifecycle.NewReason(lifecycle.ParentStopping, shutdown),
			Start: start, Duration: s.Duration, Forced: forced, Steps: []lifecycle.StepReport{s}}
	}
	quick := child("sup/quick", lifecycle.StepReport{Name: "close", Status: lifecycle.Completed,
		Start: start, Duration: time.Millisecond}, nil)
	deaf := child("sup/deaf", lifecycle.StepReport{Name: "flush", Policy: policy.DeferReraise, Status: lifecycle.Abandoned,
		Err: lifecycle.ErrAbandoned, Start: start, Duration: 300 * time.Millisecond, Goroutine: "op=flush"}, lifecycle.ErrForced)
	sup := &lifecycle.Report{
		Actor: "sup", Reason: shutdown, Start: start, Duration: 450 * time.Millisecond,
		Steps: []lifecycle.StepReport{
			{Name: "children", Policy: policy.DeferFlag, Status: lifecycle.Completed, Start: start, Duration: 450 * time.Millisecond},
		},
		Children: []*lifecycle.Report{quick, deaf},
	}
	fmt.Print(sup.Tree())
	// Output:
	// sup [some abandoned 450ms] shutdown: SIGTERM
	// ├── children defer-flag completed 450ms
	// ├── sup/quick [all completed 1ms] parent stopping: shutdown: SIGTERM
	// │   └── close plain completed 1ms
	// └── sup/deaf [some abandoned 300ms] parent stopping: shutdown: SIGTERM
	//     │   forced: lifecycle: forced
	//     └── flush defer-reraise abandoned 300ms (lifecycle: abandoned: the step did not return after a force, and its goroutine may still run)
}

// FoldedTree is for a connection manager's thousand sessions: the 998 that said
// goodbye alike print once, with a count; the two forced in the middle of a request
// print in full.
func ExampleReport_FoldedTree() {
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	shutdown := lifecycle.NewReason(lifecycle.Shutdown, errors.New("SIGTERM"))
	parent := lifecycle.NewReason(lifecycle.ParentStopping, shutdown)
	session := func(i int, status lifecycle.Status, d time.Duration) *lifecycle.Report {
		var forced error
		if status == lifecycle.Forced {
			forced = fmt.Errorf("%w: budget of 2s", lifecycle.ErrForced)
		}
		return &lifecycle.Report{Actor: fmt.Sprintf("conns/s%d", i), Reason: parent, Start: start,
			Duration: d, Forced: forced, Steps: []lifecycle.StepReport{
				{Name: "finish request", Policy: policy.DeferFlag, Status: status, Start: start, Duration: d},
				{Name: "say goodbye", Policy: policy.Plain, Status: lifecycle.Completed, Start: start.Add(d)},
			}}
	}
	conns := &lifecycle.Report{Actor: "conns", Reason: shutdown, Start: start, Duration: 2100 * time.Millisecond}
	for i := range 1000 {
		status, d := lifecycle.Completed, time.Duration(1+i%40)*time.Millisecond
		if i == 412 || i == 877 {
			status, d = lifecycle.Forced, 2*time.Second
		}
		conns.Children = append(conns.Children, session(i, status, d))
	}
	fmt.Print(conns.FoldedTree())
	// Output:
	// conns [some forced 2.1s] shutdown: SIGTERM
	// ├── conns/s0 [all completed 1ms] parent stopping: shutdown: SIGTERM
	// │   ├── finish request defer-flag completed 1ms
	// │   └── say goodbye plain completed 0s
	// ├── … and 997 more like conns/s0 [all completed 1ms–40ms]
	// ├── conns/s412 [some forced 2s] parent stopping: shutdown: SIGTERM
	// │   │   forced: lifecycle: forced: budget of 2s
	// │   ├── finish request defer-flag forced 2s
	// │   └── say goodbye plain completed 0s
	// └── … and 1 more like conns/s412 [some forced 2s]
}

// A Reason is an error: a chain of parents stopping reads once, and errors.Is sees through it.
func ExampleNewReason() {
	sigterm := errors.New("SIGTERM")
	root := lifecycle.NewReason(lifecycle.Shutdown, sigterm)
	child := lifecycle.NewReason(lifecycle.ParentStopping, root)
	grandchild := lifecycle.NewReason(lifecycle.ParentStopping, child)
	fmt.Println(root)
	fmt.Println(grandchild)
	fmt.Println("kind:", grandchild.Kind)
	fmt.Println("caused by SIGTERM:", errors.Is(grandchild, sigterm))
	var r *lifecycle.Reason
	if errors.As(grandchild.Cause, &r) {
		fmt.Println("its cause:", r.Kind)
	}
	fmt.Println(lifecycle.NewReason(lifecycle.Poisoned, nil))
	// Output:
	// shutdown: SIGTERM
	// parent stopping: shutdown: SIGTERM
	// kind: parent stopping
	// caused by SIGTERM: true
	// its cause: parent stopping
	// poisoned
}

// The phases in their order, as they print and parse (a config file, a JSON status).
func ExamplePhase() {
	fmt.Println(lifecycle.Starting, lifecycle.Running, lifecycle.Stopping, lifecycle.Stopped)
	var p lifecycle.Phase
	fmt.Println(p.UnmarshalText([]byte("stopping")), p, p > lifecycle.Running)
	fmt.Println(p.UnmarshalText([]byte("paused")))
	// Output:
	// starting running stopping stopped
	// <nil> stopping true
	// lifecycle: unknown phase "paused" (valid: starting, running, stopping, stopped)
}

// Detail is a progress line with its rate, its ETA and its fields, in key order.
func ExampleProgress_Detail() {
	p := lifecycle.Progress{
		Message: "flushed", Done: 812, Total: 1000, Phase: "flushing",
		Rate: 406, ETA: 463 * time.Millisecond, Fields: map[string]any{"shard": 3, "region": "eu"},
	}
	fmt.Println(p)
	fmt.Println(p.Detail())
	fmt.Println(lifecycle.Progress{Message: "rows copied", Done: 5, Rate: 2.5}.Detail())
	// Output:
	// flushing: flushed (812/1000)
	// flushing: flushed (812/1000), 406/s, 463ms left, region=eu, shard=3
	// rows copied (5), 2.5/s
}

// A force cancels the running step whatever its policy, and only Always steps run after it.
func ExampleExecution_Force() {
	inStep := make(chan struct{})
	plan := lifecycle.MustPlan(
		lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
			close(inStep)
			<-ctx.Done() // a request does not end a DeferFlag step; a force does
			return context.Cause(ctx)
		}},
		lifecycle.Step{Name: "deregister", Run: func(context.Context) error { return nil }},
		lifecycle.Step{Name: "close", Always: true, Run: func(context.Context) error { return nil }},
	)
	e := plan.Start(lifecycle.NewReason(lifecycle.Shutdown, nil), lifecycle.Options{Actor: "conn"})
	done := make(chan struct{})
	go func() { // the owner's goroutine, an actor's in package mailbox
		defer close(done)
		for _, more := e.RunNext(); more; _, more = e.RunNext() {
		}
	}()
	await(inStep, "drain to begin")
	rc := e.Cancel(errors.New("second SIGTERM"))
	fmt.Println("request:", rc.Step, "deferred", rc.Deferred)
	f := e.Force(errors.New("budget"))
	fmt.Println("force:", f.Step, "first", f.First)
	fmt.Println("again:", e.Force(nil).First)
	await(done, "the plan to end")
	rep := e.Report()
	fmt.Println(rep.Verdict(), "-", rep.Forced)
	for _, s := range rep.Steps {
		fmt.Println(s.Name, s.Status)
	}
	// Output:
	// request: drain deferred true
	// force: drain first true
	// again: false
	// some forced - lifecycle: forced: budget
	// drain forced
	// deregister skipped
	// close completed
}

// A StopID, which correlates a stop's records, prints and parses as 16 hex digits.
func ExampleStopID() {
	id := lifecycle.StopID(0x2a)
	text, _ := id.MarshalText()
	fmt.Println(string(text))
	var back lifecycle.StopID
	fmt.Println(back.UnmarshalText(text), back == id)
	fmt.Println(back.UnmarshalText([]byte("2a")))
	// Output:
	// 000000000000002a
	// <nil> true
	// lifecycle: stop ID "2a": want 16 hex digits
}
