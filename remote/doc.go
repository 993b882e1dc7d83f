// Package remote carries Quiesce's promises across protoactor remote: refusals,
// notices, and stops with a reason, a deadline and a report, between nodes. Import
// it as qremote when you use protoactor's remote; the core packages (policy,
// lifecycle, mailbox, actor) know nothing of protobuf or gRPC.
//
//	r := remote.NewRemote(system, remote.Configure("127.0.0.1", 8090))
//	node, err := qremote.Install(system, qremote.Config{})
//	r.Start()
//	defer qremote.StopRemote(system, r) // remote.Shutdown(true) without its data race
//	defer node.Close()
//
// Once installed on both nodes:
//
//   - A request to a component of another node that is stopping (or full) gets
//     the *mailbox.Refused at once, as a local one does: errors.Is(err,
//     mailbox.ErrRefused), errors.As to *mailbox.Refused with the stop's Reason,
//     and qactor.Result, all hold on the requester's node.
//   - qactor.Stop, qactor.Force and qactor.PhaseOf take a PID of another node:
//     Stop sends the reason and how long the caller waits, and returns the report,
//     its steps, errors and children's reports with it. Node.StopWith adds a
//     budget, one fitted to the deadline (as qactor.Shutdown does), a force, a
//     requester that hears what became of its request, or no wait.
//   - Node.Watch makes an actor hear every notice of a component of another node
//     (DeferredCancel, Interrupted, Forced, Abandoned, Finished with its report),
//     and its progress if asked, as its parent does.
//   - A component spawned from another node (protoactor's remote spawn, whose
//     parent is remote's activator) sends the activator no notices: it logs an
//     error for every message it does not know.
//
// # The wire
//
// Quiesce's messages are Go values; only protobuf crosses protoactor remote. Each
// crosses as one protobuf type, wirepb.Envelope, to the receiving node's Quiesce
// process (ProcessName), which turns it back into the Go value
// (*mailbox.Refused, *mailbox.Finished, ...) and hands it to the actor or future it
// is for. (protoactor's RootSerialized hook cannot do this: it must return a value
// whose type implements protoactor's RootSerializable, and the mailbox's types
// would then import protoactor's remote.) Reasons and errors cross as kind and
// text, with the codes of the sentinels they match: the receiving node restores
// mailbox.ErrStopping, lifecycle.ErrForced, a cause registered with RegisterError,
// and the *lifecycle.Reason, so errors.Is and errors.As work there as here. A
// refused message crosses back in the refusal (as protobuf's Any).
//
// # The handshake, and nodes that do not speak Quiesce
//
// A protobuf type that a node has not registered crashes it on arrival
// (protoactor's deserializer dereferences the nil of a failed type lookup), so a
// node sends Quiesce's wire type only to a node that has answered its probe. The
// first message for a node sends protoactor's own Touch to that node's
// ProcessName; a node with this package installed answers Touched, one without
// answers with its dead letter. Messages for the node wait, in order, for the
// answer (at most Config.ProbeTimeout, Config.Pending of them). The answer is kept
// until protoactor reports the node's endpoint terminated: a node that comes back
// at the same address, perhaps as an older program, is probed again.
//
// A node that does not speak Quiesce gets what every protoactor node understands:
// a refusal becomes protoactor's DeadLetterResponse, so a future there fails with
// actor.ErrDeadLetter at once instead of timing out, and an actor there receives
// the DeadLetterResponse, as for any dead letter. A notice for it is not sent (it
// is counted in Stats.Dropped, and published on the component's node's EventStream
// as always). Stop, Force, PhaseOf and Watch of its components return
// ErrPlainNode. A node that does not answer at all is treated alike for the
// messages that waited, and probed again for the next one.
//
// # Order and limits
//
// Messages from one node to another keep their order (protoactor's endpoint keeps
// it, and the handshake holds them in order). A watcher hears the notices that the
// component publishes after the watch began, and its Finished in any case. When the
// caller's ctx is done before a remote Stop has answered, Stop returns ctx's cause
// and no report: the report stays on the component's node, where the stop goes on
// under its budget.
package remote
