// Package mailbox is a protoactor-go mailbox that gives its actor a graceful
// Stopping phase. Every way protoactor stops an actor (ctx.Stop, StopFuture, Poison,
// PoisonFuture, a parent stopping, a supervisor's Stop or Restart directive) reaches
// the mailbox first, as a system message or a PoisonPill, and the mailbox turns it
// into the run of a lifecycle.Plan.
//
// # The algorithm
//
// When the first Stop, Restart or PoisonPill arrives (on the sender's goroutine):
//
//  1. Admission changes at once. For a stop, every new user message is refused: a
//     message with a sender gets a *Refused as its reply, one without is published
//     as a dead letter whose Message is the *Refused, and each is counted. For a
//     restart, new messages are held for the next incarnation.
//  2. A message to self, in the system queue, begins the stop on the actor's own
//     goroutine: the plan's execution is built (with the Children step first when
//     the plan does not place it and the actor has children), and the messages
//     queued before the stop are drained, in order. A PoisonPill is its own drain
//     boundary: what came before it is handled, what is behind it is refused at
//     once, whether the pill begins the stop or a stop under way meets it in its
//     drain. A pill that finds the actor stopping is refused, and counted.
//  3. The steps run in turn on the actor's goroutine, each under its policy; a
//     system message that waits between two steps (a child's notice) goes first,
//     and the next step follows it as a message to self. Every later
//     Stop or Restart is a cancellation request, delivered at once to the running
//     step from the sender's goroutine, since the actor's goroutine is busy running
//     it; the parent, and the requester, get a DeferredCancel or Interrupted notice.
//  4. A budget (Config.Budget, or SetBudget), counted from the first request, forces
//     the stop when it runs out: the running step's own ctx is cancelled, only
//     Always steps run, children are forced too. A stop that must end by an outer
//     deadline (StopBy, and the Shutdown of package actor) has the smaller of
//     its budget and the deadline's, less a reserve for the force and what follows
//     it (the forced step's return, each Always step, the abandonments), and an
//     AbandonAfter shrunk to fit (Fit); its children inherit the deadline. A step
//     that does not return an AbandonAfter after its force is abandoned: a fresh
//     goroutine takes the mailbox over, and the stuck one leaves it alone if its
//     step ever returns.
//  5. When the plan is over, what is left in the queue is refused, protoactor gets
//     its Stop (or Restart), and the report, with every child's, goes to the parent
//     as a Finished notice before protoactor's Terminated.
//
// A Restart that arrives while the actor stops is one more request: there is no
// resurrection. A Stop during a restart's plan turns it into a stop.
//
// # Notices, and the order they come in
//
// Notices are ordinary user messages to the actor's Receive, but a Quiesce mailbox
// takes them in its system queue, with the Terminated of its children, so:
//
//   - a Quiesce parent hears a child's notices in the order the child sent them, and
//     its Finished before its Terminated, always;
//   - a notice overtakes the user messages queued before it, and is never refused
//     or held for Capacity, a stop or a restart (the incarnation of the moment hears it);
//   - a stopping parent hears its children's notices between its steps and, while
//     its Children step waits, as they come;
//   - a stop sends none of its notices after its Finished, and a Forced or
//     DeferredCancel notice names the step the force or request reached.
//
// A plain protoactor parent takes Finished as a user message, after any system
// message, so the child waits, before protoactor may stop it, until the parent's
// Receive has handled Finished (protoactor's AutoRespond hook tells it), or its force
// budget has passed. So a plain parent hears Finished first too, stopping or not,
// unless its mailbox is suspended or its Receive is busy for longer than that.
// Finished's envelope sender is the parent itself (a Quiesce parent) or the child (a
// plain one): it is there for that hook, and means nothing else.
//
// # Costs
//
// In the Running phase a message costs one extra atomic load: the queues are a
// ring under a mutex each (protoactor's are internal), and bench/ measures them
// faster than protoactor's default mailbox, with no allocation per message.
package mailbox
