// Package trigger says what starts a stop: a signal, a timeout, a polled condition,
// a cancelled context, or any combination of them, with AnyOf, AllOf and Escalate.
// It is pure Go; Quiesce uses a fire as the cause of a shutdown
// (lifecycle.NewReason(lifecycle.Shutdown, fired) reads "shutdown: signal SIGTERM").
//
// # Sources
//
// A [Source] is a description: it does nothing until [Watch] watches it, and one
// value can be watched many times. The leaves are [Signal], [After], [At],
// [Condition] (and [HeapAbove], a ready-made one) and [Context]; [AnyOf], [AllOf]
// and [Escalate] combine sources, and nest:
//
//	// (hard timeout OR SIGTERM) OR (at least 60 s AND 1000 items done)
//	trigger.AnyOf(
//		trigger.AnyOf(trigger.After(5*time.Minute), trigger.Signal(syscall.SIGTERM)),
//		trigger.AllOf(trigger.After(time.Minute), trigger.Condition("1000 items done", time.Second, done)),
//	)
//
// A source fires at most once, and then may escalate at most once: a stop starts
// gracefully, and is forced on escalation. Only two things escalate: a [Signal] (on
// the second signal) and an [Escalate] (when its force part fires, counted from the
// fire). A combinator escalates once it has fired and one of its parts has
// escalated. What fired is a [*Fired], a typed error whose [Kind] says which source:
// "signal SIGTERM", "timeout after 30s", "condition memory above 90%",
// "manual: deploy v2", "all of (timeout after 1m0s, condition 1000 items done)".
//
// # How a watch runs
//
//  1. [Watch] checks the whole tree first: a bad part is an error wrapping
//     [ErrInvalid] that names it ("any of, part 2: condition "x": interval 0s is not
//     positive"), and nothing starts.
//  2. Each leaf gets one goroutine, with a context under the watch's: a timer, a
//     ticker that calls the condition at once and then every interval, a wait on a
//     context, or a signal channel (signal.Notify is called before Watch returns).
//     The force part of an Escalate starts only when its graceful part fires.
//  3. A leaf reports its fire (and a Signal its escalation) as a message to the
//     watcher's one goroutine, which owns the tree: it records the report and
//     re-evaluates each combinator above the leaf. An AnyOf fires with its first
//     part's Fired; an AllOf when its last part fires, with every part's Fired in
//     its Parts; an Escalate with its graceful part's.
//  4. After each report the watcher sweeps the tree: a leaf that can no longer
//     change the outcome (it fired and cannot escalate; a combinator above it fired
//     and it cannot escalate; it escalated) is cancelled, so a condition stops being
//     polled and a timer stops once it cannot matter.
//  5. When the root fires, [Watcher.Context] is cancelled with the Fired as its
//     cause. When the root escalates, every leaf is cancelled, the watcher waits for
//     its signal goroutines to have released their signals, and then cancels
//     [Watcher.ForceContext] with the escalation's Fired. A third signal therefore
//     gets Go's default handling: SIGINT and SIGTERM end the program.
//  6. [Watcher.Stop], or the end of Watch's ctx, cancels every leaf; Stop also waits
//     for every goroutine the watch started. A fire that races with Stop either
//     becomes the context's cause or is dropped: [Watcher.Cause] always agrees with
//     context.Cause.
//
// The package has no package-level mutable state; all state belongs to a Watcher.
package trigger
