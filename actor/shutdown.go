package actor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// Tree is what a Shutdown did: one report per root, each with its subtree's reports
// nested under it, and the verdict over all of them. A Shutdown that gave up
// (ErrIncomplete) lists the roots still stopping in Stopping, which have no report,
// and its verdict is at least SomeAbandoned: it stopped waiting for them.
type Tree struct {
	Roots    []*lifecycle.Report
	Stopping []*actor.PID
	Verdict  lifecycle.Verdict
	Duration time.Duration
}

// String renders the tree like the tree command: each component with its status and
// duration, its steps and its children under it.
func (t *Tree) String() string {
	if t == nil {
		return "<nil>"
	}
	var roots strings.Builder
	for _, r := range t.Roots {
		roots.WriteString(r.Tree())
	}
	return t.render(roots.String())
}

// Folded is String for big trees, where thousands of components ended the same way:
// the roots, and each component's children, that ended alike print once, in full,
// followed by a line that counts the others and gives the range of their durations
// (see [lifecycle.Report.FoldedTree]). What ended otherwise prints on its own. A nil
// Tree (Shutdown's when it could not start) prints as fmt prints one, <nil>.
func (t *Tree) Folded() string {
	if t == nil {
		return "<nil>"
	}
	return t.render(lifecycle.FoldedTrees(t.Roots))
}

// render puts the header and the roots still stopping around the roots' rendering.
func (t *Tree) render(roots string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "shutdown: %v in %v\n", t.Verdict, t.Duration.Round(time.Microsecond))
	b.WriteString(roots)
	for _, pid := range t.Stopping {
		fmt.Fprintf(&b, "%s [still stopping: no report]\n", mailbox.PIDText(pid))
	}
	return b.String()
}

// Components counts the reports in the tree, and how many ended each way.
func (t *Tree) Components() (total int, by map[lifecycle.Verdict]int) {
	by = make(map[lifecycle.Verdict]int)
	var walk func(r *lifecycle.Report)
	walk = func(r *lifecycle.Report) {
		total++
		own := *r
		own.Children = nil
		by[own.Verdict()]++
		for _, c := range r.Children {
			walk(c)
		}
	}
	for _, r := range t.Roots {
		walk(r)
	}
	return total, by
}

// ErrIncomplete says Shutdown returned before every root had stopped (ctx was done, and
// the AbandonAfter after it too). The Tree holds what had finished.
var ErrIncomplete = errors.New("quiesce: shutdown incomplete")

// Shutdown stops the trees under roots gracefully, for cause, under one outer
// deadline (ctx's), and returns one tree report.
//
// The algorithm:
//  1. Each root is asked to stop with reason Shutdown, by ctx's deadline if it has
//     one (mailbox.Mailbox.StopBy): its budget is the smaller of its own and what
//     the deadline leaves once a reserve for its force and what follows it (the
//     forced step's return, each Always step, the abandonments) is set aside, and
//     its AbandonAfter shrinks to fit a short deadline (mailbox.Fit), so that a 1 s
//     Shutdown still drains and runs the steps for about half a second. The
//     children inherit the deadline. Nothing turns brutal silently: a force that
//     comes from the deadline says mailbox.ErrDeadline.
//  2. A root that an earlier Shutdown is stopping already is forced instead: a
//     second Shutdown is the second SIGTERM. A root stopping for another reason gets
//     this request too, and the deadline if it is earlier than its own. A force
//     reaches every descendant still stopping.
//  3. Shutdown waits for every root. If ctx is done first, it forces the roots and
//     waits once more, for twice their AbandonAfter, then returns ErrIncomplete
//     with what has finished.
//
// Children stop as their parents' plans say: in parallel or in reverse order, each
// under its own budget, each report nested in its parent's.
func Shutdown(ctx context.Context, system *actor.ActorSystem, cause error, roots ...*actor.PID) (*Tree, error) {
	start := time.Now()
	reason := lifecycle.NewReason(lifecycle.Shutdown, cause)
	deadline, bounded := ctx.Deadline()
	tickets := make([]*mailbox.Ticket, 0, len(roots))
	asked := make([]*actor.PID, 0, len(roots)) // the root of each ticket
	var errs []error
	for _, pid := range roots {
		mb := mailbox.Of(system, pid)
		if mb == nil {
			errs = append(errs, notComponent(system, pid))
			continue
		}
		asked = append(asked, pid)
		if t := mb.Ticket(); t != nil && t.Reason().Kind == lifecycle.Shutdown {
			tickets = append(tickets, mb.Force(cause)) // the second Shutdown forces
			continue
		}
		if bounded {
			tickets = append(tickets, mb.StopBy(deadline, reason, nil))
		} else {
			tickets = append(tickets, mb.Stop(reason, nil))
		}
	}
	tree := &Tree{}
	done := func() bool {
		for _, t := range tickets {
			select {
			case <-t.Done():
			default:
				return false
			}
		}
		return true
	}
	wait := func(until <-chan struct{}, timeout <-chan time.Time) bool {
		for _, t := range tickets {
			select {
			case <-t.Done():
			case <-until:
				return done()
			case <-timeout:
				return done()
			}
		}
		return true
	}
	complete := wait(ctx.Done(), nil)
	if !complete {
		var grace time.Duration
		for _, pid := range roots {
			if mb := mailbox.Of(system, pid); mb != nil {
				grace = max(grace, 2*mb.Force(context.Cause(ctx)).AbandonAfter())
			}
		}
		timer := time.NewTimer(grace)
		if complete = wait(nil, timer.C); !complete {
			errs = append(errs, fmt.Errorf("%w: %w", ErrIncomplete, context.Cause(ctx)))
		}
		timer.Stop()
	}
	for i, t := range tickets {
		select {
		case <-t.Done():
			if r := t.Report(); r != nil {
				tree.Roots = append(tree.Roots, r)
				tree.Verdict = max(tree.Verdict, r.Verdict())
			}
		default:
			tree.Stopping = append(tree.Stopping, asked[i])
			tree.Verdict = max(tree.Verdict, lifecycle.SomeAbandoned)
		}
	}
	tree.Duration = time.Since(start)
	return tree, errors.Join(errs...)
}
