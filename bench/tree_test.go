package bench

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
)

// tally is what the actors of one benchmarked tree did: the leaves that have
// started, the steps that ran, the actors that handled their Stopped.
type tally struct {
	started sync.WaitGroup
	steps   atomic.Int64
	stopped atomic.Int64
}

// node is every actor of the benchmarked trees, of every kind: on Started it
// spawns n children from child (a parent), or counts itself started (a leaf); it
// counts its Stopped, so that a round can check every actor really stopped.
type node struct {
	t     *tally
	n     int
	child *actor.Props
}

func (a *node) Receive(c actor.Context) {
	switch c.Message().(type) {
	case *actor.Started:
		if a.child == nil {
			a.t.started.Done()
			return
		}
		for range a.n {
			c.Spawn(a.child)
		}
	case *actor.Stopped:
		a.t.stopped.Add(1)
	}
}

// The kinds of tree a benchmark stops.
const (
	raw         = "raw"         // protoactor actors, stopped by StopFuture
	handwritten = "handwritten" // protoactor actors whose Stopping handler runs the three steps by hand
	nosteps     = "nosteps"     // Quiesce components without steps
	plain       = "plain"       // Quiesce components with threeSteps, every step Plain
	mixed       = "mixed"       // Quiesce components with threeSteps: one step per policy
)

// graceful reports whether a kind is stopped by Quiesce.
func graceful(kind string) bool { return kind != raw && kind != handwritten }

// level returns the props of a tree level of kind whose actors each spawn n
// children from child (nil: leaves).
func level(kind string, t *tally, n int, child *actor.Props) *actor.Props {
	mk := func() *node { return &node{t: t, n: n, child: child} }
	switch kind {
	case raw:
		return actor.PropsFromProducer(func() actor.Actor { return mk() })
	case handwritten:
		return actor.PropsFromProducer(func() actor.Actor { return &byHand{node: mk()} })
	case nosteps:
		return qactor.Component[*node]{New: mk}.MustProps()
	case plain:
		return qactor.Component[*node]{New: mk, Steps: plainSteps[*node](&t.steps)}.MustProps()
	case mixed:
		return qactor.Component[*node]{New: mk, Steps: threeSteps[*node](&t.steps)}.MustProps()
	}
	panic("bench: unknown kind " + kind)
}

// tree spawns a tree of kind, fan[0] children under the root, fan[1] under each of
// those, and so on, and returns once every leaf has started.
func tree(sys *actor.ActorSystem, kind string, fan ...int) (*actor.PID, *tally) {
	t := &tally{}
	leaves := 1
	for _, n := range fan {
		leaves *= n
	}
	t.started.Add(leaves)
	var props *actor.Props
	for i := len(fan); i >= 0; i-- {
		n := 0
		if i < len(fan) {
			n = fan[i]
		}
		props = level(kind, t, n, props)
	}
	pid := sys.Root.Spawn(props)
	t.started.Wait()
	return pid, t
}

// actors is how many actors a tree of fan holds.
func actors(fan ...int) int {
	total, width := 1, 1
	for _, n := range fan {
		width *= n
		total += width
	}
	return total
}

// verify checks that a stopped tree of kind and fan did what its kind promises:
// every actor handled its Stopped; every actor ran its steps; for a Quiesce kind,
// the report has one report per actor, nested as the tree, each with its steps
// completed.
func verify(kind string, t *tally, rep *lifecycle.Report, fan ...int) error {
	n := actors(fan...)
	if got := t.stopped.Load(); got != int64(n) {
		return fmt.Errorf("%s: %d actors stopped, want %d", kind, got, n)
	}
	want := int64(3 * n)
	if kind == raw || kind == nosteps {
		want = 0
	}
	if got := t.steps.Load(); got != want {
		return fmt.Errorf("%s: %d steps ran, want %d", kind, got, want)
	}
	if !graceful(kind) {
		return nil
	}
	if rep == nil {
		return fmt.Errorf("%s: no report", kind)
	}
	if v := rep.Verdict(); v != lifecycle.AllCompleted {
		return fmt.Errorf("%s: verdict %v", kind, v)
	}
	return verifyReport(kind, rep, fan)
}

func verifyReport(kind string, rep *lifecycle.Report, fan []int) error {
	steps := 0
	for _, s := range rep.Steps {
		if s.Status != lifecycle.Completed {
			return fmt.Errorf("%s: %s: step %v", kind, rep.Actor, s)
		}
		if s.Name != "children" {
			steps++
		}
	}
	if want := 3; kind == nosteps && steps != 0 || kind != nosteps && steps != want {
		return fmt.Errorf("%s: %s: %d steps in the report", kind, rep.Actor, steps)
	}
	want := 0
	if len(fan) > 0 {
		want = fan[0]
	}
	if len(rep.Children) != want {
		return fmt.Errorf("%s: %s: %d child reports, want %d", kind, rep.Actor, len(rep.Children), want)
	}
	for _, c := range rep.Children {
		if err := verifyReport(kind, c, fan[1:]); err != nil {
			return err
		}
	}
	return nil
}
