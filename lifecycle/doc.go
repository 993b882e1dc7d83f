// Package lifecycle describes how a component stops: its phases, its plan of steps,
// how the plan runs under cancellation requests and force, and the report it leaves.
// It is pure Go; the mailbox and actor packages run it on protoactor-go.
//
// # Phases
//
// A component's incarnation goes Starting, Running, Stopping, Stopped, forward only.
// [State] holds the phase; each transition happens exactly once, and the phase can be
// read from any goroutine at any time.
//
// # Plans
//
// A [Plan] is an ordered list of [Step]s, validated when it is built: [NewPlan]
// rejects an empty or duplicate name, a nil Run, an unknown policy, a negative
// duration and a Grace under the plain policy, and [NewPlanWithin] also rejects a plan
// whose step Timeouts cannot be shown to fit an outer deadline (a pod's 30 s). Every
// problem is a [*PlanError] that names its step. [Plan.String] is the dry run: the
// steps, their policies and budgets, and the total, before anything runs.
//
// # How a plan runs
//
// An [Execution] runs a plan for a [Reason]:
//
//  1. Steps run in order, each at most once, on the goroutine that calls
//     [Execution.RunNext] or [Execution.Advance] (an actor's own; Advance returns
//     the step's status alone), each through a [policy.Inline] under its own policy,
//     Timeout and Grace: no policy starts a goroutine. Its ctx carries the Reason
//     ([ReasonFrom]) and takes progress ([ReportProgress], [ReportProgressOf]) and a
//     partial result ([RecordPartial]).
//  2. A step that fails (an error, a panic, its own timeout) is recorded, and the
//     next step still runs: cleanup is best effort and never turns into a restart.
//  3. A cancellation request ([Execution.Cancel]) goes to the running step, and is
//     handled by its policy: plain, the step's ctx is cancelled now and the step is
//     Interrupted; defer-flag, the step keeps running and the request is counted;
//     defer-reraise, the step keeps running, and once it returns every later step
//     is skipped except those marked Always. A request between steps is held for
//     the next step.
//  4. A force ([Execution.Force]) cancels the running step's own ctx with cause
//     [ErrForced], whatever its policy, and from then on only Always steps run, each
//     with the AbandonAfter as its Timeout.
//  5. A step that has not returned AbandonAfter after its force (or, for an Always
//     step under force, AbandonAfter after its Timeout) is abandoned: reported,
//     with the pprof label of its goroutine, and its owner told to carry on without
//     it. A goroutine cannot be killed in Go; abandoning it is the honest last rung.
//
// # Reports
//
// Every execution leaves a [Report]: its [StopID]; why the stop began; for each step
// its name, policy, status, the stop requests it received and deferred, its error,
// start and duration, last progress and partial result; the messages drained and
// refused (filled in by the mailbox); the reports of the children that stopped with
// it; and a [Verdict], the worst that happened: all completed, some cut short, some
// failed, some forced, some abandoned. Reports print for people with String, %+v,
// Tree, and FoldedTree for trees of thousands (children that ended alike print
// once, with a count). While the plan runs, [Execution.Snapshot] shows it as it
// stands, from any goroutine.
//
// # What users touch, and what the mailbox does
//
// Most code needs [Plan], [Step], [NewPlan], [Report] and the helpers a step calls
// ([ReasonFrom], [ReportProgress], [RecordPartial]); [Plan.Run] runs a plan without
// actors. [Execution], [Options], [Observer], [Receipt], [Forcing] and [State] are
// the engine package mailbox drives on each actor's goroutine; they are
// exported for runtimes of your own, and most programs never see them.
package lifecycle
