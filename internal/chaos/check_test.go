package chaos

// The invariants, checked on what a run recorded once every instance is gone.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"time"

	qactor "github.com/quiesce/quiesce/actor"
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

func forceBudget(n *Node) time.Duration {
	if n.ForceBudget > 0 {
		return n.ForceBudget
	}
	return lifecycle.DefaultForceBudget
}

// always returns the names of a node's Always steps, the Children step included.
func always(n *Node) map[string]bool {
	out := map[string]bool{mailbox.ChildrenStep: true}
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
		if n := in.mb.Refused(); n != seen {
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
// step returns or is abandoned a force budget later (twice that for an Always step
// that starts under force).
func (r *run) checkBudget(in *instance, rep *lifecycle.Report) {
	by, ok := r.forceBy(in, rep.Start)
	if !ok {
		return
	}
	slack, fb, isAlways := r.slack(), forceBudget(in.node), always(in.node)
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
			// Forced at by at the latest, it had a force budget to return; or, an Always
			// step started under an earlier force, twice that from its start.
			r.violate(invBudget, in, "step %q ran until %v into the stop, though its budget ran out %v in and its force budget is %v; budgets %s",
				s.Name, end.Sub(rep.Start).Round(time.Millisecond), by.Sub(rep.Start).Round(time.Millisecond), fb, r.budgetsString(in))
		case s.Start.After(by) && end.After(s.Start.Add(2*fb+slack)):
			r.violate(invBudget, in, "step %q started %v into the stop, after its budget had run out (%v in), and ran %v, over twice its force budget %v; budgets %s",
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

// checkNaming: a notice names the step that was running, of the stop it belongs to.
func (r *run) checkNaming(in *instance, n mailbox.Notice, rep *lifecycle.Report, at time.Time, how string) {
	name := noticeStep(n)
	if name == "" {
		switch n.(type) {
		case *mailbox.Interrupted, *mailbox.Abandoned:
			r.violate(invNaming, in, "%T names no step (%s)", n, how)
		}
		return
	}
	i := slices.IndexFunc(rep.Steps, func(s lifecycle.StepReport) bool { return s.Name == name })
	if i < 0 {
		r.violate(invNaming, in, "%T names step %q, which its stop's plan does not have (%s)", n, name, how)
		return
	}
	s := rep.Steps[i]
	switch {
	case s.Start.IsZero():
		r.violate(invNaming, in, "%T names step %q, which never ran in that stop: %v (%s)", n, name, s.Status, how)
		return
	case s.Start.After(at):
		r.violate(invNaming, in, "%T names step %q, which started after the notice came (%s)", n, name, how)
	}
	switch n.(type) {
	case *mailbox.Interrupted:
		if s.Policy != policy.Plain {
			r.violate(invNaming, in, "Interrupted names step %q, a %v step (%s)", name, s.Policy, how)
		}
	case *mailbox.DeferredCancel:
		if !s.Policy.Deferred() {
			r.violate(invNaming, in, "DeferredCancel names step %q, a %v step (%s)", name, s.Policy, how)
		}
	case *mailbox.Abandoned:
		if s.Status != lifecycle.Abandoned {
			r.violate(invNaming, in, "Abandoned names step %q, which the report says %v (%s)", name, s.Status, how)
		}
	case *mailbox.Forced:
		for _, o := range rep.Steps {
			if o.Status == lifecycle.Forced && o.Name != name {
				r.violate(invNaming, in, "Forced names step %q (%v), but the force cut step %q (%s)", name, s.Status, o.Name, how)
			}
		}
	}
}

// checkTree: every report a parent's report holds is one of its children's, none
// appears twice, and a child stopped by its parent's stop is in that stop's report.
func (r *run) checkTree(all []*instance, owner map[*lifecycle.Report]*instance) {
	count := map[*lifecycle.Report]int{}
	for _, p := range all {
		p.mu.Lock()
		fins := slices.Clone(p.finished)
		p.mu.Unlock()
		once := map[*lifecycle.Report]bool{}
		for _, f := range fins {
			rep := finishedReport(f)
			if once[rep] {
				r.violate(invTree, p, "published a Finished notice twice for one stop (%v)", rep.Reason)
				continue
			}
			once[rep] = true
			for _, c := range rep.Children {
				count[c]++
				switch o := owner[c]; {
				case o == nil:
					r.violate(invTree, p, "its report holds a report (of %q) that no Finished notice carried", c.Actor)
				case o.parent != p:
					r.violate(invTree, p, "its report holds the report of %v, not a child of its", o)
				}
			}
		}
	}
	for rep, n := range count {
		if n > 1 {
			r.violate(invTree, owner[rep], "its report (%v) appears %d times in its parent's reports", rep.Reason, n)
		}
	}
	for _, c := range all {
		c.mu.Lock()
		gone, fins := c.terminated, slices.Clone(c.finished)
		c.mu.Unlock()
		if !gone || len(fins) == 0 || c.parent == nil {
			continue
		}
		final := finishedReport(fins[len(fins)-1])
		if final.Reason == nil || final.Reason.Kind != lifecycle.ParentStopping {
			continue
		}
		p := c.parent
		p.mu.Lock()
		pfins := slices.Clone(p.finished)
		pgone := p.terminated
		p.mu.Unlock()
		if !pgone {
			continue
		}
		var stop *lifecycle.Report
		for _, f := range pfins {
			if pr := finishedReport(f); error(pr.Reason) == final.Reason.Cause {
				stop = pr
			}
		}
		switch {
		case stop == nil:
			r.violate(invTree, c, "stopped by its parent's stop (%v), whose report never came", final.Reason.Cause)
		case !slices.Contains(stop.Children, final):
			r.violate(invTree, c, "stopped by its parent's stop (%v), but missing from that stop's report (%d children there)",
				final.Reason.Cause, len(stop.Children))
		}
	}
}

// checkHeard: what a parent's Receive got from each child, in order: the child's
// Finished before protoactor's Terminated, no Forced or Abandoned after the Finished
// of its stop, and each notice naming a step of its stop.
func (r *run) checkHeard(p *instance) {
	p.mu.Lock()
	heardAll := slices.Clone(p.heard)
	pfins := slices.Clone(p.finished)
	p.mu.Unlock()
	inParent := map[*lifecycle.Report]bool{}
	for _, f := range pfins {
		for _, c := range finishedReport(f).Children {
			inParent[c] = true
		}
	}
	byChild := map[string][]heard{}
	for _, h := range heardAll {
		byChild[h.child] = append(byChild[h.child], h)
	}
	for name, hs := range byChild {
		c := r.named(name)
		if c == nil {
			continue
		}
		c.mu.Lock()
		gone, fins := c.terminated, slices.Clone(c.finished)
		c.mu.Unlock()
		if !gone || len(fins) == 0 {
			continue
		}
		final := finishedReport(fins[len(fins)-1])
		seen, finalSeen, early := 0, false, false
		for _, h := range hs {
			switch n := h.notice.(type) {
			case nil:
				early = early || !finalSeen
			case *mailbox.Finished:
				seen++
				finalSeen = finalSeen || n.Report == final
			default:
				if seen >= len(fins) {
					switch n.(type) {
					case *mailbox.Forced, *mailbox.Abandoned:
						r.violate(invOrder, c, "its parent %v heard %T (step %q) after the Finished of its stop", p, n, noticeStep(n))
					}
					continue
				}
				r.checkNaming(c, n, finishedReport(fins[seen]), h.at, "as its parent heard it")
			}
		}
		switch {
		case early && finalSeen:
			r.violate(invOrder, c, "its parent %v heard protoactor's Terminated before its Finished", p)
		case early && !inParent[final]:
			r.violate(invOrder, c, "its parent %v heard protoactor's Terminated, and its Finished neither before nor in its report", p)
		}
	}
}

// checkAbandoned runs before the deaf steps are let go: each one still blocked was
// abandoned, its report says so and names its goroutine, and the goroutine profile
// has a goroutine under that label.
func (r *run) checkAbandoned() {
	r.mu.Lock()
	all := slices.Clone(r.instances)
	r.mu.Unlock()
	blocked := map[string]int{}
	for _, in := range all {
		in.mu.Lock()
		deaf, gone := slices.Clone(in.deaf), in.terminated
		fins := slices.Clone(in.finished)
		in.mu.Unlock()
		if !gone {
			continue
		}
		for _, step := range deaf {
			blocked[step]++
			named := false
			for _, f := range fins {
				for _, s := range finishedReport(f).Steps {
					named = named || (s.Name == step && s.Status == lifecycle.Abandoned && s.Goroutine == policy.LabelKey+"="+step)
				}
			}
			if !named {
				r.violate(invAbandoned, in, "step %q is still blocked after the actor terminated, and no report names it abandoned", step)
			}
		}
	}
	if len(blocked) == 0 {
		return
	}
	labelled := goroutineLabels()
	for step, n := range blocked {
		if labelled[step] < n {
			r.violate(invAbandoned, nil, "%d steps %q left blocked, but %d goroutines labelled %s=%s", n, step, labelled[step], policy.LabelKey, step)
		}
	}
}

var labelLine = regexp.MustCompile(`"` + policy.LabelKey + `":"([^"]*)"`)

// goroutineLabels counts the goroutines by their op label.
func goroutineLabels() map[string]int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	out := map[string]int{}
	count := 0
	for line := range bytes.Lines(b.Bytes()) {
		if f := bytes.Fields(line); len(f) > 1 && string(f[1]) == "@" {
			count, _ = strconv.Atoi(string(f[0]))
			continue
		}
		if m := labelLine.FindSubmatch(line); m != nil {
			out[string(m[1])] += count
		}
	}
	return out
}

// checkCalls: what Stop, Shutdown and the futures returned.
func (r *run) checkCalls(hung bool) {
	r.mu.Lock()
	stops, shutdowns, futures := slices.Clone(r.stops), slices.Clone(r.shutdowns), slices.Clone(r.futures)
	r.mu.Unlock()
	final := func(in *instance) *lifecycle.Report {
		in.mu.Lock()
		defer in.mu.Unlock()
		if len(in.finished) == 0 {
			return nil
		}
		return finishedReport(in.finished[len(in.finished)-1])
	}
	for _, s := range stops {
		switch {
		case s.err == nil && (s.report == nil || s.report != final(s.in)):
			r.violate(invCalls, s.in, "qactor.Stop returned no error and a report (%v) that is not its last", reasonOf(s.report))
		case s.err != nil && !errors.Is(s.err, context.DeadlineExceeded) && !errors.Is(s.err, context.Canceled) &&
			!errors.Is(s.err, qactor.ErrNotComponent) && !hung:
			r.violate(invCalls, s.in, "qactor.Stop: %v", s.err)
		}
	}
	for _, f := range futures {
		if f.err != nil && !hung {
			r.violate(invCalls, f.in, "%v's future: %v", f.kind, f.err)
		}
	}
	for _, s := range shutdowns {
		if s.tree == nil {
			r.violate(invCalls, nil, "qactor.Shutdown returned no tree (%v)", s.err)
			continue
		}
		for _, rep := range s.tree.Roots {
			for _, in := range s.roots {
				if rep.Actor == in.name && rep != final(in) {
					r.violate(invCalls, in, "qactor.Shutdown (second call %v) returned its report for %v, not its last: it went on after the Shutdown",
						s.again, reasonOf(rep))
				}
			}
		}
	}
}

func reasonOf(rep *lifecycle.Report) any {
	if rep == nil {
		return "none"
	}
	return rep.Reason
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
