package mailbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
)

// childWatch is what a stop knows of the actor's children: the reports of those
// that stopped with it (recorded as their Finished is posted, from their
// goroutines) and the Quiesce children its Children step asked to stop, whom a
// force of the actor forces too.
type childWatch struct {
	mu       sync.Mutex
	asked    []*Mailbox
	finished []*lifecycle.Report
	progress map[string]lifecycle.Progress // each child's last, by its Id
}

// childProgress records a child's last progress.
func (w *childWatch) childProgress(n *Progressed) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.progress == nil {
		w.progress = make(map[string]lifecycle.Progress)
	}
	w.progress[PIDText(n.Actor)] = n.Progress
}

// progressSum adds up the children's last progress, or returns nil if none reported.
func (w *childWatch) progressSum() *lifecycle.Progress {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.progress) == 0 {
		return nil
	}
	sum := &lifecycle.Progress{Message: "children"}
	for _, p := range w.progress {
		sum.Done += p.Done
		sum.Total += p.Total
		if p.At.After(sum.At) {
			sum.At = p.At
		}
	}
	return sum // its Rate and ETA are the snapshot's: see Ticket.Snapshot
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

func (w *childWatch) addAsked(ms []*Mailbox) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.asked = append(w.asked, ms...)
}

// force forces every child the Children step asked to stop: those that have
// stopped already ignore it.
func (w *childWatch) force(cause error) {
	w.mu.Lock()
	asked := slices.Clone(w.asked)
	w.mu.Unlock()
	for _, cm := range asked {
		cm.Force(cause)
	}
}

// awaiting is what the Children step waits for, kept on the actor's goroutine: the
// step hands the actor its system messages (see pumpSystem), so it sees each
// child's Terminated as the actor handles it.
type awaiting struct {
	st   *stopState
	gen  uint32 // the mailbox's generation when the step began: only its goroutine counts
	left int    // children whose Terminated has not come yet
	// In reverse order, the children whose Terminated has come: the step waits
	// for one child at a time, and another may end meanwhile, on its own.
	gone map[string]bool
}

func (a *awaiting) setLeft(n int) {
	a.left = n
	a.st.childrenLeft.Store(int32(n)) // for Snapshot, from any goroutine
}

// terminated counts who's Terminated, handled by the actor now.
func (a *awaiting) terminated(who *actor.PID) {
	a.setLeft(a.left - 1)
	if a.gone != nil {
		a.gone[who.Id] = true
	}
}

// runChildren is the Run of the Children step.
func runChildren(ctx context.Context) error {
	m, _ := ctx.Value(mailboxKey{}).(*Mailbox)
	if m == nil || m.actx() == nil {
		return errors.New("mailbox: the Children step runs only in a Quiesce mailbox")
	}
	return m.stopChildren(ctx)
}

// stopChildren stops the children, each with reason ParentStopping, and waits for
// each to terminate. It runs on the actor's goroutine (steps run inline), handing the
// actor the notices and Terminated its children send as they come: the actor hears
// them during the step, and the step counts the Terminated it sees.
func (m *Mailbox) stopChildren(ctx context.Context) error {
	st := m.stop.Load()
	c := m.actx()
	kids := slices.Clone(c.Children())
	total := len(kids)
	if total == 0 {
		return nil
	}
	w := st.watch()
	sys := c.ActorSystem()
	reason := lifecycle.NewReason(lifecycle.ParentStopping, st.reason)
	self := m.self()
	m.mu.Lock()
	outer := st.outer // the children must end by the parent's deadline too
	m.mu.Unlock()
	gen := m.gen.Load()
	a := &awaiting{st: st, gen: gen}
	a.setLeft(total)
	// It stays after the step, until another stop's replaces it: the children that
	// outlive a step that gave up waiting still count down in Snapshot.
	m.waiting.Store(a)
	sig := make(chan struct{}, 1)
	m.pump.Store(&sig)
	defer m.pump.Store(nil)

	// The children asked go to w once the step ends (one lock, not one per child):
	// a force during the step reaches them through the step's ctx (below).
	asked := make([]*Mailbox, 0, total)
	defer func() { w.addAsked(asked) }()
	stop := func(pid *actor.PID) {
		cm := Of(sys, pid)
		if cm == nil {
			sys.Root.Stop(pid) // not a Quiesce actor: protoactor's stop
			return
		}
		cm.parentMB.Store(m)
		cm.request(stopKind, reason, self, outer, st.id)
		asked = append(asked, cm)
		m.mu.Lock()
		forced := st.forced
		m.mu.Unlock()
		if forced != nil {
			cm.Force(forced)
		}
	}
	var next []*actor.PID     // in reverse order, the children not asked yet
	every := max(total/20, 1) // progress, at most about 20 times
	reported := 0
	wait := func(until func() bool) error {
		for m.pumpSystem(ctx, gen); !until(); m.pumpSystem(ctx, gen) {
			if done := total - a.left; done-reported >= every {
				reported = done
				lifecycle.ReportProgress(ctx, "children stopped", done, total)
			}
			if m.sysCount.Load() == 0 {
				// Nothing yet: let the children run first. Their notices then come
				// a batch at a time, not one wake-up of this goroutine each (a
				// park and a wake-up cost more than a stop's own work).
				runtime.Gosched()
				if m.sysCount.Load() > 0 {
					select { // the signal of what came: the loop takes it now
					case <-sig:
					default:
					}
					continue
				}
			}
			select {
			case <-sig:
			case <-ctx.Done():
				// The step gives up waiting (a force, its timeout, a request). The
				// children it had not asked yet (reverse order) are asked now, with
				// this stop's reason and deadline, not left to protoactor's plain
				// stop at the hand-over; under a force, every child is forced.
				cause := context.Cause(ctx)
				m.mu.Lock()
				forced := st.forced
				m.mu.Unlock()
				if forced != nil {
					for _, cm := range asked {
						cm.Force(forced)
					}
				}
				for _, pid := range next {
					stop(pid) // forces it too, if the stop is forced
				}
				return fmt.Errorf("%d of %d children still stopping: %w", a.left, total, cause)
			}
		}
		lifecycle.ReportProgress(ctx, "children stopped", total-a.left, total)
		return nil
	}
	if m.cfg.Order == Reverse {
		a.gone = make(map[string]bool, total)
		order := youngestFirst(sys, kids)
		for i, pid := range order {
			stop(pid)
			next = order[i+1:]
			if err := wait(func() bool { return a.gone[pid.Id] }); err != nil {
				return err
			}
		}
		return nil
	}
	for _, pid := range kids {
		stop(pid)
	}
	return wait(func() bool { return a.left <= 0 })
}

// pumpSystem handles the system messages queued now, for a Children step that
// waits: notices and Terminated reach the actor as they come, not in a burst after
// the step. The lifecycle's own messages that may come during a step are handled
// too (a force's ctlDrainCut, the one a panic in Receive queues as it escalates):
// one left at the head would hold everything behind it. It stops at a message that
// moves the plan on (only an abandonment queues one during a step), when the
// step's ctx is done (a force: the step returns within its AbandonAfter however
// much is queued), and as soon as the step is abandoned (gen changes): the
// goroutine that took the mailbox over handles the rest.
func (m *Mailbox) pumpSystem(ctx context.Context, gen uint32) {
	for m.gen.Load() == gen && ctx.Err() == nil {
		msg := m.sys.popIf(pumpable)
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

// pumpable reports whether a Children step that waits may handle msg: anything but
// the messages that move the plan on.
func pumpable(msg any) bool {
	switch msg {
	case ctlBegin, ctlStep, ctlHandOver:
		return false
	}
	return true
}

// youngestFirst orders kids by creation, the last first. protoactor's set of
// children loses the spawn order as children go (it swaps the last one in), so the
// mailboxes' creation order decides; a child without a Quiesce mailbox counts as
// the oldest.
func youngestFirst(sys *actor.ActorSystem, kids []*actor.PID) []*actor.PID {
	type kid struct {
		pid *actor.PID
		seq uint64
	}
	byAge := make([]kid, len(kids))
	for i, pid := range kids {
		byAge[i].pid = pid
		if cm := Of(sys, pid); cm != nil {
			byAge[i].seq = cm.seq
		}
	}
	slices.SortStableFunc(byAge, func(a, b kid) int { return cmp.Compare(b.seq, a.seq) })
	for i := range byAge {
		kids[i] = byAge[i].pid
	}
	return kids
}
