package mailbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
)

// Causes of a force, matched with errors.Is (a force's cause also matches lifecycle.ErrForced).
var (
	// ErrBudgetExpired: the stop's budget ran out.
	ErrBudgetExpired = errors.New("mailbox: stop budget expired")
	// ErrBrutal: the budget is Brutal.
	ErrBrutal = errors.New("mailbox: brutal budget")
	// ErrDeadline: the stop had to end by an outer deadline (StopBy, Shutdown), and
	// the budget fitted to it ran out, or the deadline had passed when it began.
	ErrDeadline = errors.New("mailbox: the stop's outer deadline")
)

type kind uint8

const (
	stopKind kind = iota + 1
	restartKind
	poisonKind
)

// stopState is one stop (or restart) of one incarnation, from its first request to
// its end. Fields marked (mu) are guarded by the mailbox's mu; (actor) fields are
// touched only on the actor's goroutine.
type stopState struct {
	id       lifecycle.StopID
	parentID lifecycle.StopID // the parent's stop that asked for this one, or zero
	reason   *lifecycle.Reason
	began    time.Time
	done     doneSignal // when the actor has stopped, or restarted

	kind         kind                 // (mu) a restart becomes a stop if a stop is requested meanwhile
	exec         *lifecycle.Execution // (mu) built on the actor's goroutine by ctlBegin
	held         int                  // (mu) requests that came before exec: delivered to it
	heldCause    error                // (mu)
	forced       error                // (mu) why the stop was forced, or nil
	finalizing   bool                 // (mu) the plan is over
	next         *stopState           // (mu) a stop asked for as a restart finalizes: the next incarnation's
	deadline     time.Time            // (mu) when the budget runs out; zero if infinite
	timer        *time.Timer          // (mu) the budget's timer
	outer        time.Time            // (mu) the outer deadline the stop must end by; zero if none
	abandonLimit time.Duration        // (mu) the AbandonAfter fitted to outer; zero: the actor's

	report atomic.Pointer[lifecycle.Report] // set once, when the plan is over

	// noticeMu orders the stop's notices: each is sent under it, and none after
	// Finished, so a parent never hears of a stop after its report.
	noticeMu     sync.Mutex
	finishedSent bool // (noticeMu)

	from       lifecycle.Phase // the phase the first request ended
	drainLeft  int             // (actor) queued messages the drain still has to handle
	built      bool            // (actor) the execution exists, and so does drainLeft
	drained    bool            // (actor) the drain is over: steps may run
	handedOver bool            // (actor) protoactor has had its Stop or Restart
	drainCount atomic.Int32    // messages processed by the drain (the actor's goroutine adds)
	refusedAt  int64

	// A plain parent hears Finished as a user message, after any system message:
	// the hand-over waits until it has (see parentHeard), so that its Terminated
	// comes second, or until the AbandonAfter has passed.
	awaitHeard bool              // (actor) the child waits for its parent
	heardTimer *time.Timer       // bounds the wait
	heldLast   *actor.Terminated // (actor) the last child's Terminated, held while waiting
	heardOnce  atomic.Bool       // the wait is over (ctlHeard sent)

	// children follows the actor's children while it stops; made by the first
	// that needs it, so that a stop of an actor without children does without.
	children     atomic.Pointer[childWatch]
	childrenLeft atomic.Int32 // the Children step's count, for Snapshot

	// Progress notices to the parent, at most one per Config.ProgressEvery.
	progressMu   sync.Mutex
	progressSent time.Time
	progressNext *Progressed // waits for the interval to end
	progressTick *time.Timer
}

// watch returns st's childWatch, making it if need be.
func (st *stopState) watch() *childWatch {
	if w := st.children.Load(); w != nil {
		return w
	}
	st.children.CompareAndSwap(nil, new(childWatch))
	return st.children.Load()
}

// doneSignal is a channel closed once, made only if somebody waits for it: the
// stops of a parent's 100k children each have one, and nobody waits for theirs.
type doneSignal struct {
	mu     sync.Mutex
	ch     chan struct{}
	closed bool
}

// closedChan is the channel of every doneSignal closed before anybody asked for it.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// wait returns the channel that is closed once the signal is.
func (d *doneSignal) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ch == nil {
		if d.closed {
			return closedChan
		}
		d.ch = make(chan struct{})
	}
	return d.ch
}

// close closes the signal; it reports false if it was closed already.
func (d *doneSignal) close() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.closed = true
	if d.ch != nil {
		close(d.ch)
	}
	return true
}

// Ticket follows one stop: Done is closed once the actor has stopped (or, for a
// restart, once the next incarnation is alive), and then Report holds what happened.
type Ticket struct {
	m  *Mailbox
	st *stopState
}

// Done is closed when the stop is over.
func (t *Ticket) Done() <-chan struct{} { return t.st.done.wait() }

// Report returns the stop's report once the plan is over, and nil before.
func (t *Ticket) Report() *lifecycle.Report { return t.st.report.Load() }

// Reason returns why the stop began.
func (t *Ticket) Reason() *lifecycle.Reason { return t.st.reason }

// AbandonAfter returns how long a forced step of this stop has before it is
// abandoned: the actor's AbandonAfter, or less when the stop was fitted to an outer
// deadline (StopBy).
func (t *Ticket) AbandonAfter() time.Duration { return t.m.abandonAfter(t.st) }

// Stop asks the actor to stop for reason (nil reads "stop requested") on behalf of
// from (nil if nobody in particular). The first request begins the plan; every
// later one is a cancellation request to the running step, and from, like the
// parent, hears what became of it. Stop never blocks on the actor.
func (m *Mailbox) Stop(reason *lifecycle.Reason, from *actor.PID) *Ticket {
	return &Ticket{m, m.request(stopKind, reason, from, time.Time{}, 0)}
}

// StopBy is Stop for a stop that must end by deadline, such as a pod's
// termination deadline: the stop's budget is the smaller of the actor's own and what
// the deadline leaves, and its AbandonAfter shrinks to fit a short deadline, so that
// the force, and the abandonment after it, land by it (see Fit). The children it
// stops inherit the deadline. A deadline already past forces the stop at once, with
// cause ErrDeadline. If the actor is stopping already, this is one more request, and
// the deadline applies from now on when it is earlier than the stop's own.
func (m *Mailbox) StopBy(deadline time.Time, reason *lifecycle.Reason, from *actor.PID) *Ticket {
	return &Ticket{m, m.request(stopKind, reason, from, deadline, 0)}
}

// Ticket returns the stop under way or done, or nil while the actor runs.
func (m *Mailbox) Ticket() *Ticket {
	if st := m.stop.Load(); st != nil {
		return &Ticket{m, st}
	}
	return nil
}

// request asks for a stop of kind k; parent is the ID of the parent's stop that
// asks for it, or zero.
func (m *Mailbox) request(k kind, reason *lifecycle.Reason, from *actor.PID, outer time.Time, parent lifecycle.StopID) *stopState {
	if reason == nil {
		switch k {
		case restartKind:
			reason = lifecycle.NewReason(lifecycle.Restarting, m.lastFailure())
		case poisonKind:
			reason = lifecycle.NewReason(lifecycle.Poisoned, nil)
		default:
			reason = lifecycle.NewReason(lifecycle.Requested, nil)
		}
	}
	m.mu.Lock()
	st := m.stop.Load()
	if st == nil {
		st = m.newStop(k, reason)
		st.parentID = parent
		if !outer.IsZero() && (st.outer.IsZero() || outer.Before(st.outer)) {
			st.outer = outer
		}
		m.installLocked(st)
		forced := st.forced
		m.mu.Unlock()
		m.began(st, forced)
		return st
	}
	if !outer.IsZero() && !st.finalizing && (st.outer.IsZero() || outer.Before(st.outer)) {
		st.outer = outer
		m.armBudgetLocked(st)
	}
	if st.finalizing {
		if st.kind == restartKind && k != restartKind {
			// The restart's plan is over and the next incarnation is on its way: it is
			// the one to stop, as soon as it is alive (see resumed).
			next := m.nextLocked(st, reason)
			m.mu.Unlock()
			return next
		}
		m.mu.Unlock()
		return st // too late to change anything: the plan is over
	}
	if k == stopKind && st.kind == restartKind {
		m.toStopLocked(st) // no resurrection: a stop during a restart's plan makes it a stop
	}
	exec := st.exec
	if exec == nil {
		st.held++
		if st.heldCause == nil {
			st.heldCause = reason
		}
	}
	left := st.budgetLeftLocked()
	m.mu.Unlock()
	// Delivered and told under noticeMu, so that the notice names the step the
	// request reached and comes before the stop's Finished.
	st.noticeMu.Lock()
	if st.finishedSent {
		st.noticeMu.Unlock()
		return st
	}
	rc := lifecycle.Receipt{Held: true}
	if exec != nil {
		rc = exec.Cancel(reason)
	}
	if rc.Deferred || rc.Held {
		m.metrics.deferredRequest()
	}
	n := m.noticeRequest(st, rc, reason, from, left)
	st.noticeMu.Unlock()
	if n != nil {
		m.publish(n)
	}
	return st
}

func (m *Mailbox) lastFailure() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch f := m.failure.(type) {
	case nil:
		return nil
	case error:
		return f
	default:
		return fmt.Errorf("panic: %v", f)
	}
}

func (m *Mailbox) beginLocked(k kind, reason *lifecycle.Reason) *stopState {
	st := m.newStop(k, reason)
	m.installLocked(st)
	return st
}

// newStop makes a stop that began now. A plan checked against a deadline
// (lifecycle.NewPlanWithin, Component.Deadline) makes that deadline the stop's own
// outer deadline, counted from now: the whole stop, force and abandonment included,
// ends within it.
func (m *Mailbox) newStop(k kind, reason *lifecycle.Reason) *stopState {
	st := &stopState{id: lifecycle.NewStopID(), reason: reason, began: time.Now(), kind: k, refusedAt: m.refused.Load()}
	if d := m.cfg.plan.Deadline(); d > 0 {
		st.outer = st.began.Add(d)
	}
	return st
}

// installLocked makes st the stop under way: admission changes, the budget counts.
// The stop is stored first, so that whoever meets the new admission finds its reason.
func (m *Mailbox) installLocked(st *stopState) {
	m.stop.Store(st)
	if st.kind == restartKind {
		m.admission.Store(holding)
		m.paused.Or(heldBit)
	} else {
		m.admission.Store(refusing)
	}
	m.armBudgetLocked(st)
}

// toStopLocked turns st, a restart whose plan runs, into a stop: the messages held
// for the next incarnation are refused, as every new one is.
func (m *Mailbox) toStopLocked(st *stopState) {
	st.kind = stopKind
	m.admission.Store(refusing)
	m.paused.And(^heldBit)
}

// stoppingForGood reports whether the actor's stop under way ends it (it is no
// restart).
func (m *Mailbox) stoppingForGood() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.stop.Load()
	return st != nil && st.kind != restartKind
}

// nextLocked returns the stop that waits for a finalizing restart's next
// incarnation, making it with reason if it is the first request for it. A later
// request is held, to reach the next stop's first step.
func (m *Mailbox) nextLocked(st *stopState, reason *lifecycle.Reason) *stopState {
	if st.next == nil {
		st.next = m.newStop(stopKind, reason)
		return st.next
	}
	st.next.held++
	if st.next.heldCause == nil {
		st.next.heldCause = reason
	}
	return st.next
}

// began follows the first request, on the requester's goroutine: it does no more
// than the phase and a message to self, since a parent stopping 100k children calls
// it 100k times in a row. The actor's own goroutine does the rest (buildExecution).
//
// forced is why the stop was forced from the start, or nil (read by the caller under
// mu, when it made the stop: a Brutal budget, a deadline past): the parent hears of it.
func (m *Mailbox) began(st *stopState, forced error) {
	st.from, _ = m.phase.Load().Advance(lifecycle.Stopping)
	m.metrics.began()
	m.pushSys(ctlBegin)
	if forced != nil {
		m.metrics.forced(forced)
		m.tell(st, &Forced{Actor: m.self(), Stop: st.id, Cause: forced})
	}
}

// control handles a lifecycle message to self, on the actor's goroutine.
func (m *Mailbox) control(c control, gen uint32) bool {
	st := m.stop.Load()
	switch c {
	case ctlBegin:
		if m.buildExecution(st) {
			return m.steps(st, gen)
		}
	case ctlDrainCut:
		m.endDrain(st)
	case ctlStep:
		return m.steps(st, gen)
	}
	return true
}

// steps runs the plan's steps one after the other, and then finishes the stop, as
// long as no system message waits: one that does (a child's notice, say) goes first,
// and the next step comes behind it, as a message to self. It reports false when
// a step was abandoned: another goroutine carries on.
func (m *Mailbox) steps(st *stopState, gen uint32) bool {
	for {
		status, more := st.exec.Advance()
		// A step abandoned as it returned: the goroutine that takes the mailbox
		// over may not have been started yet (gen not changed), but it will be.
		if m.gen.Load() != gen || status == lifecycle.Abandoned {
			return false
		}
		switch {
		case !more:
			m.finish(st)
			return true
		case m.sysCount.Load() > 0:
			m.pushSys(ctlStep)
			return true
		}
	}
}

// buildExecution starts the plan's execution, on the actor's goroutine because it
// must look at the children, and sets the drain: the messages queued now (admission
// closed when the stop began) are handled before the first step. It reports whether
// the steps may begin at once: nothing to drain, and no system message waiting.
func (m *Mailbox) buildExecution(st *stopState) (begin bool) {
	(*observer)(m).phaseChanged(st, st.from, lifecycle.Stopping)
	plan := m.cfg.plan
	if m.cfg.withChildren != nil && m.actx() != nil && len(m.actx().Children()) > 0 {
		plan = m.cfg.withChildren
	}
	st.built = true
	exec := plan.Start(st.reason, lifecycle.Options{
		Actor:        m.label(),
		AbandonAfter: m.abandonAfter(st),
		Context:      (*stepValues)(m),
		Observer:     (*observer)(m),
		Start:        st.began,
		ID:           st.id,
		Parent:       st.parentID,
		LabelActor:   m.settings.ActorLabels,
	})
	m.mu.Lock()
	st.exec = exec
	held, cause, forced, k := st.held, st.heldCause, st.forced, st.kind
	m.mu.Unlock()
	for range held {
		exec.Cancel(cause)
	}
	if forced != nil {
		exec.Force(forced)
	}
	if k != stopKind || m.paused.Load()&suspendedBit != 0 || forced != nil {
		// Nothing to drain: a restart keeps the queue for the next incarnation, a
		// failed (suspended) actor does not take more messages, a forced one has no time.
		st.drained = true
	} else if !st.drained {
		st.drainLeft = int(m.userCount.Load())
		st.drained = st.drainLeft == 0
	}
	if !st.drained {
		return false
	}
	if m.sysCount.Load() > 0 {
		m.pushSys(ctlStep)
		return false
	}
	return true
}

// endDrain ends the drain early; the messages left are refused when the plan is over.
func (m *Mailbox) endDrain(st *stopState) {
	if st == nil || st.drained {
		return
	}
	st.drained = true
	if st.exec != nil {
		m.pushSys(ctlStep)
	}
}

// userWhileStopping handles a user message dequeued while the actor is not running
// normally: the drain, the end of the drain, a PoisonPill, a late message.
func (m *Mailbox) userWhileStopping(msg any) {
	st := m.stop.Load()
	switch {
	case msg == poisonPill:
		m.poisoned()
	case st == nil:
		m.invoker.InvokeUserMessage(msg) // the restart is over: the new incarnation takes it
	case !st.drained && !st.built:
		// Taken between the first request and ctlBegin: queued before the stop, so
		// part of the drain; buildExecution counts what is left.
		st.drainCount.Add(1)
		m.invoker.InvokeUserMessage(msg)
	case !st.drained:
		st.drainCount.Add(1)
		m.invoker.InvokeUserMessage(msg)
		if st.drainLeft--; st.drainLeft <= 0 {
			m.endDrain(st)
		}
	default:
		m.refuse(msg, ErrStopping, st.reason)
	}
}

// poisoned handles a PoisonPill at the front of the queue: its own drain boundary.
// What came before it has been handled; what is behind it is refused now. A pill
// that finds no stop begins one, with nothing to drain; a pill that finds a stop
// draining ends the drain there; either way a pill that finds a stop under way is
// refused (the actor is stopping already), and counted.
func (m *Mailbox) poisoned() {
	m.mu.Lock()
	st := m.stop.Load()
	if st == nil {
		st = m.beginLocked(poisonKind, lifecycle.NewReason(lifecycle.Poisoned, nil))
		st.drained = true // before ctlBegin: nothing to drain
		forced := st.forced
		m.mu.Unlock()
		m.began(st, forced)
	} else {
		m.mu.Unlock()
		m.refuse(&actor.PoisonPill{}, ErrStopping, st.reason)
		if st.drained {
			return // what is behind it meets the stop as it comes
		}
		m.endDrain(st)
	}
	m.refuseQueued(st)
}

// refuseQueued refuses every user message queued now, on the actor's goroutine.
func (m *Mailbox) refuseQueued(st *stopState) {
	for {
		msg := m.user.pop()
		if msg == nil {
			return
		}
		m.userCount.Add(-1)
		if msg == poisonPill {
			msg = &actor.PoisonPill{}
		}
		m.refuse(msg, ErrStopping, st.reason)
	}
}

// finish follows the last step: refuse what is left, report, and hand the actor to
// protoactor to stop (or restart) for real.
func (m *Mailbox) finish(st *stopState) {
	m.mu.Lock()
	st.finalizing = true
	k := st.kind
	if st.timer != nil {
		st.timer.Stop()
	}
	m.mu.Unlock()
	if k != restartKind {
		m.admission.Store(closed)
		for _, msg := range m.user.close() {
			m.userCount.Add(-1)
			if msg == poisonPill {
				msg = &actor.PoisonPill{}
			}
			m.refuse(msg, ErrStopping, st.reason)
		}
	}
	if m.sysCount.Load() > 0 {
		m.pushSys(ctlHandOver) // what waits goes first
		return
	}
	m.handOver()
}

// handOver gives protoactor the Stop or Restart it would have handled at once,
// now that the plan is over. protoactor still waits for any child left before it
// finalizes; the report waits for them too (see beforeTerminated).
func (m *Mailbox) handOver() {
	st := m.stop.Load()
	st.handedOver = true
	m.finalized.Store(true)
	if len(m.actx().Children()) == 0 && m.complete(st) {
		return // parentHeard goes on
	}
	m.stopProtoactor(st)
}

// stopProtoactor gives protoactor the Stop or Restart it would have handled at once.
func (m *Mailbox) stopProtoactor(st *stopState) {
	if st.kind == restartKind { // fixed once finalizing
		m.mu.Lock()
		m.failure = nil // this restart's cause: the next incarnation's failures are its own
		m.mu.Unlock()
		m.invoker.InvokeSystemMessage(restartMessage)
		return // the next incarnation's ResumeMailbox ends the restart
	}
	m.invoker.InvokeSystemMessage(stopMessage)
	m.afterTerminated()
}

// The messages handOver gives protoactor: shared, as protoactor's own are, since
// its handlers only look at their type.
var (
	stopMessage    = &actor.Stop{}
	restartMessage = &actor.Restart{}
)

// beforeTerminated sees a child's Terminated before protoactor does. If it is the
// last child of an actor whose plan is over, protoactor is about to finalize the
// actor: its report is complete now, and its parent must have it before the
// Terminated that protoactor will send.
// It reports whether protoactor must not have the Terminated yet: the report went to
// a plain parent, which has to hear it first (parentHeard delivers it then).
func (m *Mailbox) beforeTerminated(msg *actor.Terminated) (hold bool) {
	st := m.stop.Load()
	if st == nil || !st.handedOver || st.report.Load() != nil {
		return false
	}
	if kids := m.actx().Children(); len(kids) == 1 && kids[0].Equal(msg.Who) && m.complete(st) {
		st.heldLast = msg
		return true
	}
	return false
}

// complete finishes the stop's report, with every child's, and sends it to the
// parent. It reports whether the actor must wait for a plain parent to hear it
// before protoactor stops it (see parentHeard).
func (m *Mailbox) complete(st *stopState) (wait bool) {
	rep := st.exec.Report()
	rep.Duration = time.Since(rep.Start) // until protoactor finalizes: children included
	rep.Drained = int(st.drainCount.Load())
	rep.Refused = int(m.refused.Load() - st.refusedAt)
	if w := st.children.Load(); w != nil {
		rep.Children = w.reports()
	}
	st.report.Store(rep)
	m.metrics.ended(rep)
	m.flushProgress(st) // its last progress comes before its report
	// Finished and its envelope: one allocation.
	box := &finishedBox{Finished: Finished{Actor: m.self(), Stop: st.id, Report: rep}}
	f := &box.Finished
	if wait = m.postFinished(st, box); wait {
		st.awaitHeard = true
		st.heardTimer = time.AfterFunc(m.abandonAfter(st), m.heard)
	}
	m.publish(f)
	return wait
}

// heard ends the wait for a plain parent to hear Finished: called by the parent's
// goroutine once its Receive has handled it, or by the timer that bounds the wait.
func (m *Mailbox) heard() {
	if st := m.stop.Load(); st != nil && st.heardOnce.CompareAndSwap(false, true) {
		m.pushSys(ctlHeard)
	}
}

// parentHeard goes on with the hand-over that complete held back.
func (m *Mailbox) parentHeard() {
	st := m.stop.Load()
	if st == nil || !st.awaitHeard {
		return
	}
	st.awaitHeard = false
	st.heardTimer.Stop()
	if last := st.heldLast; last != nil {
		st.heldLast = nil
		m.invoker.InvokeSystemMessage(last)
		m.afterTerminated()
		return
	}
	m.stopProtoactor(st)
}

// afterTerminated checks, once the plan is over, whether protoactor has finished
// stopping the actor: it waits for the last child before it does.
func (m *Mailbox) afterTerminated() {
	st := m.stop.Load()
	// Only once protoactor has had its Stop (a Terminated can come between the plan's
	// end and the hand-over), and only for a stop: a restart ends in resumed.
	if st == nil || !st.handedOver || st.kind == restartKind || len(m.actx().Children()) > 0 {
		return
	}
	from, ok := m.phase.Load().Advance(lifecycle.Stopped)
	if !ok {
		return // done already
	}
	// Published before done is closed, as resumed does: whoever waits for the stop
	// then finds the Stopped phase on the EventStream and in the log.
	(*observer)(m).phaseChanged(st, from, lifecycle.Stopped)
	st.done.close()
}

// resumed sees the ResumeMailbox that protoactor sends when a new incarnation is
// alive: a restart is over.
func (m *Mailbox) resumed() {
	st := m.stop.Load()
	m.mu.Lock()
	if st == nil || !st.finalizing || st.kind != restartKind {
		m.failure = nil // a Resume directive: the failure is dealt with, and no later Restart's cause
		m.mu.Unlock()
		return
	}
	next := st.next
	var forced error
	if next != nil {
		m.installLocked(next) // a stop came as the restart finalized: the new incarnation stops
		forced = next.forced
	} else {
		m.stop.Store(nil)
	}
	m.mu.Unlock()
	old := m.phase.Load()
	from, _ := old.Advance(lifecycle.Stopped)
	(*observer)(m).phaseChanged(st, from, lifecycle.Stopped)
	st.done.close()
	m.phase.Store(new(lifecycle.State))
	m.paused.And(^heldBit)
	if next != nil {
		m.began(next, forced) // its messages, held through the restart, are its drain
		return
	}
	m.admission.Store(open)
	m.started()
}

// started runs the start hook of a new incarnation, on the actor's goroutine.
func (m *Mailbox) started() {
	if m.stop.Load() != nil {
		return // a stop came before the start: the component never runs
	}
	if m.cfg.Start != nil {
		if err := m.runStart(); err != nil {
			m.request(stopKind, lifecycle.NewReason(lifecycle.StartFailed, err), nil, time.Time{}, 0)
			return
		}
	}
	if from, ok := m.phase.Load().Advance(lifecycle.Running); ok {
		(*observer)(m).phaseChanged(nil, from, lifecycle.Running)
	}
}

func (m *Mailbox) runStart() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start hook panicked: %v", r)
		}
	}()
	return m.cfg.Start(m.actx())
}

// Force forces the stop under way, or begins one and forces it: the running step's
// own ctx is cancelled with a cause that wraps lifecycle.ErrForced and cause, only
// Always steps run from now on, and the children still stopping are forced too.
func (m *Mailbox) Force(cause error) *Ticket {
	if cause == nil {
		cause = lifecycle.ErrForced
	}
	m.mu.Lock()
	st := m.stop.Load()
	if st == nil {
		st = m.beginLocked(stopKind, lifecycle.NewReason(lifecycle.Requested, cause))
		forced := st.forced
		m.mu.Unlock()
		m.began(st, forced)
		m.mu.Lock()
	}
	if st.finalizing && st.kind == restartKind {
		next := m.nextLocked(st, lifecycle.NewReason(lifecycle.Requested, cause))
		if next.forced == nil {
			next.forced = cause // applied when the next incarnation begins its stop
		}
		m.mu.Unlock()
		return &Ticket{m, next}
	}
	if st.finalizing || st.forced != nil {
		m.mu.Unlock()
		return &Ticket{m, st}
	}
	if st.kind == restartKind {
		m.toStopLocked(st) // a force is a stop: no restart comes out of it
	}
	st.forced = cause
	exec := st.exec
	m.mu.Unlock()
	m.metrics.forced(cause)
	// Forced and told under noticeMu: the notice names the step the force cancelled,
	// and comes before the stop's Finished (or not at all, if the plan is over).
	st.noticeMu.Lock()
	var n *Forced
	if !st.finishedSent {
		n = &Forced{Actor: m.self(), Stop: st.id, Cause: cause}
		if exec != nil {
			n.Step = exec.Force(cause).Step
		}
		m.post(n, nil)
	}
	st.noticeMu.Unlock()
	m.pushSys(ctlDrainCut)
	if w := st.children.Load(); w != nil {
		w.force(cause)
	}
	if n != nil {
		m.publish(n)
	}
	return &Ticket{m, st}
}

// AbandonAfter returns how long a forced step of this actor has before it is abandoned.
func (m *Mailbox) AbandonAfter() time.Duration {
	if m.cfg.AbandonAfter > 0 {
		return m.cfg.AbandonAfter
	}
	return lifecycle.DefaultAbandonAfter
}

// SetBudget sets this actor's stop budget, overriding its props': a parent does this
// per child. A stop under way measures the new budget from its first request.
func (m *Mailbox) SetBudget(b Budget) error {
	if err := b.valid(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.budget = &b
	if st := m.stop.Load(); st != nil && !st.finalizing {
		m.armBudgetLocked(st)
	}
	return nil
}

// armBudgetLocked (re)starts the budget's timer of st, from its first request: the
// actor's budget, fitted to the stop's outer deadline if it has one.
func (m *Mailbox) armBudgetLocked(st *stopState) {
	b := m.cfg.Budget
	if m.budget != nil {
		b = *m.budget
	}
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
	cause := ErrBudgetExpired
	if b.kind == brutal {
		cause = ErrBrutal
	}
	if !st.outer.IsZero() {
		var fitted bool
		b, st.abandonLimit, fitted = Fit(b, m.AbandonAfter(), st.outer.Sub(st.began), m.cfg.always)
		if fitted {
			cause = ErrDeadline
		}
	}
	d, limited := b.Limit()
	if !limited {
		st.deadline = time.Time{}
		return
	}
	st.deadline = st.began.Add(d)
	if b.kind == brutal && st.exec == nil && st.forced == nil {
		// Forced from the start, before the actor's goroutine begins: nothing is
		// drained. began sends the Forced notice.
		st.forced = cause
		return
	}
	st.timer = time.AfterFunc(time.Until(st.deadline), func() { m.Force(cause) })
}

// Fit returns the budget and AbandonAfter that make a stop end by an outer deadline
// left away from its first request, for a plan with always Always steps.
//
// After a force, the forced step has AbandonAfter to return, and each Always step
// after it runs for at most AbandonAfter (its Timeout) and is abandoned AbandonAfter
// later: so the stop sets aside a reserve of 2×(1+always)×AbandonAfter (one
// AbandonAfter of margin), and the budget is the smaller of b and what is left once
// the reserve is set aside. The AbandonAfter shrinks so that the reserve takes at
// most half of left, but not under 10 ms (less would abandon steps that are merely
// waiting for a core). fitted reports whether the budget is the deadline's rather
// than b. A deadline past, or too close to leave anything once the reserve is set
// aside, gives Brutal. A stop fitted to a short deadline is never silently brutal:
// it still drains and runs its steps for about half of left, and a force it takes
// says ErrDeadline.
func Fit(b Budget, abandonAfter, left time.Duration, always int) (_ Budget, _ time.Duration, fitted bool) {
	if abandonAfter <= 0 {
		abandonAfter = lifecycle.DefaultAbandonAfter
	}
	rungs := time.Duration(2 * (1 + max(always, 0)))
	abandonAfter = min(abandonAfter, max((left/(2*rungs)).Truncate(time.Millisecond), minAbandonAfter))
	limit := left - rungs*abandonAfter
	if limit <= 0 {
		return Brutal, abandonAfter, true
	}
	if d, ok := b.Limit(); ok && (b.kind == brutal || d <= limit) {
		return b, abandonAfter, false
	}
	return After(limit), abandonAfter, true
}

// minAbandonAfter is the least AbandonAfter Fit leaves a stop: below it, a step that
// has returned but not yet been seen to (its goroutine waits for a core on a busy
// host) would be reported abandoned.
const minAbandonAfter = 10 * time.Millisecond

// abandonAfter returns how long a forced step of st has before it is abandoned.
func (m *Mailbox) abandonAfter(st *stopState) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st.abandonLimit > 0 {
		return st.abandonLimit
	}
	return m.AbandonAfter()
}

// budgetLeftLocked returns the time left before the budget forces the stop, or
// Unlimited.
func (st *stopState) budgetLeftLocked() time.Duration {
	if st.deadline.IsZero() {
		return Unlimited
	}
	return max(time.Until(st.deadline), 0)
}

// Unlimited is the BudgetLeft of a notice when the budget is Infinity.
const Unlimited time.Duration = 1<<63 - 1

type mailboxKey struct{}

// stepValues is the mailbox as the Context whose values every step's ctx has: a
// context that is never done, whose one value is the mailbox.
type stepValues Mailbox

func (*stepValues) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*stepValues) Done() <-chan struct{}       { return nil }
func (*stepValues) Err() error                  { return nil }
func (v *stepValues) Value(key any) any {
	if key == (mailboxKey{}) {
		return (*Mailbox)(v)
	}
	return nil
}

// ActorContext returns the protoactor context of the actor whose step runs with ctx,
// or nil. A step runs while the actor's goroutine waits for it, so the step may use
// it, as Receive would, until it returns.
func ActorContext(ctx context.Context) actor.Context {
	if m, _ := ctx.Value(mailboxKey{}).(*Mailbox); m != nil {
		return m.actx()
	}
	return nil
}

// Parent returns the actor's parent, or nil for one spawned from the root.
func (m *Mailbox) Parent() *actor.PID {
	if c := m.actx(); c != nil {
		return c.Parent()
	}
	return nil
}

func (m *Mailbox) self() *actor.PID {
	if c := m.actx(); c != nil {
		return c.Self()
	}
	return nil
}

func (m *Mailbox) label() string {
	if pid := m.self(); pid != nil {
		return pid.Id
	}
	return ""
}
