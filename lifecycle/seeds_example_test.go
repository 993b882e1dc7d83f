package lifecycle_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// A step reports structured progress (seed 004's report_progress with its metadata):
// done and total, a phase, fields; the rate and the ETA are worked out. The last one
// stays in the report; each one reaches the Observer (an actor's parent hears it).
func ExampleReportProgressOf() {
	plan := lifecycle.MustPlan(lifecycle.Step{Name: "flush", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
		for i := 1; i <= 4; i++ {
			lifecycle.ReportProgressOf(ctx, lifecycle.Progress{Message: "batches flushed", Done: i, Total: 4,
				Phase: "flushing", Fields: map[string]any{"shard": 7}})
		}
		return nil
	}})
	rep := plan.Run(context.Background(), lifecycle.NewReason(lifecycle.Requested, nil), lifecycle.Options{})
	p := rep.Steps[0].Progress
	fmt.Println(p)
	fmt.Println(p.Fields["shard"], p.Rate > 0)
	// Output:
	// flushing: batches flushed (4/4)
	// 7 true
}

// What a step achieved survives its interruption (seed 004's partial_result): the
// report keeps it.
func ExampleRecordPartial() {
	ctx, cancel := context.WithCancelCause(context.Background())
	plan := lifecycle.MustPlan(lifecycle.Step{Name: "flush", Run: func(ctx context.Context) error {
		for i := 1; i <= 1000; i++ {
			if i == 813 {
				cancel(errors.New("second SIGTERM")) // a request, as an actor would get one
				<-ctx.Done()
				return ctx.Err()
			}
			lifecycle.RecordPartial(ctx, fmt.Sprintf("flushed %d of 1000", i))
		}
		return nil
	}})
	rep := plan.Run(ctx, lifecycle.NewReason(lifecycle.Requested, nil), lifecycle.Options{})
	fmt.Println(rep.Steps[0].Status, "-", rep.Steps[0].Partial)
	// Output:
	// interrupted - flushed 812 of 1000
}

// The operation's context (seed 004's OperationContext: id, status, start, reason,
// elapsed), read while the stop is under way, from any goroutine.
func ExampleExecution_Snapshot() {
	reported, release := make(chan struct{}), make(chan struct{})
	plan := lifecycle.MustPlan(lifecycle.Step{Name: "drain", Policy: policy.DeferFlag, Run: func(ctx context.Context) error {
		lifecycle.ReportProgress(ctx, "sessions drained", 57, 200)
		close(reported)
		<-release
		return nil
	}})
	e := plan.Start(lifecycle.NewReason(lifecycle.Shutdown, errors.New("SIGTERM")), lifecycle.Options{Actor: "listener", ID: 0x2a})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, more := e.RunNext(); more; _, more = e.RunNext() {
		}
	}()
	await(reported, "drain to report progress") // while drain runs
	s := e.Snapshot()
	fmt.Println(s.ID, s.Actor, s.Reason)
	fmt.Println(s.Step, s.Policy, s.Progress, s.Finished)
	close(release)
	await(done, "the plan to end")
	fmt.Println(e.Snapshot().Finished)
	// Output:
	// 000000000000002a listener shutdown: SIGTERM
	// drain defer-flag sessions drained (57/200) false
	// true
}

// The current operation, without passing it along (seed 004's current_operation):
// a step's ctx carries the stop's reason.
func ExampleReasonFrom() {
	deep := func(ctx context.Context) {
		if r := lifecycle.ReasonFrom(ctx); r != nil {
			fmt.Println("stopping because:", r)
		}
	}
	plan := lifecycle.MustPlan(lifecycle.Step{Name: "close", Run: func(ctx context.Context) error { deep(ctx); return nil }})
	plan.Run(context.Background(), lifecycle.NewReason(lifecycle.Shutdown, errors.New("deploy v2")), lifecycle.Options{})
	// Output:
	// stopping because: shutdown: deploy v2
}
