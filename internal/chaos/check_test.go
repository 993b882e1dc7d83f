package chaos

// The invariants, checked on what a run recorded once every instance is gone.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// The invariants' names, as violations carry them and -chaos.known takes them.
const (
	invStops       = "stops"        // every instance terminates within the run's bound
	invBudget      = "budget"       // a finite budget forces the stop in time
	invLedger      = "ledger"       // every message handled, refused with a reason, or sent to a gone actor
	invRefusals    = "refusals"     // the mailbox counts the refusals its senders saw
	invResurrect   = "resurrection" // no incarnation after a stop began, but a restart's own
	invReport      = "report"       // a report is complete, and its verdict agrees with its steps
	invTree        = "tree"         // each report appears once, in its parent's
	invOrder       = "order"        // a parent hears Finished before Terminated, no force after Finished
	invNaming      = "naming"       // a notice names the step that was running
	invAbandoned   = "abandoned"    // a step left blocked was abandoned, and its report names its goroutine
	invGoroutines  = "goroutines"   // nothing outlives the run
	invCalls       = "calls"        // Stop, Shutdown and the futures return what they promise
	invBrutalShutd = "shutdown-budget"
)

// slack is what a loaded machine may add to a time the checks expect.
func (r *run) slack() time.Duration {
	return 300*time.Millisecond + time.Duration(len(r.sc.Nodes))*500*time.Microsecond
}

func abandonAfter(n *Node) time.Duration {
	if n.AbandonAfter > 0 {
		return n.AbandonAfter
	}
	return lifecycle.DefaultAbandonAfter
}

// always returns the names of a node's Always steps, the Children step included.
func always(n *Node) map[string]bool {
	out := map[string]bool{"children": true}
	for _, s := range n.Steps {
		out[s.Name] = s.Always
	}
	return out
}

func finishedReport(p published) *lifecycle.Report { return p.notice.(*mailbox.Finished).Report }

func (r *run) checkAll() {
	r.mu.Lock()
	all := slices.Clone(r.instances)
	r.mu.Unlock()
	owner := map[*lifecycle.Report]*instance{} // every report a Finished carried
	for _, in := range all {
		for _, f := range in.finished {
			owner[finishedReport(f)] = in
		}
	}
	r.checkLedger()
	for _, in := range all {
		r.checkInstance(in)
	}
	r.checkTree(all, owner)
	for _, in := range all {
		r.checkHeard(in)
	}
}

// checkLedger: sent = handled + refused + gone, each message exactly once, lost 0.
func (r *run) checkLedger() {
	var sent, handled, refused, gone, lost int
	var bad []string
	for id := range r.ledger {
		e := &r.ledger[id]
		to := e.to.Load()
		if to == nil {
			continue // never sent: the run ended before its burst
		}
		sent++
		h, a, f, g, l := e.handled.Load(), e.answered.Load(), e.refused.Load(), e.gone.Load(), e.lost.Load()
		handled += int(h)
		refused += int(f)
		gone += int(g)
		spec := r.sc.Msgs[id]
		var ok bool
		if spec.Request {
			ok = l == 0 && ((h == 1 && a == 1 && f == 0 && g == 0) || (h == 0 && a == 0 && f+g == 1))
		} else {
			ok = h+f+g == 1
		}
		if h+f+g == 0 || l > 0 {
			lost++
		}
		if !ok && len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("message %d (%s) to %v: handled %d, answered %d, refused %d, gone %d, timed out %d",
				id, msgKind(spec), to, h, a, f, g, l))
		}
	}
	if len(bad) > 0 || lost > 0 {
		r.violate(invLedger, nil, "sent %d = handled %d + refused %d + gone %d, lost %d; e.g. %v",
			sent, handled, refused, gone, lost, bad)
	}
}

func msgKind(m Msg) string {
	switch {
	case m.Future:
		return "a RequestFuture"
	case m.Request:
		return "a Request"
	}
	return "a plain send"
}

// checkInstance checks one instance's own record: its reports, its refusals, its
// incarnations.
func (r *run) checkInstance(in *instance) {
	in.mu.Lock()
	gone, starts, restarts, seen := in.terminated, in.starts, in.restarts, in.refusedSeen
	fins := slices.Clone(in.finished)
	notices := slices.Clone(in.notices)
	in.mu.Unlock()
	if !gone {
		return // reported as stuck
	}
	if starts > 1+restarts {
		r.violate(invResurrect, in, "%d incarnations started, for %d restarts", starts, restarts)
	}
	if in.mb != nil {
		if n := in.mb.RefusedCount(); n != seen {
			r.violate(invRefusals, in, "the mailbox counts %d refusals; their senders saw %d", n, seen)
		}
	}
	if len(fins) == 0 {
		r.violate(invReport, in, "terminated without a Finished notice")
		return
	}
	final := finishedReport(fins[len(fins)-1])
	if in.mb != nil {
		if t := in.mb.Ticket(); t == nil || t.Report() != final {
			r.violate(invReport, in, "its ticket's report is not the one its last Finished carried")
		}
	}
	for _, f := range fins {
		r.checkReport(in, finishedReport(f))
	}
	for _, p := range notices {
		k := 0
		for k < len(fins) && fins[k].order < p.order {
			k++
		}
		if k < len(fins) {
			r.checkNaming(in, p.notice, finishedReport(fins[k]), p.at, "as published")
		}
	}
}

// checkReport: every step has an outcome that agrees with the report's verdict, the
// steps ran in order, and the budget forced the stop in time.
func (r *run) checkReport(in *instance, rep *lifecycle.Report) {
	if rep.Actor != in.name {
		r.violate(invReport, in, "its report names %q", rep.Actor)
	}
	if rep.Reason == nil {
		r.violate(invReport, in, "a report without a reason")
	}
	isAlways := always(in.node)
	cut := ""
	var prev *lifecycle.StepReport
	for i := range rep.Steps {
		s := &rep.Steps[i]
		ran := !s.Start.IsZero()
		switch s.Status {
		case lifecycle.Pending:
			r.violate(invReport, in, "step %q is still pending in a finished report", s.Name)
		case lifecycle.Skipped:
			if ran || s.Err == nil {
				r.violate(invReport, in, "step %q skipped, but started %v, error %v", s.Name, ran, s.Err)
			}
		default:
			if !ran {
				r.violate(invReport, in, "step %q %v without a start", s.Name, s.Status)
			}
		}
		switch s.Status {
		case lifecycle.Abandoned:
			if rep.Forced == nil || !errors.Is(s.Err, lifecycle.ErrAbandoned) || s.Goroutine != policy.LabelKey+"="+s.Name {
				r.violate(invReport, in, "step %q abandoned, but the report's force is %v, its error %v, its goroutine %q",
					s.Name, rep.Forced, s.Err, s.Goroutine)
			}
		case lifecycle.Forced:
			if rep.Forced == nil || !errors.Is(s.Err, lifecycle.ErrForced) {
				r.violate(invReport, in, "step %q forced, but the report's force is %v, its error %v", s.Name, rep.Forced, s.Err)
			}
		}
		if cut != "" && ran && !isAlways[s.Name] {
			r.violate(invReport, in, "step %q ran after step %q was cut short by a force, and is not Always", s.Name, cut)
		}
		if s.Status == lifecycle.Forced || s.Status == lifecycle.Abandoned {
			cut = s.Name
		}
		if ran {
			if prev != nil && s.Start.Before(prev.Start.Add(prev.Duration).Add(-2*time.Millisecond)) {
				r.violate(invReport, in, "step %q started %v before step %q ended", s.Name,
					prev.Start.Add(prev.Duration).Sub(s.Start), prev.Name)
			}
			prev = s
		}
	}
	if v := rep.Verdict(); rep.Forced != nil && v == lifecycle.AllCompleted {
		r.violate(invReport, in, "forced (%v), yet its verdict is %v", rep.Forced, v)
	}
	r.checkBudget(in, rep)
}

// forceBy returns when the budgets the instance was given force a stop that began
// at start, at the latest, and false if none is sure to. A budget in force from a
// call (SetBudget, Shutdown) forces at its expiry or at the call, whichever is
// later; a call that replaces it before then means it never forced. A Shutdown's
// budget is at most the one it replaces: a root's own tighter budget stands.
func (r *run) forceBy(in *instance, start time.Time) (time.Time, bool) {
	in.mu.Lock()
	sets := slices.Clone(in.budgets)
	in.mu.Unlock()
	slack := r.slack()
	var eff mailbox.Budget
	for i, s := range sets {
		switch s.by {
		case "Shutdown":
			d, _ := s.b.Limit()
			if e, finite := eff.Limit(); !finite || e > d {
				eff = s.b
			}
		default:
			eff = s.b
		}
		d, finite := eff.Limit()
		if !finite {
			continue
		}
		at := start.Add(d)
		if s.to.After(at) {
			at = s.to
		}
		if i+1 < len(sets) && !at.Add(slack).Before(sets[i+1].from) {
			continue // replaced before (or about when) it would force
		}
		return at, true
	}
	return time.Time{}, false
}

// checkBudget: once the budget forces the stop, only Always steps start, and every
// step returns or is abandoned AbandonAfter later (twice that for an Always step
// that starts under force).
func (r *run) checkBudget(in *instance, rep *lifecycle.Report) {
	by, ok := r.forceBy(in, rep.Start)
	if !ok {
		return
	}
	slack, fb, isAlways := r.slack(), abandonAfter(in.node), always(in.node)
	for _, s := range rep.Steps {
		if s.Start.IsZero() {
			continue
		}
		end := s.Start.Add(s.Duration)
		switch {
		case s.Start.After(by.Add(slack)) && !isAlways[s.Name]:
			r.violate(invBudget, in, "step %q started %v into the stop, after its budget had run out (%v in); budgets %s",
				s.Name, s.Start.Sub(rep.Start).Round(time.Millisecond), by.Sub(rep.Start).Round(time.Millisecond), r.budgetsString(in))
		case !s.Start.After(by) && end.After(maxTime(by.Add(fb), s.Start.Add(2*fb)).Add(slack)):
			// Forced at by at the latest, it had an AbandonAfter to return; or, an Always
			// step started under an earlier force, twice that from its start.
			r.violate(invBudget, in, "step %q ran until %v into the stop, though its budget ran out %v in and its AbandonAfter is %v; budgets %s",
				s.Name, end.Sub(rep.Start).Round(time.Millisecond), by.Sub(rep.Start).Round(time.Millisecond), fb, r.budgetsString(in))
		case s.Start.After(by) && end.After(s.Start.Add(2*fb+slack)):
			r.violate(invBudget, in, "step %q started %v into the stop, after its budget had run out (%v in), and ran %v, over twice its AbandonAfter %v; budgets %s",
				s.Name, s.Start.Sub(rep.Start).Round(time.Millisecond), by.Sub(rep.Start).Round(time.Millisecond),
				s.Duration.Round(time.Millisecond), fb, r.budgetsString(in))
		}
	}
	// A root is forced by nothing but its budgets, and Shutdown's: a Brutal force
	// there came from a Brutal budget it was given, or from Shutdown.
	in.mu.Lock()
	brutal := slices.ContainsFunc(in.budgets, func(s budgetSet) bool { return s.b == mailbox.Brutal })
	shut := slices.ContainsFunc(in.budgets, func(s budgetSet) bool { return s.by == "Shutdown" })
	in.mu.Unlock()
	if in.parent == nil && shut && !brutal && errors.Is(rep.Forced, mailbox.ErrBrutal) {
		r.violate(invBrutalShutd, in, "forced by a Brutal budget under a Shutdown whose deadline leaves time; budgets %s", r.budgetsString(in))
	}
}

func (r *run) budgetsString(in *instance) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var b bytes.Buffer
	for i, s := range in.budgets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%v (%s", s.b, s.by)
		if !s.from.IsZero() {
			fmt.Fprintf(&b, " at +%v", s.from.Sub(r.begin).Round(time.Millisecond))
		}
		b.WriteString(")")
	}
	return b.String()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
