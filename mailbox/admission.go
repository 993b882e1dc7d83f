package mailbox

import (
	"errors"
	"fmt"
	"strings"

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

// Error reads "quiesce: <actor> refused a message of type <T>: <why>", where why is
// "stopping", "stopped" or "mailbox full", then the stop's reason if any:
// "quiesce: $1 refused a message of type string: stopping (stop requested: deploy v2)".
func (r *Refused) Error() string {
	why := strings.TrimPrefix(fmt.Sprint(r.Err), ErrRefused.Error()+": ")
	s := fmt.Sprintf("quiesce: %s refused a message of type %T: %s", PIDText(r.Actor), r.Message, why)
	if r.Reason != nil {
		s += " (" + r.Reason.Error() + ")"
	}
	return s
}

// PIDText writes pid as people read it: its Id for an actor of this process (protoactor's
// "nonhost" address), and address/Id for one elsewhere, rather than protobuf's
// Address:"nonhost" Id:"supervisor/w3". Logs, errors and reports use it.
func PIDText(pid *actor.PID) string {
	switch {
	case pid == nil:
		return "actor"
	case pid.Address == "" || pid.Address == localAddress:
		return pid.Id
	}
	return pid.Address + "/" + pid.Id
}

// Unwrap returns the refusal and the Reason.
func (r *Refused) Unwrap() []error {
	if r.Reason == nil {
		return []error{r.Err}
	}
	return []error{r.Err, r.Reason}
}

// postWhileStopping admits a user message posted while the actor does not run
// normally: held for the next incarnation during a restart, refused otherwise.
// (Notices never come here: see postNotice.)
func (m *Mailbox) postWhileStopping(msg any) {
	adm := m.admission.Load()
	if adm == holding {
		switch m.user.push(msg, m.capacityFor(msg)) {
		case pushed:
			m.userCount.Add(1)
			m.schedule()
			return
		case full:
			m.refuse(msg, ErrFull, nil)
			return
		}
		adm = m.admission.Load() // the restart became a stop, and ended
	}
	var reason *lifecycle.Reason
	if st := m.stop.Load(); st != nil {
		reason = st.reason
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

// refuse answers msg's sender with a *Refused, or dead-letters it, and counts it.
func (m *Mailbox) refuse(msg any, err error, reason *lifecycle.Reason) {
	m.refused.Add(1)
	m.metrics.refusal(err)
	_, inner, sender := actor.UnwrapEnvelope(msg)
	r := &Refused{Actor: m.self(), Message: inner, Reason: reason, Err: err}
	if c := m.actx(); c != nil {
		SendRefusal(c.ActorSystem(), sender, r)
	}
}

// SendRefusal sends r to to as a refusing mailbox does: through the system's
// Remote (InstallRemote) when to is of another node, and to dead letters, as
// r.Actor's, when there is no one to answer. For code that refuses on a
// component's behalf (package cluster's refusing activations).
func SendRefusal(system *actor.ActorSystem, to *actor.PID, r *Refused) {
	switch {
	case to == nil:
		system.DeadLetter.SendUserMessage(r.Actor, r)
	case !routed(system, to, r):
		system.Root.Send(to, r)
	}
}
