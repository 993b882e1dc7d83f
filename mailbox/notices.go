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
// *actor.Terminated for that child.
type Finished struct {
	Child  *actor.PID
	Report *lifecycle.Report
}

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
func (m *Mailbox) noticeRequest(rc lifecycle.Receipt, reason *lifecycle.Reason, from *actor.PID, left time.Duration) {
	var n Notice
	if rc.Interrupted() {
		n = &Interrupted{Child: m.self(), Step: rc.Step, Cause: reason, Requests: rc.Requests, Elapsed: rc.Elapsed}
	} else if rc.Deferred || rc.Held {
		n = &DeferredCancel{Child: m.self(), Step: rc.Step, Policy: rc.Policy, Cause: reason,
			Requests: rc.Requests, Elapsed: rc.Elapsed, BudgetLeft: left}
	} else {
		return
	}
	m.notify(n, from)
}

func (m *Mailbox) notifyParent(n Notice) { m.notify(n, nil) }

// notify sends n to the parent and to also, when they are actors, and publishes it.
func (m *Mailbox) notify(n Notice, also *actor.PID) {
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
	sys.EventStream.Publish(n)
}

// sendToActor sends n to pid if pid is a local actor: a guardian panics on user
// messages, and a future would take a notice for its answer.
func sendToActor(sys *actor.ActorSystem, pid *actor.PID, n Notice) {
	if pid == nil {
		return
	}
	if p, ok := sys.ProcessRegistry.Get(pid); ok {
		if _, ok := p.(*actor.ActorProcess); ok {
			p.SendUserMessage(pid, n)
		}
	}
}
