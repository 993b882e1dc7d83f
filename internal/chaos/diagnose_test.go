package chaos

// The diagnosis of a run that reached its bound: every instance still there, the
// likeliest cause first.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
)

// hung reports every instance still there at the bound: its phase, the stop it is
// in, the step it runs, what the schedule did to it.
func (r *run) hung(bound time.Duration) {
	r.mu.Lock()
	all := slices.Clone(r.instances)
	r.mu.Unlock()
	var stuck []*instance
	for _, in := range all {
		in.mu.Lock()
		gone := in.terminated
		in.mu.Unlock()
		if !gone {
			stuck = append(stuck, in)
		}
	}
	// The likeliest causes first: a stop that waits for nothing (no step of its
	// plan has run, nothing is queued, no child of its is stopping), then an
	// instance that runs while its parent stops, then the other stops, the deepest
	// first (a parent waits for its children), then the rest.
	rank := func(in *instance) int {
		phase, _ := qactor.PhaseOf(r.sys, in.pid)
		in.mu.Lock()
		step, last, ran := in.step, in.lastStep, in.stopSteps
		in.mu.Unlock()
		var parent lifecycle.Phase
		if in.parent != nil {
			parent, _ = qactor.PhaseOf(r.sys, in.parent.pid)
		}
		switch {
		case phase == lifecycle.Stopping && step == "" && last == "" && ran == 0 && !r.childStopping(in) &&
			in.mb != nil && in.mb.UserMessageCount() == 0:
			return 0
		case phase == lifecycle.Running && parent == lifecycle.Stopping:
			return 1
		case phase == lifecycle.Stopping:
			return 2
		}
		return 3
	}
	ranks := make(map[*instance]int, len(stuck))
	for _, in := range stuck {
		ranks[in] = rank(in)
	}
	sort.SliceStable(stuck, func(i, j int) bool {
		ri, rj := ranks[stuck[i]], ranks[stuck[j]]
		if ri != rj {
			return ri < rj
		}
		return stuck[i].node.Depth > stuck[j].node.Depth
	})
	var rest []string
	for i, in := range stuck {
		if i >= 6 && in.parent != nil { // every root stuck is shown: it is where the final stop went
			phase, _ := qactor.PhaseOf(r.sys, in.pid)
			rest = append(rest, fmt.Sprintf("%v (%v)", in, phase))
			continue
		}
		hint := ""
		switch ranks[in] {
		case 0:
			hint = " [its stop waits for nothing: no step of its plan has run, nothing is queued, no child of its is stopping]"
		case 1:
			hint = " [running, while its parent stops]"
		}
		r.violate(invStops, in, "still there %v into the run (its bound)%s: %s", bound.Round(time.Millisecond), hint, r.diagnose(in))
	}
	if len(rest) > 12 {
		rest = append(rest[:12], "...")
	}
	if len(rest) > 0 {
		r.violate(invStops, nil, "%d more instances still there: %s", len(stuck)-6, strings.Join(rest, ", "))
	}
}

// childStopping reports whether a child of p is stopping.
func (r *run) childStopping(p *instance) bool {
	r.mu.Lock()
	all := slices.Clone(r.instances)
	r.mu.Unlock()
	for _, in := range all {
		if in.parent != p {
			continue
		}
		if phase, ok := qactor.PhaseOf(r.sys, in.pid); ok && phase == lifecycle.Stopping {
			return true
		}
	}
	return false
}

// diagnose says where an instance is.
func (r *run) diagnose(in *instance) string {
	var b strings.Builder
	phase, ok := qactor.PhaseOf(r.sys, in.pid)
	if !ok {
		b.WriteString("no longer registered, but no Terminated came")
	} else {
		fmt.Fprintf(&b, "phase %v", phase)
	}
	if in.mb != nil {
		if t := in.mb.Ticket(); t != nil {
			fmt.Fprintf(&b, ", stopping for %q", t.Reason().Error())
			if rep := t.Report(); rep != nil {
				fmt.Fprintf(&b, ", plan over: %v", rep.Verdict())
			} else {
				b.WriteString(", plan not over")
			}
		}
		fmt.Fprintf(&b, ", %d user messages queued, %d refused", in.mb.UserMessageCount(), in.mb.RefusedCount())
		if s, stopping := in.mb.Snapshot(); stopping {
			fmt.Fprintf(&b, ", its snapshot: step %q for %v, %d children stopping, forced: %v, finished: %v",
				s.Step, s.StepElapsed.Round(time.Millisecond), s.ChildrenStopping, s.Forced, s.Finished)
		}
		if kids := r.childrenOf(in); kids != "" {
			fmt.Fprintf(&b, ", its children: %s", kids)
		}
	}
	n := in.node
	in.mu.Lock()
	if in.step != "" {
		fmt.Fprintf(&b, ", in step %q for %v", in.step, time.Since(in.stepSince).Round(time.Millisecond))
	} else {
		fmt.Fprintf(&b, ", in none of its own steps (%d ran in this stop; the last step finished: %q)", in.stopSteps, in.lastStep)
	}
	fmt.Fprintf(&b, ", %d incarnations, %d restarts", in.starts, in.restarts)
	if len(in.finished) > 0 {
		var stops []string
		for _, f := range in.finished {
			rep := finishedReport(f)
			stops = append(stops, fmt.Sprintf("%q %v", rep.Reason.Error(), rep.Verdict()))
		}
		fmt.Fprintf(&b, ", stops finished: %s", strings.Join(stops, "; "))
	}
	fmt.Fprintf(&b, "; plan %s; budget %v, AbandonAfter %v, capacity %d, %d children (%v)", planString(n), n.Budget, n.AbandonAfter, n.Capacity, len(n.Children), n.Order)
	if len(in.did) > 0 {
		fmt.Fprintf(&b, "; the schedule did: %s", strings.Join(in.did, "; "))
	}
	in.mu.Unlock()
	return b.String()
}

func planString(n *Node) string {
	var parts []string
	for i, s := range n.Steps {
		if i == n.ChildrenAt {
			parts = append(parts, fmt.Sprintf("children/%v", n.ChildrenPolicy))
		}
		p := fmt.Sprintf("%s/%v/%v", s.Name, s.Policy, s.Do)
		if s.Always {
			p += "/always"
		}
		parts = append(parts, p)
	}
	if n.ChildrenAt == len(n.Steps) {
		parts = append(parts, fmt.Sprintf("children/%v", n.ChildrenPolicy))
	}
	if len(parts) == 0 {
		return "(no steps)"
	}
	return strings.Join(parts, " ")
}

// childrenOf describes in's children as the run knows them.
func (r *run) childrenOf(in *instance) string {
	r.mu.Lock()
	all := append([]*instance(nil), r.instances...)
	r.mu.Unlock()
	var parts []string
	for _, c := range all {
		if c.parent != in {
			continue
		}
		c.mu.Lock()
		parts = append(parts, fmt.Sprintf("%s (terminated %v, %d starts, %d restarts, %d Finished)",
			c.name, c.terminated, c.starts, c.restarts, len(c.finished)))
		c.mu.Unlock()
	}
	return strings.Join(parts, "; ")
}
