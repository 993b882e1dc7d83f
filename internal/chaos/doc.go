// Package chaos is Quiesce's chaos suite (issue 8, "Every stop ends, in order"): it
// generates trees of components, stops them every way at once on a real actor
// system, and checks every invariant on each run. It has no API; its tests are the
// suite:
//
//	go test -race ./internal/chaos                      # the CI plan: a fixed set of runs
//	go test -race ./internal/chaos -run 'TestChaos$' -chaos.seed=0x... -chaos.actors=N -chaos.levels=L -count=10
//	QUIESCE_CHAOS=2h go test -race -timeout 0 ./internal/chaos   # the long mode
//
// # What a run generates
//
// One seed (math/rand/v2, PCG) and a size (actors, levels) make one scenario, a
// plain value:
//
//   - a tree of 1 to 4 levels, one to three roots, a random fan-out per node;
//   - for each node a plan of up to four steps, each under a random policy, with or
//     without a Timeout, a Grace (deferred policies) and Always, doing one of: return
//     at once, work for a while honouring its ctx, fail, panic, work ignoring its ctx,
//     or ignore its ctx for good (only under a finite budget: only a force and
//     abandonment end it); the built-in Children step placed at random or left to
//     the mailbox; a budget (infinity, a duration or brutal), an AbandonAfter (now and
//     then the default second), an order (parallel, or reverse for a few children), a
//     capacity, a supervisor whose decider restarts, stops, resumes or escalates;
//   - traffic: bursts of requests (through RequestFuture or an actor's Request) and
//     plain sends, each taking Receive a while; a few of them panic (the supervisor
//     then sends Restart or Stop), or make the actor call ctx.Stop on itself or on a
//     child, or ctx.Poison on itself;
//   - a schedule over a window of up to 150 ms: Stop, StopFuture, Poison,
//     PoisonFuture, qactor.Stop (with or without a deadline), qactor.Force,
//     qactor.SetBudget (mid-stop, often), qactor.Shutdown (with a deadline under
//     two default AbandonAfter times, a longer one or none; once or twice), spread over
//     the tree, and "hot spots" where a burst and one to three stops hit one node
//     within a few milliseconds (a stop while its queue drains, a pill and then a
//     stop, two pills, a force or a budget change mid-stop);
//   - a final graceful stop of every root still there (Stop, StopFuture, Poison,
//     PoisonFuture, qactor.Stop, or a Shutdown), which never forces by itself: a
//     fault that leaves an actor stopping for good is not rescued by the run's end.
//
// The schedule is played on real goroutines against a real actor system
// (internal/testsys): each blocking call runs on a goroutine of its own, and the
// traffic and the stops race for real. A run is therefore not exactly reproducible
// from its seed: the seed reproduces the tree, the plans, the traffic and the
// schedule, and the replay command runs it again, as often as -count says, so that
// a rare interleaving comes back.
//
// # What a run checks
//
// Each invariant has a name, which its violations carry and -chaos.known (or
// QUIESCE_CHAOS_KNOWN, for a CI that must pass while a fault is being fixed) takes:
// their violations are then logged, and fail nothing.
//
//   - stops: every instance terminates within the run's bound, computed from the
//     scenario's budgets, AbandonAfter times and plans (see Scenario.Bound); none stays
//     stopping. A run that reaches its bound reports each instance still there,
//     likeliest cause first: its phase (qactor.PhaseOf), the stop it is in
//     (mailbox.Of(...).Ticket()), the step it runs, its queue, its plan and what the
//     schedule did to it.
//   - budget: once a stop's budget has run out, only Always steps start, the step
//     it forced returns (or is abandoned) AbandonAfter later, an Always step under
//     force within twice that; a Shutdown's budget never replaces a root's own
//     tighter one. shutdown-budget: a Shutdown whose deadline leaves time does not
//     force its roots at once (ErrBrutal).
//   - ledger: every message is handled, refused with its reason (a *mailbox.Refused
//     answer, or a dead letter carrying one), or sent to an actor already gone;
//     every request handled is answered: sent = handled + refused + gone, each
//     exactly once, lost 0. refusals: the mailbox counts the refusals its senders
//     saw (mailbox.Refused()).
//   - resurrection: no incarnation starts after a stop request had returned or a
//     stop (not a restart) had begun, and no more incarnations than restarts.
//   - report: every stop's report is complete and agrees with itself: no step
//     pending, steps in order, a skipped step never started, an abandoned one names
//     its goroutine, a forced or abandoned one implies a forced report, no step but
//     an Always one after a force; the ticket holds the last Finished's report.
//   - tree: each report appears once in its parent's reports, and only there, and a
//     child stopped by its parent's stop is in that stop's report.
//   - order: a parent hears each child's Finished before protoactor's Terminated,
//     and no Forced or Abandoned after the Finished of its stop. naming: each notice
//     names a step of the stop it belongs to that had started, of the right policy,
//     and a Forced notice names the step the force cut.
//   - abandoned and goroutines: a step still blocked once its actor is gone was
//     abandoned, its report names its goroutine (op=<step>) and the goroutine
//     profile has one under that label; every step that ignores its ctx is released
//     at the end of the run, and then no goroutine outlives the run (goleak).
//   - calls: qactor.Stop returns the actor's last report, Shutdown its roots' last
//     reports (a root that restarts and runs on has not been shut down),
//     StopFuture and PoisonFuture resolve.
//
// A failing run prints its seed, its size, what the scenario held, the violations
// (up to five per invariant, each with the actor and what was expected) and the
// one-line command that replays it.
//
// # Modes
//
// By default TestChaos runs the CI plan: a fixed number of runs of fixed sizes,
// from 3 to 2,000 actors, with seeds derived from a fresh base seed that it prints
// (-chaos.base replays the whole plan). It stops early after -chaos.maxhung runs
// that hung, since each costs its whole bound, and fails rather than start a run
// that could hang past -chaos.budget (55 s; the plan takes about 20 s when every
// run passes).
// -short runs the first dozen runs.
// -chaos.long=2h (or QUIESCE_CHAOS=2h) runs until the time is up, with trees of up
// to 100k actors; the test's -timeout must leave it room.
package chaos
