package mailbox

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
)

// Refusals, matched with errors.Is on a *Refused.
var (
	// ErrRefused matches every refusal.
	ErrRefused = errors.New("refused")
	// ErrStopping: the actor is stopping and takes no new messages.
	ErrStopping = fmt.Errorf("%w: stopping", ErrRefused)
	// ErrStopped: the actor has stopped.
	ErrStopped = fmt.Errorf("%w: stopped", ErrRefused)
	// ErrFull: the mailbox is at its Capacity.
	ErrFull = fmt.Errorf("%w: mailbox full", ErrRefused)
)

// Refused is the answer to a message the mailbox would not take. A message with a
// sender (Request, RequestFuture) gets it as its reply at once, so a future resolves
// to a *Refused rather than timing out or failing with actor.ErrDeadLetter; a message
// without one is published as a dead letter whose Message is the *Refused. Either
// way it is counted. Refused is an error: errors.Is matches ErrRefused, the specific
// refusal and the stop's Reason.
type Refused struct {
	Actor   *actor.PID        // who refused
	Message any               // what was refused
	Reason  *lifecycle.Reason // why the actor is stopping; nil for ErrFull while it runs
	Err     error             // ErrStopping, ErrStopped or ErrFull
}

func (r *Refused) Error() string {
	who := "actor"
	if r.Actor != nil {
		who = r.Actor.Id
	}
	s := fmt.Sprintf("quiesce: %s %v (%T)", who, r.Err, r.Message)
	if r.Reason != nil {
		s += ": " + r.Reason.Error()
	}
	return s
}

// Unwrap returns the refusal and the Reason.
func (r *Refused) Unwrap() []error {
	if r.Reason == nil {
		return []error{r.Err}
	}
	return []error{r.Err, r.Reason}
}

// postWhileStopping admits a message posted while the actor does not run normally:
// held for the next incarnation during a restart, queued if it is a notice, refused
// otherwise.
func (m *Mailbox) postWhileStopping(msg any) {
	st := m.stop.Load()
	_, inner, _ := actor.UnwrapEnvelope(msg)
	if f, ok := inner.(*Finished); ok && st != nil {
		st.watch().addReport(f.Report) // a restart's report has its children's too
	}
	adm := m.admission.Load()
	if adm == holding {
		switch m.user.push(msg, m.cfg.Capacity) {
		case pushed:
			m.userCount.Add(1)
			m.schedule()
			return
		case full:
			m.postFull(msg)
			return
		}
		adm = m.admission.Load() // the restart became a stop, and ended
	}
	var reason *lifecycle.Reason
	if st != nil {
		reason = st.reason
	}
	if _, ok := inner.(Notice); ok {
		if adm == refusing && m.user.push(msg, 0) == pushed {
			m.userCount.Add(1)
			m.schedule()
			return
		}
		// The plan is over, so Receive will not run again. The notice is recorded
		// above if it carries a report, and its sender published it on the
		// EventStream: nothing is lost, and it is no refusal.
		return
	}
	err := ErrStopping
	if adm == closed {
		err = ErrStopped
	}
	if msg == poisonPill {
		msg = &actor.PoisonPill{}
	}
	m.refuse(msg, err, reason)
}

// postFull admits a message that found the queue at its Capacity. Capacity bounds
// user messages, not notices: a notice is queued all the same, anything else is
// refused with ErrFull.
func (m *Mailbox) postFull(msg any) {
	if isNotice(msg) {
		switch m.user.push(msg, 0) {
		case pushed:
			m.userCount.Add(1)
			m.schedule()
			return
		case shut:
			m.postWhileStopping(msg) // the stop ended while we looked
			return
		}
	}
	m.refuse(msg, ErrFull, nil)
}

// refuse answers msg's sender with a *Refused, or dead-letters it, and counts it.
func (m *Mailbox) refuse(msg any, err error, reason *lifecycle.Reason) {
	m.refused.Add(1)
	_, inner, sender := actor.UnwrapEnvelope(msg)
	r := &Refused{Actor: m.self(), Message: inner, Reason: reason, Err: err}
	if m.ctx == nil {
		return
	}
	sys := m.ctx.ActorSystem()
	if sender != nil {
		if !routed(sys, sender, r) {
			sys.Root.Send(sender, r)
		}
		return
	}
	sys.DeadLetter.SendUserMessage(r.Actor, r)
}
