package actor_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// spec describes one component of a test tree.
type spec struct {
	name     string
	steps    []stepSpec
	children []*spec
	budget   mailbox.Budget
	// childrenLast places the Children step after the node's own steps; by default
	// the children stop first.
	childrenLast bool
}

type stepSpec struct {
	name   string
	policy policy.Policy
	d      time.Duration
	stuck  <-chan struct{} // when set, the step ignores its ctx and waits for this
	always bool
}

// node is the component every spec runs as. Its Receive keeps the notices it gets.
type node struct {
	spec  *spec
	heard *notices
}

func (n *node) Receive(c actor.Context) {
	if msg, ok := c.Message().(mailbox.Notice); ok {
		n.heard.add(n.spec.name, msg)
	}
}

// notices keeps what each parent heard, by parent name.
type notices struct {
	mu sync.Mutex
	by map[string][]mailbox.Notice
}

func (h *notices) add(parent string, n mailbox.Notice) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.by == nil {
		h.by = make(map[string][]mailbox.Notice)
	}
	h.by[parent] = append(h.by[parent], n)
}

func (h *notices) all() []mailbox.Notice {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []mailbox.Notice
	for _, ns := range h.by {
		out = append(out, ns...)
	}
	return out
}

// props builds the component for s and, through its start hook, its subtree.
func (s *spec) props(heard *notices) *actor.Props {
	steps := make([]qactor.Step[*node], len(s.steps))
	for i, st := range s.steps {
		steps[i] = qactor.Step[*node]{Name: st.name, Policy: st.policy, Always: st.always, Run: func(n *node, ctx context.Context) error {
			if st.stuck != nil {
				<-st.stuck // deaf to its ctx: only abandonment gets past it
				return nil
			}
			select {
			case <-time.After(st.d):
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}}
	}
	if s.childrenLast {
		steps = append(steps, qactor.Children[*node](policy.DeferFlag, 0))
	}
	return qactor.Component[*node]{
		New:    func() *node { return &node{spec: s, heard: heard} },
		Steps:  steps,
		Budget: s.budget,
		Start: []func(*node, actor.Context) error{func(n *node, c actor.Context) error {
			for _, child := range s.children {
				if _, err := c.SpawnNamed(child.props(heard), child.name); err != nil {
					return err
				}
			}
			return nil
		}},
	}.MustProps()
}

// randomTree returns a tree of depth levels, fan children per node, each node with
// one to three steps of random policies and durations.
func randomTree(r *rand.Rand, name string, depth, fan int) *spec {
	s := &spec{name: name}
	for i := range 1 + r.IntN(3) {
		s.steps = append(s.steps, stepSpec{
			name:   fmt.Sprintf("s%d", i),
			policy: policy.Policy(r.IntN(3)),
			d:      time.Duration(1+r.IntN(5)) * 100 * time.Millisecond,
		})
	}
	if depth > 1 {
		for i := range fan {
			s.children = append(s.children, randomTree(r, fmt.Sprintf("%s%d", name, i), depth-1, fan))
		}
	}
	return s
}

// walk calls f for every report in the tree under r, with its depth.
func walk(r *lifecycle.Report, depth int, f func(r *lifecycle.Report, depth int)) {
	f(r, depth)
	for _, c := range r.Children {
		walk(c, depth+1, f)
	}
}

// spawnTree spawns the tree's root and waits until every node has started.
func spawnTree(t testing.TB, sys *actor.ActorSystem, root *spec, heard *notices, count int) *actor.PID {
	t.Helper()
	phases, unsubscribe := events[*mailbox.PhaseChanged](sys)
	defer unsubscribe()
	pid, err := sys.Root.SpawnNamed(root.props(heard), root.name)
	if err != nil {
		panic(err)
	}
	running := 0
	recvUntil(t, phases, fmt.Sprintf("the %d nodes of the tree to run", count), func(e *mailbox.PhaseChanged) bool {
		if e.To == lifecycle.Running {
			running++
		}
		return running == count
	})
	return pid
}

func size(s *spec) int {
	n := 1
	for _, c := range s.children {
		n += size(c)
	}
	return n
}
