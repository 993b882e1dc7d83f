package mailbox

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// Notice is what a stopping component tells its parent, and whoever asked it to
// stop: an ordinary user message, so the parent handles it in Receive or ignores it,
// also published on the EventStream. A stopping parent still takes notices. The set
// is closed: DeferredCancel, Interrupted, Forced, Abandoned, Finished.
type Notice interface{ notice() }

// DeferredCancel says a cancellation request reached a step that defers it, or
// arrived between steps and waits for the next one (Step is then empty).
type DeferredCancel struct {
	Child      *actor.PID
	Step       string
	Policy     policy.Policy
	Cause      error         // the request's reason
	Requests   int           // requests so far, this one included
	Elapsed    time.Duration // how long the step has run
	BudgetLeft time.Duration // before the stop is forced; Unlimited under Infinity
}

// Interrupted says a cancellation request interrupted a plain step.
type Interrupted struct {
	Child    *actor.PID
	Step     string
	Cause    error
	Requests int
	Elapsed  time.Duration
}

// Forced says the stop was forced: its running step's ctx is cancelled, and only
// Always steps run from now on.
type Forced struct {
	Child *actor.PID
	Step  string // the step running when the force came, if any
	Cause error  // matches lifecycle.ErrForced's causes: ErrBudgetExpired, ErrBrutal, ...
}

// Abandoned says a step did not return after a force: the actor no longer waits for
// it. Goroutine is the pprof label of the goroutine left running it.
type Abandoned struct {
	Child     *actor.PID
	Step      string
	Goroutine string
}

// Finished carries the child's report. The parent gets it before protoactor's
// *actor.Terminated for that child: a Quiesce parent always (its mailbox takes
// notices in the same queue as Terminated), a plain protoactor parent as long as it
// handles Finished within the child's force budget (the child waits that long for
// it before protoactor may stop it; see the package doc).
type Finished struct {
	Child  *actor.PID
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

func (*DeferredCancel) notice() {}
func (*Interrupted) notice()    {}
func (*Forced) notice()         {}
func (*Abandoned) notice()      {}
func (*Finished) notice()       {}

func isNotice(msg any) bool {
	_, inner, _ := actor.UnwrapEnvelope(msg)
	_, ok := inner.(Notice)
	return ok
}

// noticeRequest tells the parent, and the requester, what a later request did.
// The caller holds st.noticeMu.
func (m *Mailbox) noticeRequest(rc lifecycle.Receipt, reason *lifecycle.Reason, from *actor.PID, left time.Duration) Notice {
	var n Notice
	if rc.Interrupted() {
		n = &Interrupted{Child: m.self(), Step: rc.Step, Cause: reason, Requests: rc.Requests, Elapsed: rc.Elapsed}
	} else if rc.Deferred || rc.Held {
		n = &DeferredCancel{Child: m.self(), Step: rc.Step, Policy: rc.Policy, Cause: reason,
			Requests: rc.Requests, Elapsed: rc.Elapsed, BudgetLeft: left}
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
	if m.ctx == nil {
		return
	}
	sys := m.ctx.ActorSystem()
	parent := m.ctx.Parent()
	if pm := m.parentMB.Load(); pm != nil {
		pm.PostUserMessage(n) // what the parent's ActorProcess does with a user message
	} else {
		sendToActor(sys, parent, n)
	}
	if also != nil && (parent == nil || !also.Equal(parent)) {
		sendToActor(sys, also, n)
	}
}

// postFinished sends the report to the parent, in an envelope whose sender takes
// protoactor's auto-response (see Finished.GetAutoResponse): the parent itself if it
// is a Quiesce actor, which drops it, or else this child, which then waits for it.
// It reports whether the child must wait before protoactor may stop it.
func (m *Mailbox) postFinished(st *stopState, f *Finished) (wait bool) {
	st.noticeMu.Lock()
	defer st.noticeMu.Unlock()
	st.finishedSent = true
	if m.ctx == nil {
		return false
	}
	sys := m.ctx.ActorSystem()
	parent := m.ctx.Parent()
	pm := m.parentMB.Load()
	if pm == nil && parent != nil {
		pm = Of(sys, parent)
	}
	if pm != nil {
		pm.PostUserMessage(&actor.MessageEnvelope{Message: f, Sender: parent})
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
	p.SendUserMessage(parent, &actor.MessageEnvelope{Message: f, Sender: m.self()})
	return wait
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
