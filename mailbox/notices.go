package mailbox

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// Notice is what a stopping component tells its parent, and whoever asked it to
// stop: an ordinary user message, so the parent handles it in Receive or ignores it,
// also published on the EventStream when the system asks for events. A stopping
// parent still takes notices. Each names the stop it is about (Stop, as in the
// report and the log records). The set is closed: DeferredCancel, Interrupted,
// Forced, Abandoned, Progressed, Finished.
type Notice interface{ notice() }

// DeferredCancel says a cancellation request reached a step that defers it, or
// arrived between steps and waits for the next one (Step is then empty).
type DeferredCancel struct {
	Actor        *actor.PID
	Stop         lifecycle.StopID
	Step         string
	Policy       policy.Policy
	Cause        error         // the request's reason
	StopRequests int           // requests so far, this one included
	Elapsed      time.Duration // how long the step has run
	BudgetLeft   time.Duration // before the stop is forced; Unlimited under Infinity
}

// Interrupted says a cancellation request interrupted a plain step.
type Interrupted struct {
	Actor        *actor.PID
	Stop         lifecycle.StopID
	Step         string
	Cause        error
	StopRequests int
	Elapsed      time.Duration
}

// Forced says the stop was forced: its running step's ctx is cancelled, and only
// Always steps run from now on.
type Forced struct {
	Actor *actor.PID
	Stop  lifecycle.StopID
	Step  string // the step running when the force came, if any
	Cause error  // matches lifecycle.ErrForced's causes: ErrBudgetExpired, ErrBrutal, ...
}

// Abandoned says a step did not return after a force: the actor no longer waits for
// it. Goroutine is the pprof label of the goroutine left running it.
type Abandoned struct {
	Actor     *actor.PID
	Stop      lifecycle.StopID
	Step      string
	Goroutine string
}

// Finished carries the child's report. The parent gets it before protoactor's
// *actor.Terminated for that child: a Quiesce parent always (its mailbox takes
// notices in the same queue as Terminated), a plain protoactor parent as long as it
// handles Finished within the child's AbandonAfter (the child waits that long for
// it before protoactor may stop it; see the package doc).
type Finished struct {
	Actor  *actor.PID
	Stop   lifecycle.StopID
	Report *lifecycle.Report

	child *Mailbox // the child that waits for a plain parent to hear this; nil if none
}

// GetAutoResponse is protoactor's hook after a Receive handles the message: the
// parent has heard the report, so the child may go on stopping.
func (f *Finished) GetAutoResponse(actor.Context) any {
	if f.child != nil {
		f.child.heard()
	}
	return heardMessage
}

// heard is the auto-response protoactor sends for a Finished to the envelope's sender,
// which is a Quiesce mailbox that drops it: the parent itself, or the child.
type heard struct{}

func (heard) IgnoreDeadLetterLogging() {}

var heardMessage any = heard{}

// Progressed carries a step's progress, at most one per Config.ProgressEvery (the
// last one of an interval comes at its end). A stopping parent adds its children's
// up in its Snapshot.
type Progressed struct {
	Actor    *actor.PID
	Stop     lifecycle.StopID
	Step     string
	Progress lifecycle.Progress
}

func (*DeferredCancel) notice() {}
func (*Progressed) notice()     {}
func (*Interrupted) notice()    {}
func (*Forced) notice()         {}
func (*Abandoned) notice()      {}
func (*Finished) notice()       {}

// noticeRequest tells the parent, and the requester, what a later request did.
// The caller holds st.noticeMu.
func (m *Mailbox) noticeRequest(st *stopState, rc lifecycle.Receipt, reason *lifecycle.Reason, from *actor.PID, left time.Duration) Notice {
	var n Notice
	if rc.Interrupted() {
		n = &Interrupted{Actor: m.self(), Stop: st.id, Step: rc.Step, Cause: reason, StopRequests: rc.StopRequests, Elapsed: rc.Elapsed}
	} else if rc.Deferred || rc.Held {
		n = &DeferredCancel{Actor: m.self(), Stop: st.id, Step: rc.Step, Policy: rc.Policy, Cause: reason,
			StopRequests: rc.StopRequests, Elapsed: rc.Elapsed, BudgetLeft: left}
	} else {
		return nil
	}
	m.post(n, from)
	return n
}

// tell sends n, a notice of stop st, to the parent and publishes it, unless st's
// Finished has gone already: a parent never hears of a stop after its report.
func (m *Mailbox) tell(st *stopState, n Notice) {
	st.noticeMu.Lock()
	if st.finishedSent {
		st.noticeMu.Unlock()
		return
	}
	m.post(n, nil)
	st.noticeMu.Unlock()
	m.publish(n)
}

// post sends n to the parent and to also, when they are local actors. A Quiesce
// parent takes notices in its system queue, where Terminated comes too, so it hears
// them in the order they were sent. Published on the EventStream by the caller,
// outside st.noticeMu: a subscriber may call back into the mailbox.
func (m *Mailbox) post(n Notice, also *actor.PID) {
	c := m.actx()
	if c == nil {
		return
	}
	sys, parent := c.ActorSystem(), c.Parent()
	if pm := m.parentMB.Load(); pm != nil {
		pm.PostUserMessage(n) // what the parent's ActorProcess does with a user message
	} else {
		sendToActor(sys, parent, n)
	}
	if also != nil && (parent == nil || !also.Equal(parent)) {
		sendToActor(sys, also, n)
	}
	if ws := m.watchers.Load(); ws != nil {
		for _, w := range *ws {
			if (parent == nil || !w.Equal(parent)) && (also == nil || !w.Equal(also)) {
				sendToActor(sys, w, n)
			}
		}
	}
}

// Watch makes watcher hear every notice of this actor's stops from now on, as its
// parent does (DeferredCancel, Interrupted, Forced, Abandoned, Progressed, and
// Finished last), in the order they were sent, until Unwatch or the actor's end. A
// watcher may be on another node when remote support is installed (see
// InstallRemote). A watch that begins once the stop's Finished has gone hears
// nothing of it: read Ticket.Report then.
func (m *Mailbox) Watch(watcher *actor.PID) {
	if watcher == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var ws []*actor.PID
	if old := m.watchers.Load(); old != nil {
		for _, w := range *old {
			if w.Equal(watcher) {
				return
			}
		}
		ws = append(ws, *old...)
	}
	ws = append(ws, watcher)
	m.watchers.Store(&ws)
}

// Unwatch ends what Watch began.
func (m *Mailbox) Unwatch(watcher *actor.PID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.watchers.Load()
	if old == nil {
		return
	}
	var ws []*actor.PID
	for _, w := range *old {
		if !w.Equal(watcher) {
			ws = append(ws, w)
		}
	}
	m.watchers.Store(&ws)
}

// finishedToWatchers sends f to the watchers, without the hook that a plain parent's
// auto-response pulls (the child waits for its parent, not for them).
func (m *Mailbox) finishedToWatchers(f *Finished) {
	ws := m.watchers.Load()
	c := m.actx()
	if ws == nil || len(*ws) == 0 || c == nil {
		return
	}
	plain := *f
	plain.child = nil
	parent := c.Parent()
	for _, w := range *ws {
		if parent == nil || !w.Equal(parent) {
			sendToActor(c.ActorSystem(), w, &plain)
		}
	}
}

// postFinished sends the report to the parent, in an envelope whose sender takes
// protoactor's auto-response (see Finished.GetAutoResponse): the parent itself if it
// is a Quiesce actor, which drops it, or else this child, which then waits for it.
// It reports whether the child must wait before protoactor may stop it.
func (m *Mailbox) postFinished(st *stopState, box *finishedBox) (wait bool) {
	f, env := &box.Finished, &box.env
	env.Message = f
	st.noticeMu.Lock()
	defer st.noticeMu.Unlock()
	st.finishedSent = true
	c := m.actx()
	if c == nil {
		return false
	}
	m.finishedToWatchers(f)
	sys, parent := c.ActorSystem(), c.Parent()
	pm := m.parentMB.Load()
	if pm == nil && parent != nil {
		pm = Of(sys, parent)
	}
	if pm != nil {
		env.Sender = parent
		pm.PostUserMessage(env)
		return false
	}
	if parent != nil && routed(sys, parent, f) {
		return false // a parent deaf to notices (remote's activator): nobody to wait for
	}
	p, ok := localActor(sys, parent)
	if !ok {
		return false
	}
	wait = st.kind != restartKind // a restart is not followed by a Terminated
	if wait {
		f.child = m
	}
	env.Sender = m.self()
	p.SendUserMessage(parent, env)
	return wait
}

// finishedBox is a Finished and the envelope it travels in, allocated together.
type finishedBox struct {
	Finished
	env actor.MessageEnvelope
}

// sendToActor sends n to pid if pid is a local actor (a guardian panics on user
// messages, and a future would take a notice for its answer), or through the
// installed Remote if pid is on another node.
func sendToActor(sys *actor.ActorSystem, pid *actor.PID, n Notice) {
	if pid == nil || routed(sys, pid, n) {
		return
	}
	if p, ok := localActor(sys, pid); ok {
		p.SendUserMessage(pid, n)
	}
}

// localActor returns pid's process if pid is a live local actor.
func localActor(sys *actor.ActorSystem, pid *actor.PID) (actor.Process, bool) {
	if pid == nil {
		return nil, false
	}
	if p, ok := sys.ProcessRegistry.Get(pid); ok {
		if _, ok := p.(*actor.ActorProcess); ok {
			return p, true
		}
	}
	return nil, false
}
