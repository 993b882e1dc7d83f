package chaos

// The checks of what parents heard and hold: the notices' order and the steps they
// name, and each report's place in its parent's.

import (
	"slices"
	"time"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

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
