package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// A plan that must fit a pod's 30 s grace period, printed as a dry run, and a plan
// that cannot fit it, rejected before anything runs.
func ExampleNewPlanWithin() {
	noop := func(context.Context) error { return nil }
	plan, err := lifecycle.NewPlanWithin(30*time.Second,
		lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Timeout: 20 * time.Second, Grace: 5 * time.Second, Run: noop},
		lifecycle.Step{Name: "disconnect", Policy: policy.Plain, Timeout: 5 * time.Second, Run: noop},
		lifecycle.Step{Name: "flush-logs", Policy: policy.DeferReraise, Timeout: 2 * time.Second, Always: true, Run: noop},
	)
	if err != nil {
		panic(err)
	}
	fmt.Print(plan)

	_, err = lifecycle.NewPlanWithin(30*time.Second,
		lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Timeout: 25 * time.Second, Run: noop},
		lifecycle.Step{Name: "disconnect", Policy: policy.Plain, Grace: time.Second, Run: noop},
	)
	fmt.Println(err)
	// Output:
	// plan: 3 steps, timeouts 27s (deadline 30s)
	//   1.  drain       defer-flag     timeout 20s  grace 5s
	//   2.  disconnect  plain          timeout 5s   grace none
	//   3.  flush-logs  defer-reraise  timeout 2s   grace none  always
	// lifecycle: plan step 2 "disconnect": a Grace has no effect under the plain policy
	// lifecycle: plan step 2 "disconnect": no Timeout, so the plan cannot be shown to fit its deadline
}

// Run a plan to the end and read its report. A step that fails does not stop the
// plan: the next step still runs.
func ExamplePlan_Run() {
	plan := lifecycle.MustPlan(
		lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
			lifecycle.ReportProgress(ctx, "drained", 3, 3)
			return nil
		}},
		lifecycle.Step{Name: "disconnect", Run: func(context.Context) error {
			return errors.New("connection reset")
		}},
		lifecycle.Step{Name: "close", Policy: policy.DeferReraise, Run: func(ctx context.Context) error {
			fmt.Println("closing because:", lifecycle.ReasonFrom(ctx))
			return nil
		}},
	)
	reason := lifecycle.NewReason(lifecycle.Requested, errors.New("deploy v2"))
	report := plan.Run(context.Background(), reason, lifecycle.Options{Actor: "cache"})

	fmt.Println("verdict:", report.Verdict())
	for _, s := range report.Steps {
		fmt.Printf("%s: %s", s.Name, s.Status)
		if s.Err != nil {
			fmt.Printf(" (%v)", s.Err)
		}
		if s.Progress != nil {
			fmt.Printf(" [%v]", s.Progress)
		}
		fmt.Println()
	}
	// Output:
	// closing because: stop requested: deploy v2
	// verdict: some failed
	// drain: completed [drained (3/3)]
	// disconnect: failed (connection reset)
	// close: completed
}

// A request that arrives between steps is held for the next one. A plain step
// starts with its ctx already cancelled; a defer-reraise step finishes, and then
// every later step but the Always ones is skipped.
func ExampleExecution_Cancel() {
	plan := lifecycle.MustPlan(
		lifecycle.Step{Name: "drain", Policy: policy.DeferReraise, Run: func(context.Context) error { return nil }},
		lifecycle.Step{Name: "disconnect", Run: func(context.Context) error { return nil }},
		lifecycle.Step{Name: "flush-logs", Always: true, Run: func(ctx context.Context) error {
			fmt.Println("flush-logs sees its ctx done:", ctx.Err() != nil)
			return nil
		}},
	)
	e := plan.Start(lifecycle.NewReason(lifecycle.Poisoned, nil), lifecycle.Options{})
	rc := e.Cancel(errors.New("second stop"))
	fmt.Printf("held: %v, requests so far: %d\n", rc.Held, rc.StopRequests)
	for {
		s, more := e.RunNext()
		if !more {
			break
		}
		fmt.Printf("%s: %s, %d deferred, re-raised %v\n", s.Name, s.Status, s.Deferred, s.Reraised)
	}
	fmt.Println("disconnect:", e.Report().Steps[1].Status)
	// Output:
	// held: true, requests so far: 1
	// drain: completed, 1 deferred, re-raised true
	// flush-logs sees its ctx done: false
	// flush-logs: completed, 0 deferred, re-raised false
	// disconnect: skipped
}

// Of several goroutines that try to move a component to Stopping, exactly one does.
func ExampleState() {
	var s lifecycle.State
	fmt.Println(s.Phase())
	s.Advance(lifecycle.Running)
	from, ok := s.Advance(lifecycle.Stopping)
	fmt.Println(from, "->", s.Phase(), ok)
	from, ok = s.Advance(lifecycle.Stopping)
	fmt.Println("again:", from, ok)
	_, ok = s.Advance(lifecycle.Running)
	fmt.Println("back to running:", ok)
	// Output:
	// starting
	// running -> stopping true
	// again: stopping false
	// back to running: false
}

// A report reads as a header, the facts and one line per step; its Verdict is the
// worst rung of escalation, here or in a child.
func ExampleReport_Verdict() {
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	child := &lifecycle.Report{
		Actor: "api/conn-7", Reason: lifecycle.NewReason(lifecycle.ParentStopping, nil), Start: start, Duration: time.Second,
		Steps: []lifecycle.StepReport{{Name: "goodbye", Status: lifecycle.Abandoned, Err: lifecycle.ErrAbandoned,
			Start: start, Duration: time.Second, Goroutine: "op=goodbye"}},
	}
	report := &lifecycle.Report{
		Actor: "api", Reason: lifecycle.NewReason(lifecycle.Shutdown, errors.New("SIGTERM")), Start: start,
		Duration: 2500 * time.Millisecond, Drained: 12, Refused: 3, Forced: lifecycle.ErrForced,
		Steps: []lifecycle.StepReport{
			{Name: "drain", Policy: policy.DeferFlag, Status: lifecycle.Forced, Err: lifecycle.ErrForced,
				Start: start, Duration: 2 * time.Second},
			{Name: "flush-logs", Policy: policy.Plain, Status: lifecycle.Completed,
				Start: start.Add(2 * time.Second), Duration: 500 * time.Millisecond},
		},
		Children: []*lifecycle.Report{child},
	}
	fmt.Println(report.Verdict(), "/ without the child:", (&lifecycle.Report{Steps: report.Steps}).Verdict())
	fmt.Printf("%+v", report)
	// Output:
	// some abandoned / without the child: some forced
	// api stopped in 2.5s (shutdown: SIGTERM): some abandoned
	//   messages: 12 drained, 3 refused; forced: lifecycle: forced; 1 child stopped
	//   1.  drain       defer-flag  forced     2s     +0s  lifecycle: forced
	//   2.  flush-logs  plain       completed  500ms  +2s
	//     api/conn-7 stopped in 1s (parent stopping): some abandoned
	//       1.  goodbye  plain  abandoned  1s  +0s  goroutine op=goodbye  lifecycle: abandoned: the step did not return after a force, and its goroutine may still run
}
