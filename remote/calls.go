package remote

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/remote/wirepb"
)

// StopOptions is a stop request to a component of another node.
type StopOptions struct {
	// Reason is why; nil reads "stop requested". A lifecycle.Shutdown reason, or a
	// cause registered with RegisterError (a member leaving, say), crosses with its
	// kind and code.
	Reason *lifecycle.Reason
	// Budget, if set, replaces the component's budget before the request, unless it
	// is stopping already.
	Budget *mailbox.Budget
	// Fit sets the budget from ctx's deadline: what is left less twice the
	// component's AbandonAfter, so that its force, and the abandonment after it,
	// land by the deadline (the force says ErrBudgetExpired). Unlike a local
	// Mailbox.StopBy or qactor.Shutdown, it keeps no reserve for the Always steps
	// that run after a force. It needs a deadline, and overrides Budget.
	Fit bool
	// Force forces the stop, beginning it if need be, with the Reason's cause.
	Force bool
	// From is who asks, an actor of this node: it hears what became of the request,
	// DeferredCancel or Interrupted, as a requester does locally.
	From *actor.PID
	// NoWait returns once the component's node has made the request, with no report.
	NoWait bool
}

// Stop asks pid, a component of another node, to stop for reason, and waits until it
// has stopped or ctx is done, returning its report: qactor.Stop for a PID of another
// node (qactor.Remote).
func (n *Node) Stop(ctx context.Context, pid *actor.PID, reason *lifecycle.Reason) (*lifecycle.Report, error) {
	return n.StopWith(ctx, pid, StopOptions{Reason: reason})
}

// StopWith sends a stop request to pid, a component of another node, and waits, as
// the options say, until it has stopped or ctx is done. The component's node waits
// as long as ctx allows (it is told how long, not when: the nodes' clocks may
// differ) and answers with the report then, if there is one.
//
// It returns an error matching ErrPlainNode or ErrUnreachable when the node does
// not speak Quiesce, or did not answer; qactor.ErrNotComponent when pid is not a
// live component there; ctx's cause when ctx is done first (the stop goes on there,
// under the component's budget).
func (n *Node) StopWith(ctx context.Context, pid *actor.PID, o StopOptions) (*lifecycle.Report, error) {
	req := &wirepb.StopRequest{
		Target: encodePID(pid), Reason: encodeReason(o.Reason), Fit: o.Fit, Force: o.Force,
		From: encodePID(n.routable(o.From)), NoWait: o.NoWait,
	}
	if req.Reason == nil {
		req.Reason = encodeReason(lifecycle.NewReason(lifecycle.Requested, nil))
	}
	if o.Budget != nil {
		text, err := o.Budget.MarshalText()
		if err != nil {
			return nil, err
		}
		req.Budget = string(text)
	}
	if d, ok := ctx.Deadline(); ok {
		if req.WaitNs = int64(time.Until(d)); req.WaitNs <= 0 {
			<-ctx.Done()
			return nil, context.Cause(ctx)
		}
	}
	reply, err := n.call(ctx, pid, &wirepb.Envelope{Body: &wirepb.Envelope_Stop{Stop: req}})
	if err != nil {
		return nil, err
	}
	r, ok := reply.Body.(*wirepb.Envelope_StopReply)
	if !ok {
		return nil, fmt.Errorf("quiesce/remote: %s: unexpected reply %T", mailbox.PIDText(pid), reply.Body)
	}
	rep := decodeReport(r.StopReply.Report)
	if err := decodeError(r.StopReply.Err); err != nil {
		return rep, err
	}
	if !r.StopReply.Done && !o.NoWait {
		return rep, context.DeadlineExceeded // the wait ctx allowed ended there
	}
	return rep, nil
}

// Force forces pid's stop, beginning one if need be: qactor.Force for a PID of
// another node (qactor.Remote). It waits, up to Config.CallTimeout, until pid's node
// has forced it.
func (n *Node) Force(pid *actor.PID, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.CallTimeout)
	defer cancel()
	_, err := n.StopWith(ctx, pid, StopOptions{
		Reason: lifecycle.NewReason(lifecycle.Requested, cause), Force: true, NoWait: true,
	})
	if err != nil && !strings.HasPrefix(err.Error(), mailbox.PIDText(pid)+":") {
		return fmt.Errorf("%s: %w", mailbox.PIDText(pid), err) // named once, not twice
	}
	return err
}

// Phase returns the phase of pid, a component of another node, and false if it is
// not a live component there or its node did not answer within Config.CallTimeout:
// qactor.PhaseOf for a PID of another node (qactor.Remote).
func (n *Node) Phase(pid *actor.PID) (lifecycle.Phase, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.CallTimeout)
	defer cancel()
	reply, err := n.call(ctx, pid, &wirepb.Envelope{Body: &wirepb.Envelope_Phase{Phase: &wirepb.PhaseRequest{Target: encodePID(pid)}}})
	if err != nil {
		return 0, false
	}
	r, ok := reply.Body.(*wirepb.Envelope_PhaseReply)
	if !ok || !r.PhaseReply.Ok {
		return 0, false
	}
	return lifecycle.Phase(r.PhaseReply.Phase), true
}

// Watch makes watcher, an actor of this node, hear every notice of pid, a component
// of another node (DeferredCancel, Interrupted, Forced, Abandoned, Progressed, and
// Finished with its report), as its parent does (mailbox.Mailbox.Watch). It returns
// once pid's node has begun the watch. A notice sent there before may be missed,
// except the Finished: a watch that begins after the plan is over gets the report
// at once.
func (n *Node) Watch(ctx context.Context, pid, watcher *actor.PID) error {
	reply, err := n.call(ctx, pid, &wirepb.Envelope{Body: &wirepb.Envelope_Watch{Watch: &wirepb.WatchRequest{
		Target: encodePID(pid), Watcher: encodePID(n.routable(watcher)),
	}}})
	if err != nil {
		return err
	}
	if r, ok := reply.Body.(*wirepb.Envelope_WatchReply); ok {
		return decodeError(r.WatchReply.Err)
	}
	return fmt.Errorf("quiesce/remote: %s: unexpected reply %T", mailbox.PIDText(pid), reply.Body)
}

// Speaks reports whether the node at address speaks Quiesce, probing it if it has
// not been yet: nil, ErrPlainNode or ErrUnreachable (or ctx's cause).
func (n *Node) Speaks(ctx context.Context, address string) error { return n.speaks(ctx, address) }

// routable returns pid as another node reaches it: a PID made before remote started
// has protoactor's placeholder address.
func (n *Node) routable(pid *actor.PID) *actor.PID {
	if pid != nil && pid.Address == "nonhost" {
		return n.system.NewLocalPID(pid.Id)
	}
	return pid
}

// call sends a request to the process of pid's node and waits for the answer, which
// a process of the call's own takes.
func (n *Node) call(ctx context.Context, pid *actor.PID, env *wirepb.Envelope) (*wirepb.Envelope, error) {
	if pid == nil {
		return nil, fmt.Errorf("quiesce/remote: nil PID")
	}
	if err := n.speaks(ctx, pid.Address); err != nil {
		return nil, fmt.Errorf("%s: %w", mailbox.PIDText(pid), err)
	}
	rp := &replyProcess{ch: make(chan any, 1)}
	self, _ := n.system.ProcessRegistry.Add(rp, "quiesce.call"+n.system.ProcessRegistry.NextId())
	defer n.system.ProcessRegistry.Remove(self)
	n.system.Root.RequestWithCustomSender(processAt(pid.Address), env, self)
	select {
	case m := <-rp.ch:
		switch m := m.(type) {
		case *wirepb.Envelope:
			return m, nil
		case *actor.DeadLetterResponse:
			// The node's process is gone: it closed its Node since the probe.
			n.forget(pid.Address, nil)
			return nil, fmt.Errorf("%s: %w", mailbox.PIDText(pid), ErrPlainNode)
		default:
			return nil, fmt.Errorf("quiesce/remote: %s: unexpected answer %T", mailbox.PIDText(pid), m)
		}
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-n.quit:
		return nil, fmt.Errorf("%s: %w", mailbox.PIDText(pid), ErrClosed)
	}
}

// replyProcess takes one answer.
type replyProcess struct{ ch chan any }

func (p *replyProcess) SendUserMessage(_ *actor.PID, message any) {
	select {
	case p.ch <- actor.UnwrapEnvelopeMessage(message):
	default:
	}
}

func (*replyProcess) SendSystemMessage(*actor.PID, any) {}
func (*replyProcess) Stop(*actor.PID)                   {}
