package chaos

// The generator of the traffic and the schedule.

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/mailbox"
)

// schedule draws the traffic and the stops: background events spread over the
// window on random nodes, and hot spots, where a burst and a few stops hit one node
// within a few milliseconds (a stop while the queue drains, a pill and then a stop,
// two pills, a force or a budget change mid-stop).
func (g *gen) schedule() {
	sc := g.sc
	nodes := len(sc.Nodes)
	at := func() time.Duration { return g.dur(0, sc.Window) }
	node := func() *Node { return sc.Nodes[g.r.IntN(nodes)] }
	for range min(1+nodes/2, 400) {
		n := node()
		sc.Events = append(sc.Events, g.burst(at(), n, 1+g.r.IntN(6)))
	}
	for range min(1+nodes/8, 150) {
		sc.Events = append(sc.Events, g.stop(at(), node(), false))
	}
	for range min(1+nodes/6, 40) {
		n, t := node(), at()
		sc.Events = append(sc.Events, g.burst(t, n, 3+g.r.IntN(15)))
		for range 1 + g.r.IntN(3) {
			t += g.dur(0, 3*time.Millisecond)
			sc.Events = append(sc.Events, g.stop(t, n, true))
		}
	}
	if g.chance(0.25) {
		e := Event{At: at(), Kind: Shutdown}
		g.shutdown(&e)
		sc.Events = append(sc.Events, e)
	}
	slices.SortStableFunc(sc.Events, func(a, b Event) int { return int(a.At - b.At) })

	// The final stops: each root still there gets a graceful request, or all of them a
	// Shutdown. None forces by itself: a fault that leaves an actor stopping for good
	// must not be rescued by the run's own ending.
	if g.chance(0.3) {
		e := Event{At: sc.Window, Kind: Shutdown}
		if g.chance(0.3) {
			e.Deadline = g.dur(2*time.Second, 5*time.Second)
		}
		sc.Final = append(sc.Final, e)
		return
	}
	for _, r := range sc.Roots {
		kinds := []Kind{RootStop, StopFuture, Poison, PoisonFuture, QStop}
		if r.Capacity > 0 {
			// A pill that finds the queue at its Capacity is refused (ErrFull), and
			// asks for nothing: the final stop must be one that gets through.
			kinds = []Kind{RootStop, StopFuture, QStop}
		}
		sc.Final = append(sc.Final, Event{At: sc.Window, Kind: pick(g, kinds...), Node: r.ID})
	}
}

// burst makes k messages to n.
func (g *gen) burst(at time.Duration, n *Node, k int) Event {
	e := Event{At: at, Kind: Burst, Node: n.ID}
	maxWork := 2 * time.Millisecond
	if g.large {
		maxWork = 300 * time.Microsecond
	}
	for range k {
		m := Msg{ID: len(g.sc.Msgs), Request: g.chance(0.5)}
		m.Future = m.Request && g.chance(0.5)
		if g.chance(0.7) {
			m.Work = g.dur(0, maxWork)
		}
		if !m.Request {
			switch x := g.r.Float64(); {
			case x < 0.03:
				m.Do, m.Fail = FailNow, pick(g, actor.RestartDirective, actor.RestartDirective, actor.StopDirective, actor.ResumeDirective, actor.EscalateDirective)
			case x < 0.04:
				m.Do = StopSelf
			case x < 0.05:
				m.Do = PoisonSelf
			case x < 0.06 && len(n.Children) > 0:
				m.Do, m.Child = StopChild, pick(g, n.Children...).ID
			}
		}
		g.sc.Msgs = append(g.sc.Msgs, m)
		e.Msgs = append(e.Msgs, m.ID)
	}
	return e
}

// stop draws one way to stop n (a hot spot favours the pill and the plain stop).
func (g *gen) stop(at time.Duration, n *Node, hot bool) Event {
	e := Event{At: at, Node: n.ID}
	kinds := []Kind{RootStop, StopFuture, Poison, PoisonFuture, QStop, Force, SetBudget}
	if hot {
		kinds = []Kind{RootStop, RootStop, StopFuture, Poison, Poison, PoisonFuture, QStop, Force, SetBudget}
	}
	e.Kind = pick(g, kinds...)
	switch e.Kind {
	case QStop:
		if g.chance(0.5) {
			e.Deadline = g.dur(time.Millisecond, 200*time.Millisecond)
		}
	case SetBudget:
		switch x := g.r.Float64(); {
		case x < 0.2 && !n.deaf():
			e.Budget = mailbox.Infinity
		case x < 0.9:
			e.Budget = mailbox.After(g.dur(5*time.Millisecond, 300*time.Millisecond))
		default:
			e.Budget = mailbox.Brutal
		}
	}
	return e
}

// shutdown draws a Shutdown's deadline and whether it comes twice.
func (g *gen) shutdown(e *Event) {
	switch x := g.r.Float64(); {
	case x < 0.3:
	case x < 0.6:
		e.Deadline = g.dur(500*time.Millisecond, 1900*time.Millisecond) // under two default AbandonAfter times
	default:
		e.Deadline = g.dur(2*time.Second, 4*time.Second)
	}
	if g.chance(0.5) {
		e.Again, e.Gap = true, g.dur(0, 50*time.Millisecond)
	}
}
