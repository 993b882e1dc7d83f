// Package policy runs one operation under an explicit cancellation policy.
//
// Most calls should stay plain calls. This package is for the few where cancellation
// is part of the operation's contract: a disconnect that must say goodbye, a cleanup
// that must finish, a drain that must reach idle. [Run] makes the choice explicit.
//
// # The three policies
//
//   - [Plain]: op runs in the caller's goroutine with the caller's ctx, exactly as a
//     direct call would. A cancellation interrupts it.
//   - [DeferFlag]: op runs in its own goroutine, with a ctx that keeps the caller's
//     values but not its cancellation. If the caller's ctx is done while op runs, Run
//     still waits for op, then reports [Outcome.CancelRequested].
//   - [DeferReraise]: as DeferFlag, but once op has succeeded the caller's cancellation
//     is raised again, as a [*CancelError] with Deferred set.
//
// # The algorithm
//
// Run(ctx, p, name, op, opts...):
//
//  1. Plain, no options: call op(ctx) and return. No goroutine, no allocation.
//  2. Plain with options: derive op's ctx from the caller's, add [Timeout] and [Abort],
//     call op in the caller's goroutine.
//  3. Deferred: build op's own ctx from context.WithoutCancel(ctx), add Timeout,
//     Grace and Abort, start op in one goroutine labelled op=name for pprof, and
//     wait for the first of four things. When op returns, go to 4. When the
//     caller's ctx is done, note CancelRequested, start the [Grace] timer if any,
//     and keep waiting. When the grace timer fires, cancel op's ctx with cause
//     [ErrGraceExpired], and keep waiting. When the Abort ctx is done, cancel op's
//     ctx with that ctx's cause, and keep waiting.
//  4. Classify op's error. An error that is not a cancellation is returned as it is,
//     under every policy, never masked. A cancellation (an error for which errors.Is
//     finds context.Canceled, context.DeadlineExceeded or the cause of op's own ctx)
//     becomes a [*CancelError] whose Origin says who cancelled: [Caller] when the
//     caller's ctx did it (Plain only; deferred policies never pass it on), [Core]
//     when op's own ctx did (Timeout, Grace, Abort) or when op returned a cancellation
//     of something it waited for.
//  5. A panic in op's goroutine is recovered there and panicked again in the caller's
//     goroutine as a [*PanicError] carrying the value and op's stack. Under Plain the
//     panic is the caller's own and goes on untouched.
//
// op is invoked exactly once, even when the caller's ctx is already done, and is never
// retried. Run always waits for op to return: no goroutine started by Run outlives it.
//
// # Telling who was cancelled
//
// Every [*CancelError] satisfies errors.Is with context.Canceled or
// context.DeadlineExceeded (whichever its context reported), with [ErrCallerCanceled]
// or [ErrCoreCanceled] (by Origin), and with its Cause. So a caller can tell "I was
// cancelled" from "what I waited for was cancelled":
//
//	_, err := policy.Run(ctx, policy.Plain, "fetch", fetch)
//	switch {
//	case errors.Is(err, policy.ErrCallerCanceled): // we were asked to stop
//	case errors.Is(err, policy.ErrCoreCanceled):   // fetch itself was cancelled or timed out
//	}
//
// # On the caller's own goroutine: Inline
//
// [Inline] applies the same rules, through the same code, to a caller whose
// cancellation requests come by call from other goroutines rather than through a
// ctx (an actor stopping: its requests arrive while its own goroutine runs a
// cleanup step). op runs on the caller's goroutine under every policy; a request
// cancels op's ctx under Plain, and only counts (and starts Grace) under a
// deferred policy. Quiesce's lifecycle runs every step so.
//
// # Costs
//
// Plain without options costs what a direct call costs. A deferred policy costs one
// goroutine and a handful of small allocations; bench_test.go measures both against a
// direct call and a bare goroutine handoff in the same run.
package policy
