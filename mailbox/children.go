package mailbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
)

// childWatch follows the children of a stopping actor: which have terminated (seen
// as their *actor.Terminated is posted, since the actor's goroutine is busy running
// the plan), which the Children step still waits for, and their reports.
type childWatch struct {
	mu         sync.Mutex
	terminated map[string]struct{}
	waiting    map[string]*actor.PID
	signal     chan struct{} // the waiter has something to look at
	wakeEvery  int           // wake the waiter each time this many more have gone
	gone       int
	finished   []*lifecycle.Report
}

func (w *childWatch) childTerminated(who *actor.PID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.waiting[who.Id]; !ok {
		// Not waited for (yet): remembered, for watch and await to leave it out. A
		// child waited for is never waited for again: it need not be remembered.
		if w.terminated == nil {
			w.terminated = make(map[string]struct{})
		}
		w.terminated[who.Id] = struct{}{}
	} else {
		delete(w.waiting, who.Id)
		// Waking a goroutine costs more than stopping a small actor: wake the
		// waiter when all are gone, or at a progress milestone.
		if w.gone++; len(w.waiting) == 0 || w.gone%w.wakeEvery == 0 {
			select {
			case w.signal <- struct{}{}:
			default:
			}
		}
	}
}

// watch prepares to wait for the children in kids that have not yet terminated, and
// returns them. The waiter is woken each time wakeEvery more have gone, and when the
// last has.
func (w *childWatch) watch(kids []*actor.PID, wakeEvery int) []*actor.PID {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waiting = make(map[string]*actor.PID, len(kids))
	w.signal = make(chan struct{}, 1)
	w.wakeEvery, w.gone = max(wakeEvery, 1), 0
	var alive []*actor.PID
	for _, pid := range kids {
		if _, gone := w.terminated[pid.Id]; !gone {
			alive = append(alive, pid)
		}
	}
	return alive
}

// await adds pid to the children waited for, unless it has terminated meanwhile. A
// child joins just before it is asked to stop, so that a force of the parent reaches
// only children already stopping with the parent's reason; the Children step forces
// the others as it asks them.
func (w *childWatch) await(pid *actor.PID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, gone := w.terminated[pid.Id]; !gone {
		w.waiting[pid.Id] = pid
	}
}

func (w *childWatch) left() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waiting)
}

func (w *childWatch) has(pid *actor.PID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.waiting[pid.Id]
	return ok
}

func (w *childWatch) addReport(r *lifecycle.Report) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finished = append(w.finished, r)
}

func (w *childWatch) reports() []*lifecycle.Report {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.finished)
}

// force forces every child still waited for.
func (w *childWatch) force(m *Mailbox, cause error) {
	w.mu.Lock()
	kids := make([]*actor.PID, 0, len(w.waiting))
	for _, pid := range w.waiting {
		kids = append(kids, pid)
	}
	w.mu.Unlock()
	if m.ctx == nil {
		return
	}
	for _, pid := range kids {
		if cm := Of(m.ctx.ActorSystem(), pid); cm != nil {
			cm.Force(cause)
		}
	}
}

// runChildren is the Run of the Children step.
func runChildren(ctx context.Context) error {
	m, _ := ctx.Value(mailboxKey{}).(*Mailbox)
	if m == nil || m.ctx == nil {
		return errors.New("mailbox: the Children step runs only in a Quiesce mailbox")
	}
	return m.stopChildren(ctx)
}

// stopChildren stops the children, each with reason ParentStopping, and waits for
// each to terminate. It runs while the actor's goroutine waits for it, so reading the
// actor's children is safe.
func (m *Mailbox) stopChildren(ctx context.Context) error {
	st := m.stop.Load()
	w := st.watch()
	sys := m.ctx.ActorSystem()
	kids := slices.Clone(m.ctx.Children())
	every := max(len(kids)/20, 1)
	if m.cfg.Order == Reverse {
		every = 1 // one at a time: each child's end matters
	}
	kids = w.watch(kids, every)
	total := len(kids)
	if total == 0 {
		return nil
	}
	reason := lifecycle.NewReason(lifecycle.ParentStopping, st.reason)
	self := m.self()
	m.mu.Lock()
	outer := st.outer // the children must end by the parent's deadline too
	m.mu.Unlock()
	stop := func(pid *actor.PID) {
		w.await(pid)
		cm := Of(sys, pid)
		if cm == nil {
			sys.Root.Stop(pid) // not a Quiesce actor: protoactor's stop
			return
		}
		cm.parentMB.Store(m)
		cm.request(stopKind, reason, self, outer)
		m.mu.Lock()
		forced := st.forced
		m.mu.Unlock()
		if forced != nil {
			cm.Force(forced)
		}
	}
	progress := func() int {
		left := w.left()
		lifecycle.ReportProgress(ctx, "children stopping", total-left, total)
		return left
	}
	// While it waits, the step hands the actor what its children send (notices,
	// Terminated), as it comes: the actor's goroutine waits for the step, so the
	// step may invoke the actor, as the actor's goroutine would between steps.
	sig := make(chan struct{}, 1)
	m.pump.Store(&sig)
	defer m.pump.Store(nil)
	gen := m.gen.Load()
	wait := func(until func() bool) error {
		for m.pumpSystem(gen); !until(); m.pumpSystem(gen) {
			select {
			case <-w.signal:
			case <-sig:
			case <-ctx.Done():
				cause := context.Cause(ctx)
				if errors.Is(cause, lifecycle.ErrForced) {
					w.force(m, cause)
				}
				return fmt.Errorf("%d of %d children still stopping: %w", w.left(), total, cause)
			}
		}
		return nil
	}
	if m.cfg.Order == Reverse {
		slices.SortStableFunc(kids, func(a, b *actor.PID) int { return -compareSeq(sys, a, b) })
		for _, pid := range kids {
			stop(pid)
			if err := wait(func() bool { return !w.has(pid) }); err != nil {
				return err
			}
			progress()
		}
		return nil
	}
	for _, pid := range kids {
		stop(pid)
	}
	return wait(func() bool { return progress() == 0 })
}

// pumpSystem handles the system messages queued now but the lifecycle's own, for a
// Children step that waits: notices and Terminated reach the actor as they come,
// not in a burst after the step. It stops as soon as the step is abandoned (gen
// changes): the goroutine that took the mailbox over handles the rest.
func (m *Mailbox) pumpSystem(gen uint32) {
	for m.gen.Load() == gen {
		msg := m.sys.popIf(notControl)
		if msg == nil {
			return
		}
		m.sysCount.Add(-1)
		m.pumped(msg, gen)
	}
}

func (m *Mailbox) pumped(msg any, gen uint32) {
	defer func() {
		if r := recover(); r != nil {
			m.failed(r, msg) // a panic in Receive escalates, as in the run loop
		}
	}()
	m.system(msg, gen)
}

func notControl(msg any) bool {
	_, ok := msg.(control)
	return !ok
}

// compareSeq orders two children by creation; children without a Quiesce mailbox
// count as the oldest.
func compareSeq(sys *actor.ActorSystem, a, b *actor.PID) int {
	seq := func(pid *actor.PID) uint64 {
		if m := Of(sys, pid); m != nil {
			return m.seq
		}
		return 0
	}
	sa, sb := seq(a), seq(b)
	switch {
	case sa < sb:
		return -1
	case sa > sb:
		return 1
	}
	return 0
}
