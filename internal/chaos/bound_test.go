package chaos

import (
	"math"
	"slices"
	"time"

	"github.com/quiesce/quiesce/mailbox"
)

// Bound is how long after the window opens every instance must have terminated: the
// window, then twice (a restart, then the final stop) the slowest root's bound, and
// a slack for a loaded machine. A node's bound is the least of what its plan takes
// unforced (its drain, its steps, its children's bounds, one after the other in
// reverse order) and what its largest finite budget allows (the budget, then what
// its steps may take under force, then its children's bounds). A Shutdown's budget
// counts only where it is tighter than the root's own.
func (sc *Scenario) Bound() time.Duration {
	drain := make([]time.Duration, len(sc.Nodes))
	budgets := make([][]mailbox.Budget, len(sc.Nodes))
	for _, n := range sc.Nodes {
		budgets[n.ID] = []mailbox.Budget{n.Budget}
	}
	var shutdown time.Duration // the longest Shutdown deadline
	for _, e := range append(slices.Clone(sc.Events), sc.Final...) {
		switch e.Kind {
		case Burst:
			for _, id := range e.Msgs {
				drain[e.Node] += sc.Msgs[id].Work
			}
		case SetBudget:
			budgets[e.Node] = append(budgets[e.Node], e.Budget)
		case Shutdown:
			shutdown = max(shutdown, e.Deadline)
		}
	}
	if shutdown > 0 {
		for _, r := range sc.Roots {
			if _, finite := r.Budget.Limit(); !finite {
				budgets[r.ID] = append(budgets[r.ID], mailbox.After(shutdown))
			}
		}
	}
	const never = time.Duration(math.MaxInt64 / 4)
	var bound func(n *Node) time.Duration
	bound = func(n *Node) time.Duration {
		var kids time.Duration
		for _, c := range n.Children {
			if b := bound(c); n.Order == mailbox.Reverse {
				kids = min(kids+b, never)
			} else {
				kids = max(kids, b)
			}
		}
		fb := n.AbandonAfter
		if fb == 0 {
			fb = time.Second
		}
		// Unforced, each step takes its D (a deaf one for ever). Forced, the step
		// that runs gets an AbandonAfter, and each Always step after it its Timeout
		// (at most an AbandonAfter) and an AbandonAfter more if it ignores its ctx.
		steps, forced := drain[n.ID], fb
		if len(n.Children) > 0 {
			forced += fb // the Children step, Always, under force
		}
		for _, s := range n.Steps {
			switch s.Do {
			case Deaf:
				steps = never
			default:
				steps += s.D
			}
			if !s.Always {
				continue
			}
			switch s.Do {
			case Deaf:
				forced += 2 * fb
			case Slow:
				forced += min(s.D, 2*fb)
			default:
				forced += min(s.D, fb)
			}
		}
		unforced := min(steps+kids, never)
		var worst time.Duration
		for _, b := range budgets[n.ID] {
			d, finite := b.Limit()
			if !finite {
				return unforced
			}
			worst = max(worst, d)
		}
		return min(unforced, worst+forced+kids)
	}
	var slowest time.Duration
	for _, r := range sc.Roots {
		slowest = max(slowest, bound(r))
	}
	return sc.Window + 2*slowest + 2*time.Second + time.Duration(len(sc.Nodes))*time.Millisecond
}
