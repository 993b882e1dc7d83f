package trigger

import "context"

// node is one source of a watched tree, with what it has reported so far. The tree
// is owned by the watcher's goroutine: only it reads or writes a node after Watch
// returns.
type node struct {
	spec        *spec
	parent      *node
	parts       []*node
	canEscalate bool // it, or a part of it, can escalate: a Signal or an Escalate

	fired, escalated *Fired
	firedAt, escalAt uint64 // sequence numbers of the events that set them
	started          bool   // a leaf's goroutine has been started
	cancel           context.CancelFunc
}

func build(s *spec, parent *node) *node {
	n := &node{spec: s, parent: parent}
	switch s.op {
	case opSignal, opEscalate:
		n.canEscalate = true
	}
	for _, p := range s.parts {
		c := build(p.spec(), n)
		n.parts = append(n.parts, c)
		if s.op != opEscalate {
			n.canEscalate = n.canEscalate || c.canEscalate
		}
	}
	return n
}

func (n *node) leaf() bool { return len(n.parts) == 0 }

// done reports whether n can report nothing more: it has escalated, or it has fired
// and cannot escalate.
func (n *node) done() bool { return n.escalated != nil || (n.fired != nil && !n.canEscalate) }

// report records a leaf's fire or escalation, event number seq, and re-evaluates
// every combinator above it. A leaf reports each at most once, a fire before an
// escalation; anything else is ignored.
func (n *node) report(escalate bool, f *Fired, seq uint64) {
	switch {
	case !escalate && n.fired == nil:
		n.fired, n.firedAt = f, seq
	case escalate && n.fired != nil && n.escalated == nil:
		n.escalated, n.escalAt = f, seq
	default:
		return
	}
	for p := n.parent; p != nil; p = p.parent {
		p.eval(seq)
	}
}

// eval brings a combinator up to date with its parts.
func (n *node) eval(seq uint64) {
	switch n.spec.op {
	case opAnyOf:
		if n.fired == nil {
			if p := earliestFired(n.parts); p != nil {
				n.fired, n.firedAt = p.fired, p.firedAt
			}
		}
	case opAllOf:
		if n.fired == nil {
			n.fireAll(seq)
		}
	case opEscalate:
		g, force := n.parts[0], n.parts[1]
		if n.fired == nil && g.fired != nil {
			n.fired, n.firedAt = g.fired, g.firedAt
		}
		if n.fired != nil && n.escalated == nil && force.fired != nil &&
			(g.escalated == nil || force.firedAt < g.escalAt) {
			e := *force.fired
			e.Escalation = true
			n.escalated, n.escalAt = &e, force.firedAt
			return
		}
	}
	// Any combinator escalates once it has fired and a part has escalated.
	if n.fired != nil && n.escalated == nil {
		if p := earliestEscalated(n.parts); p != nil {
			n.escalated, n.escalAt = p.escalated, p.escalAt
		}
	}
}

// fireAll fires an AllOf whose parts have all fired.
func (n *node) fireAll(seq uint64) {
	f := &Fired{Kind: KindAllOf, Parts: make([]*Fired, len(n.parts))}
	for i, p := range n.parts {
		if p.fired == nil {
			return
		}
		f.Parts[i] = p.fired
		if p.fired.Time.After(f.Time) {
			f.Time = p.fired.Time
		}
	}
	n.fired, n.firedAt = f, seq
}

func earliestFired(parts []*node) *node {
	var first *node
	for _, p := range parts {
		if p.fired != nil && (first == nil || p.firedAt < first.firedAt) {
			first = p
		}
	}
	return first
}

func earliestEscalated(parts []*node) *node {
	var first *node
	for _, p := range parts {
		if p.escalated != nil && (first == nil || p.escalAt < first.escalAt) {
			first = p
		}
	}
	return first
}

// sweep walks the tree and decides, for each leaf, whether it is still needed:
// a needed leaf that has not started is started (the force part of an Escalate
// whose graceful part has fired), and a started leaf no longer needed is cancelled.
//
// A node is needed while its parent needs it and it is not done. A combinator that
// has fired needs only the parts that can still escalate; an Escalate needs its
// force part only once it has fired.
func (n *node) sweep(needed bool, start func(*node)) {
	needed = needed && !n.done()
	if n.leaf() {
		switch {
		case needed && !n.started:
			n.started = true
			start(n)
		case !needed && n.cancel != nil:
			n.cancel()
		}
		return
	}
	if n.spec.op == opEscalate {
		n.parts[0].sweep(needed, start)
		n.parts[1].sweep(needed && n.fired != nil, start)
		return
	}
	for _, p := range n.parts {
		p.sweep(needed && (n.fired == nil || p.canEscalate), start)
	}
}
