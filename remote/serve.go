package remote

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/remote/wirepb"
)

// The requests of other nodes, served by the Node's process on protoactor's
// endpoint reader goroutine: nothing here blocks. A stop that the requester waits
// for is waited for on a goroutine the Node owns, until the stop is over, the wait
// the requester allowed has passed, or the Node closes.

func (n *Node) reply(to *actor.PID, env *wirepb.Envelope) {
	if to != nil {
		n.system.Root.Send(to, env)
	}
}

func stopReply(r *wirepb.StopReply) *wirepb.Envelope {
	return &wirepb.Envelope{Body: &wirepb.Envelope_StopReply{StopReply: r}}
}

func (n *Node) serveStop(req *wirepb.StopRequest, sender *actor.PID) {
	target := decodePID(req.Target)
	mb := n.component(target)
	if mb == nil {
		n.reply(sender, stopReply(&wirepb.StopReply{Err: encodeError(fmt.Errorf("%s: %w", mailbox.PIDText(target), qactor.ErrNotComponent))}))
		return
	}
	wait := time.Duration(req.WaitNs)
	if err := n.setBudget(mb, req, wait); err != nil {
		n.reply(sender, stopReply(&wirepb.StopReply{Err: encodeError(err)}))
		return
	}
	reason := decodeReason(req.Reason)
	if reason == nil {
		reason = lifecycle.NewReason(lifecycle.Requested, nil)
	}
	var t *mailbox.Ticket
	if req.Force {
		t = mb.Force(reason.Cause)
	} else {
		t = mb.Stop(reason, decodePID(req.From))
	}
	if req.NoWait {
		n.reply(sender, stopReply(&wirepb.StopReply{}))
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		var timeout <-chan time.Time
		if wait > 0 {
			timer := time.NewTimer(wait)
			defer timer.Stop()
			timeout = timer.C
		}
		r := &wirepb.StopReply{}
		select {
		case <-t.Done():
			r.Done = true
		case <-timeout:
		case <-n.quit:
			r.Err = encodeError(ErrClosed)
		}
		r.Report = encodeReport(t.Report())
		n.reply(sender, stopReply(r))
	}()
}

// setBudget applies the request's budget to a component that is not stopping yet.
func (n *Node) setBudget(mb *mailbox.Mailbox, req *wirepb.StopRequest, wait time.Duration) error {
	if mb.Ticket() != nil {
		return nil
	}
	switch {
	case req.Fit && wait > 0:
		b := mailbox.Brutal
		if left := wait - 2*mb.AbandonAfter(); left > 0 {
			b = mailbox.After(left)
		}
		return mb.SetBudget(b)
	case req.Budget != "":
		var b mailbox.Budget
		if err := b.UnmarshalText([]byte(req.Budget)); err != nil {
			return err
		}
		return mb.SetBudget(b)
	}
	return nil
}

// component returns the Quiesce mailbox of pid if it is a live component of this
// node.
func (n *Node) component(pid *actor.PID) *mailbox.Mailbox {
	if pid == nil || !n.local(pid) {
		return nil
	}
	return mailbox.Of(n.system, pid)
}

func (n *Node) servePhase(req *wirepb.PhaseRequest, sender *actor.PID) {
	r := &wirepb.PhaseReply{}
	if mb := n.component(decodePID(req.Target)); mb != nil {
		r.Phase, r.Ok = wirepb.Phase(mb.Phase()), true
	}
	n.reply(sender, &wirepb.Envelope{Body: &wirepb.Envelope_PhaseReply{PhaseReply: r}})
}

func (n *Node) serveWatch(req *wirepb.WatchRequest, sender *actor.PID) {
	target, watcher := decodePID(req.Target), decodePID(req.Watcher)
	mb := n.component(target)
	r := &wirepb.WatchReply{}
	switch {
	case watcher == nil:
		r.Err = encodeError(fmt.Errorf("quiesce/remote: watch of %s without a watcher", mailbox.PIDText(target)))
	case mb == nil:
		r.Err = encodeError(fmt.Errorf("%s: %w", mailbox.PIDText(target), qactor.ErrNotComponent))
	default:
		// The mailbox sends the watcher every notice from now on, through this
		// Node (the watcher is remote). A plan that ended before the watch began
		// has sent its Finished already: the watcher gets it now.
		if t := mb.Ticket(); t != nil {
			if rep := t.Report(); rep != nil && !restart(rep) {
				n.send(watcher, &mailbox.Finished{Actor: target, Stop: rep.ID, Report: rep})
				break
			}
		}
		mb.Watch(watcher)
	}
	n.reply(sender, &wirepb.Envelope{Body: &wirepb.Envelope_WatchReply{WatchReply: r}})
}

func restart(r *lifecycle.Report) bool {
	return r.Reason != nil && r.Reason.Kind == lifecycle.Restarting
}
