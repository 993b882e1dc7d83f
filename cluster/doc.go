// Package cluster gives a member of a protoactor-go cluster a graceful leave: it
// leaves membership but keeps serving until its peers route around it, drains its
// grains under one deadline, hands each identity (and its state) to the identity's
// new owner, and only then shuts down. Import it as qcluster beside protoactor's
// cluster package. It works with protoactor's disthash identity lookup and any
// provider (the in-memory test provider and automanaged are the ones tested here).
//
//	c := cluster.New(system, cluster.Configure("shop", provider, disthash.New(), remoteConfig,
//		cluster.WithKinds(qcluster.Grain[*Cart]{Component: cart, Save: (*Cart).save, Load: (*Cart).load}.MustKind("cart"))))
//	member, err := qcluster.Install(c, qcluster.Config{}) // after cluster.New, before StartMember
//	c.StartMember()
//	...
//	report, err := member.Leave(ctx) // on SIGTERM, instead of c.Shutdown(true)
//
// and on the calling side (a member or a client, with a Member installed too):
//
//	caller, err := qcluster.NewCaller(c, qcluster.CallerConfig{})
//	answer, err := caller.Request(ctx, "cart-42", "cart", &AddItem{...})
//
// # Why
//
// protoactor's Cluster.Shutdown(true) (cluster/cluster.go:141-158) sets the gossip
// key of a graceful leave and at once shuts the actor system down, which stops the
// gossip loop (gossiper.go:321), so the leave may never be gossiped; it shuts the
// provider down, then the identity lookup, whose placement actor poisons every grain
// with a fixed 10 s future (disthash/placement_actor.go:65-78, actor/actor_context.go:457-464), sleeps 2 s, and shuts
// remote down. Peers learn of the leave when their provider says so (automanaged:
// the next health poll), route the grains' identities to their new owners at once,
// and the new owner activates them while the old activations still drain: two
// activations of one identity serve at once, answers sent after remote went down
// are lost, and protoactor's DefaultContext, which uses one deadline for each
// attempt and for the whole call (default_context.go:59, 84), in effect never
// retries. The tests of this package pin each of these.
//
// # The leave, step by step
//
// Member.Leave(ctx) runs under ctx's deadline (Config.Deadline if none), a pod's
// grace period:
//
//  1. Announce, then leave membership, and keep serving. The member sends every
//     peer of its topology Leaving, with the identities it holds (its live
//     activations) and how long the leave may take, and waits for their answers.
//     Then it takes no new activation: one that protoactor's placement makes here
//     (for a caller whose topology still has this member) refuses every message it
//     gets, with the refusal of a stopping grain whose cause is ErrMemberLeaving,
//     and never serves; once protoactor's placement, seeing this member's own
//     topology without it, has poisoned it, it refuses as a grain stopping, with
//     reason Poisoned (a Caller looks elsewhere after either). It sets protoactor's
//     gossip key of a graceful leave, and shuts its provider down, so that the
//     peers' topologies drop it (the test provider at once, automanaged at the
//     peers' next health poll). Its grains keep serving, gossip and remote stay
//     up; it asks each peer again, every Config.Poll, until the peer says its
//     topology excludes it, at most Config.ExcludeWithin (and a quarter of the
//     leave's time).
//  2. Drain. It asks every grain to stop, with reason Shutdown and cause
//     ErrMemberLeaving, by the drain's deadline (the leave's, less Config.Reserve):
//     each grain refuses what comes from now on, at once, with a *mailbox.Refused
//     whose reason matches ErrMemberLeaving on any node (package remote carries
//     it), answers what was queued, and runs its plan, the last step of which saves
//     its state (Grain.Save). If this member's own topology drops it before step 1
//     is over (the test provider's does, at once), the drain begins then, before
//     protoactor's placement actor, which would poison every grain it no longer
//     owns, sees that topology: its poison finds the grains stopping, and is
//     refused.
//  3. Hand off. As each activation stops, the member sends every peer Released
//     for its identity, and the identity's new owner (rendezvous over this
//     member's topology less itself and the members that are leaving) the state it
//     saved, which the owner keeps for the identity's next activation. Then it hands
//     off what else was saved here. It waits for the owners to confirm, until half
//     of the reserve is left.
//  4. Shut down. Once nothing has reached it for Config.Quiet (no message to a
//     grain, no activation refused: callers whose provider has not yet dropped it
//     still send, are refused, and look elsewhere, as long as remote is up), it
//     tells its peers the leave is over (Left), makes sure what the grains answered
//     during the leave has left (a round trip to each node they heard from), and
//     shuts down the identity lookup, gossip, Quiesce's remote Node and protoactor
//     remote, and the actor system. Leave returns a Report: how long step 1 took,
//     the peers that did not hear or did not confirm, the grains' tree report, the
//     states handed off (confirmed or not), not saved, and lost.
//
// A ctx cancelled before its deadline cuts the step under way short (step 1 stops
// asking its peers, who are then unconfirmed; the drain forces its grains) and the
// leave goes on to the end, as when a deadline runs out.
//
// # Never two live activations
//
// A Grain's activation runs a start hook before the component's own: it registers
// the activation with the Member, and waits while any leaving member that this
// member has heard from holds its identity, until that member's Released of it (with
// the state, if this member is the new owner), its Left, or the end of its leave's
// deadline. Only then does the activation load the state and serve; what was sent to
// it meanwhile waits in its mailbox. So an identity's new activation serves only once
// its old one has stopped, whichever member it comes up on. Why the peers know in
// time: the leaving member announces the identities it holds before it refuses any
// activation, and before its provider lets any topology drop it, and it has no
// activation it did not announce (a new one there waits for the announcement's
// answers, then fails). A caller learns that the member leaves from a refusal, or
// from its topology, both after the announcement.
//
// # When a deadline runs out
//
//   - Step 1: the drain begins anyway. A peer that did not confirm is named in
//     Report.Unconfirmed and may route activations here: they are refused
//     (ErrMemberLeaving), and the Caller sends the message elsewhere. A peer that did
//     not hear the announcement at all (Report.Unannounced) may activate an
//     identity before its old activation here has stopped: the one case of two live
//     activations, and the leave returns an error that says so.
//   - Step 2: grains still running are forced (mailbox.ErrDeadline with
//     ErrMemberLeaving), then abandoned, as any Quiesce stop; the messages still
//     queued are refused with the reason; the state step is Always, so it runs after
//     a force, with the force budget. The report's tree says which. A grain that has
//     not stopped twice its force budget later (one stuck in a message: a force
//     cannot interrupt a Receive) is named in the tree's Stopping, its verdict is
//     some abandoned, and Leave returns an error that wraps qactor.ErrIncomplete;
//     what it refuses or answers after remote has shut down is lost. protoactor's
//     identity lookup then waits for it, up to its fixed 10 s
//     (disthash/manager.go:50), so such a leave ends up to 10 s past its deadline.
//     A Save that did not complete (an error, a panic, its timeout, or it never
//     returned) is named in Report.Unsaved, and Leave returns ErrStateLost: the
//     identity's next activation starts without this one's state.
//   - Step 3: a state whose owner did not confirm is named in
//     Report.HandoffUnconfirmed (it was sent; the confirmation may have been lost,
//     see below); a state with no owner (no other member) in Report.Lost, and Leave
//     returns ErrStateLost. The last member to leave has no owner for any state: a
//     cluster that scales to zero persists its grains' state in Save itself, and
//     treats that ErrStateLost as expected.
//   - An activation elsewhere waits at most Grain.AcquireTimeout, and at most until
//     the leaving member's deadline (plus Config.CallTimeout): past the first it
//     fails with ErrNotReleased, refusing what was queued for it (the Caller sends
//     it again); past the second it serves, the leaving member being gone.
//
// # The calling side
//
// Caller.Request resolves an identity to its owner among the members that are not
// leaving (those that announced it, and those a refusal said so), asks the owner's
// placement actor for the activation, and sends the request, all under one deadline.
// Through protoactor's own calls (Cluster.Request, RequestFuture) a refusal is an
// answer, not an error: a *mailbox.Refused where the caller expects its reply;
// qactor.Result turns it into an error that matches ErrMemberLeaving and
// mailbox.ErrStopping. Caller.Request does that for you. A refusal (the grain
// stops, its member leaves, its mailbox is full) or a dead letter means the
// message was not handled: Request resolves again and sends it
// again, after a backoff. A request with no answer may have been handled: Request
// never sends it twice, and returns the error. When protoactor is about to drop its
// endpoint to a node (a member left the topology), the Member holds that back, at
// most Config.Linger, until the Caller's requests to that node have their answers,
// and the Caller sends no new one there (see below for why).
//
// # protoactor's rough edges, and how this package goes around them
//
//   - StartMember sleeps a second once the member has joined (cluster.go:111).
//     Nothing to do; internal/clusternode starts a test's members at once.
//   - Cluster.Shutdown stops the gossip loop before the leave is gossiped, and
//     sleeps: Leave does not call it, and shuts down the same parts itself, in
//     order (step 4).
//   - MemberList.Members reads the topology without its lock (member_list.go:124):
//     the Member keeps its own copy, from the ClusterTopology events. (So does
//     BroadcastEvent, member_list.go:227-236, which the placement actor calls as
//     each grain ends: a data race with a topology update at the same moment,
//     which this package cannot avoid.)
//   - A peer whose topology drops a member publishes EndpointTerminated for it
//     (member_list.go:220-225); the endpoint writer that stops then closes its
//     connection, and its reading goroutine publishes one more EndpointTerminated,
//     which stops the next writer to that address (remote/endpoint_writer.go:126-145,
//     318-320), and closing a connection drops what the writer had just sent: for a
//     while, what that peer sends the leaving member may be lost. So the leave
//     sends its messages from the leaving member, which keeps its endpoints, and
//     asks again where it needs an answer; its Member's EventStream subscription,
//     which comes before remote's (Install precedes StartMember), holds the
//     endpoint's removal back while the Caller has requests in flight there
//     (Config.Linger). (An Unsubscribe on an EventStream moves the last subscription
//     into the removed one's place, eventstream.go:60-88: a subscription removed
//     before the Member's can put protoactor's ahead of it.)
//   - An endpoint writer to an address where nobody listens retries its connection
//     five times, two seconds apart, before anything else (endpoint_writer.go:44-52),
//     and stopping remote waits for it: step 4's round trips go only to nodes the
//     grains heard from during the leave.
//   - remote.Shutdown(true) stops the endpoint manager, which sets a field to nil
//     that endpoint writers read without a lock: step 4 stops the endpoint
//     supervisor first, then the gRPC server (remote.StopRemote, which users of
//     protoactor remote can call too).
//   - The grains' parent is disthash's placement actor, which logs an error for
//     every message it does not know: Install makes it Deaf to notices
//     (remote.Config.Deaf).
//   - The test provider's client start dereferences nil (test_provider.go:86-92), its
//     TTL loop never ends (test_provider.go:124-130), and automanaged binds 0.0.0.0
//     (automanaged.go:181), though it takes an echo server of the caller's
//     (NewWithTesting), which listens where its listener does: see
//     internal/clusternode.
//   - Gossip's informer shuffles members with one math/rand.Rand for the process,
//     without a lock (informer.go:25, 122): members that share a process race; tests
//     that run several members in one process make their gossip tick hourly.
//   - A client's gossiper never starts, and its SetState calls a nil throttle
//     (gossiper.go:106): Leave sets the gossip key on members only.
//   - The remote BlockList reads its set without the lock Block takes
//     (remote/blocklist.go:27-29, 42-45): in one member, gossip and an automanaged
//     poll race on it (examples/cluster's test tells these reports from its own).
package cluster
