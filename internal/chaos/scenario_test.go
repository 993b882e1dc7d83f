package chaos

// The generator: one seed and a size give one scenario, a plain value that says
// everything a run does (the tree, each node's plan, budgets and supervisor, the
// traffic and the schedule of stops), so that the seed replays it.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// Params size a scenario; with the seed they are all a replay needs.
type Params struct {
	Actors int // about this many actors in the first tree (never more)
	Levels int // this many levels (fewer if Actors does not reach them), from 1 to 4
}

func (p Params) String() string { return fmt.Sprintf("%d actors, %d levels", p.Actors, p.Levels) }

// Scenario is one generated run.
type Scenario struct {
	Seed   uint64
	Params Params
	Nodes  []*Node // by ID
	Roots  []*Node
	Msgs   []Msg   // the traffic, by ID
	Events []Event // traffic bursts and stops, by At
	Window time.Duration
	// Final stops the roots that are still there once the window is over (as a
	// program's main does on its way out), with a plain graceful request each.
	Final []Event
}

// Node is one component of the tree, and every instance of it: a parent that
// restarts spawns its children again.
type Node struct {
	ID       int
	Parent   *Node
	Children []*Node
	Depth    int

	Steps []StepSpec
	// ChildrenAt places the built-in Children step before Steps[ChildrenAt]
	// (len(Steps) places it last); -1 leaves it out, and the mailbox stops the
	// children first.
	ChildrenAt      int
	ChildrenPolicy  policy.Policy
	ChildrenTimeout time.Duration

	Budget      mailbox.Budget
	ForceBudget time.Duration // 0: lifecycle.DefaultForceBudget
	Order       mailbox.Order
	Capacity    int
	Retries     int  // its supervisor's restarts within a second, before it stops the child
	FailStart   bool // the start hook of every incarnation after the first fails
}

func (n *Node) String() string { return fmt.Sprintf("n%d", n.ID) }

// Behaviour is what a step's Run does.
type Behaviour uint8

const (
	Quick Behaviour = iota // returns nil at once
	Work                   // works for D, or until its ctx is done (returns ctx.Err())
	Fail                   // as Work, then returns an error
	Panic                  // as Work, then panics
	Slow                   // ignores its ctx, returns nil after D
	Deaf                   // ignores its ctx, returns only when the run ends (abandoned before)
)

var behaviourNames = [...]string{"quick", "work", "fail", "panic", "slow", "deaf"}

func (b Behaviour) String() string { return behaviourNames[b] }

// StepSpec is one step of a node's plan.
type StepSpec struct {
	Name    string
	Policy  policy.Policy
	Timeout time.Duration
	Grace   time.Duration
	Always  bool
	Do      Behaviour
	D       time.Duration
}

// Msg is one message of the traffic.
type Msg struct {
	ID      int
	Request bool          // sent with a sender (a future or the client actor), else a plain send
	Future  bool          // the request goes through RequestFuture, else the client actor's Request
	Work    time.Duration // how long Receive works on it
	Do      Command       // what else Receive does with it
	Fail    actor.Directive
	Child   int // Command StopChild: the child node to stop
}

// Command is what a message makes its receiver do besides working.
type Command uint8

const (
	Nothing    Command = iota
	FailNow            // panic: the supervisor decides Fail
	StopSelf           // ctx.Stop(ctx.Self())
	PoisonSelf         // ctx.Poison(ctx.Self())
	StopChild          // ctx.Stop(the child's instance)
)

// Kind is what an Event does.
type Kind uint8

const (
	Burst        Kind = iota // send Msgs to the node
	RootStop                 // system.Root.Stop
	StopFuture               // system.Root.StopFuture
	Poison                   // system.Root.Poison
	PoisonFuture             // system.Root.PoisonFuture
	QStop                    // qactor.Stop with Deadline (0: none)
	Force                    // qactor.Force
	Shutdown                 // qactor.Shutdown of every root, with Deadline (0: none); Again: again after Gap
	SetBudget                // qactor.SetBudget(Budget)
)

var kindNames = [...]string{"burst", "stop", "stop-future", "poison", "poison-future", "qstop", "force", "shutdown", "set-budget"}

func (k Kind) String() string { return kindNames[k] }

// Event is one thing the schedule does, at At from the start of the window.
type Event struct {
	At       time.Duration
	Kind     Kind
	Node     int   // the target (its instance of the moment); unused by Shutdown
	Msgs     []int // Burst: the IDs of the messages, in order
	Deadline time.Duration
	Budget   mailbox.Budget
	Again    bool // Shutdown: called a second time, Gap later (the second SIGTERM)
	Gap      time.Duration
}

func (e Event) String() string {
	s := e.Kind.String()
	if e.Kind != Shutdown {
		s += fmt.Sprintf(" n%d", e.Node)
	}
	switch e.Kind {
	case Burst:
		s += fmt.Sprintf(" (%d messages)", len(e.Msgs))
	case QStop, Shutdown:
		if e.Deadline > 0 {
			s += fmt.Sprintf(" deadline %v", e.Deadline)
		}
		if e.Again {
			s += fmt.Sprintf(", again after %v", e.Gap)
		}
	case SetBudget:
		s += " " + e.Budget.String()
	}
	return s
}

// gen draws a scenario's values from one seeded source.
type gen struct {
	r     *rand.Rand
	sc    *Scenario
	large bool // over a few hundred actors: shorter steps and work, fewer slow paths
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// dur returns a duration in [lo, hi].
func (g *gen) dur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.r.Int64N(int64(hi-lo)+1))
}

func pick[T any](g *gen, xs ...T) T { return xs[g.r.IntN(len(xs))] }

// Generate makes the scenario of seed and p.
func Generate(seed uint64, p Params) *Scenario {
	p.Actors = max(p.Actors, 1)
	p.Levels = min(max(p.Levels, 1), 4)
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), large: p.Actors > 300}
	g.sc = &Scenario{Seed: seed, Params: p, Window: g.dur(30*time.Millisecond, 150*time.Millisecond)}
	g.tree()
	for _, n := range g.sc.Nodes {
		g.plan(n)
	}
	g.schedule()
	return g.sc
}

// tree grows the nodes breadth first: one to three roots, then a fan-out per level
// that reaches about Actors at the last level drawn.
func (g *gen) tree() {
	p := g.sc.Params
	levels := p.Levels
	roots := min(1+g.r.IntN(3), p.Actors)
	fan := 1.0
	if levels > 1 {
		// A little over the fan that reaches Actors: the last level is cut at Actors.
		fan = math.Max(1, 1.15*math.Pow(float64(p.Actors)/float64(roots), 1/float64(levels-1)))
	}
	add := func(parent *Node) *Node {
		n := &Node{ID: len(g.sc.Nodes), Parent: parent}
		if parent != nil {
			n.Depth = parent.Depth + 1
			parent.Children = append(parent.Children, n)
		} else {
			g.sc.Roots = append(g.sc.Roots, n)
		}
		g.sc.Nodes = append(g.sc.Nodes, n)
		return n
	}
	queue := []*Node{}
	for range roots {
		queue = append(queue, add(nil))
	}
	for len(queue) > 0 && len(g.sc.Nodes) < p.Actors {
		n := queue[0]
		queue = queue[1:]
		if n.Depth+1 >= levels {
			continue
		}
		kids := int(math.Round(fan * (0.5 + g.r.Float64())))
		for range kids {
			if len(g.sc.Nodes) >= p.Actors {
				break
			}
			queue = append(queue, add(n))
		}
	}
}

// plan draws a node's steps, budgets, order, capacity and supervisor.
func (g *gen) plan(n *Node) {
	maxD := 30 * time.Millisecond
	if g.large {
		maxD = 4 * time.Millisecond
	}
	switch x := g.r.Float64(); {
	case x < 0.45:
		n.Budget = mailbox.Infinity
	case x < 0.9:
		n.Budget = mailbox.After(g.dur(10*time.Millisecond, 300*time.Millisecond))
	default:
		n.Budget = mailbox.Brutal
	}
	_, finite := n.Budget.Limit()
	n.ForceBudget = g.dur(10*time.Millisecond, 100*time.Millisecond)
	if !g.large && (g.chance(0.04) || n.Parent == nil && g.chance(0.2)) {
		// The default, a second: Shutdown reads a root's to set its budget.
		n.ForceBudget = 0
	}
	for i := range g.r.IntN(5) {
		s := StepSpec{Name: fmt.Sprintf("s%d", i), Policy: policy.Policy(g.r.IntN(3)), Always: g.chance(0.25)}
		switch x := g.r.Float64(); {
		case x < 0.2:
			s.Do = Quick
		case x < 0.55:
			s.Do = Work
		case x < 0.65:
			s.Do = Fail
		case x < 0.72:
			s.Do = Panic
		case x < 0.87 || !finite:
			s.Do = Slow
		default:
			s.Do = Deaf // only under a finite budget: only a force ends it
		}
		if s.Do != Quick && s.Do != Deaf {
			s.D = g.dur(0, maxD)
		}
		if g.chance(0.4) {
			s.Timeout = g.dur(time.Millisecond, 2*maxD)
		}
		if s.Policy.Deferred() && g.chance(0.4) {
			s.Grace = g.dur(time.Millisecond, maxD)
		}
		n.Steps = append(n.Steps, s)
	}
	n.ChildrenAt = -1
	if len(n.Children) > 0 && g.chance(0.4) {
		n.ChildrenAt = g.r.IntN(len(n.Steps) + 1)
		n.ChildrenPolicy = policy.Policy(g.r.IntN(3))
		if g.chance(0.3) {
			n.ChildrenTimeout = g.dur(5*time.Millisecond, 200*time.Millisecond)
		}
	}
	if len(n.Children) > 1 && len(n.Children) <= 8 && g.chance(0.3) {
		n.Order = mailbox.Reverse // one child at a time: not for a large fan-out
	}
	if g.chance(0.1) {
		n.Capacity = 2 + g.r.IntN(10)
	}
	n.Retries = 1 + g.r.IntN(5)
	n.FailStart = g.chance(0.05)
}

// deaf reports whether a node has a step that only a force ends.
func (n *Node) deaf() bool {
	return slices.ContainsFunc(n.Steps, func(s StepSpec) bool { return s.Do == Deaf })
}

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
		e.Deadline = g.dur(500*time.Millisecond, 1900*time.Millisecond) // under two default force budgets
	default:
		e.Deadline = g.dur(2*time.Second, 4*time.Second)
	}
	if g.chance(0.5) {
		e.Again, e.Gap = true, g.dur(0, 50*time.Millisecond)
	}
}

// Summary says what the scenario holds, in one line.
func (sc *Scenario) Summary() string {
	depth := 0
	for _, n := range sc.Nodes {
		depth = max(depth, n.Depth+1)
	}
	kinds := map[Kind]int{}
	for _, e := range sc.Events {
		kinds[e.Kind]++
	}
	var parts []string
	for k := range kindNames {
		if c := kinds[Kind(k)]; c > 0 && Kind(k) != Burst {
			parts = append(parts, fmt.Sprintf("%d %v", c, Kind(k)))
		}
	}
	return fmt.Sprintf("%d actors in %d roots, %d levels; %d messages in %d bursts; %s; window %v",
		len(sc.Nodes), len(sc.Roots), depth, len(sc.Msgs), kinds[Burst], strings.Join(parts, ", "), sc.Window)
}

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
		fb := n.ForceBudget
		if fb == 0 {
			fb = time.Second
		}
		// Unforced, each step takes its D (a deaf one for ever). Forced, the step
		// that runs gets a force budget, and each Always step after it its Timeout
		// (at most a force budget) and a force budget more if it ignores its ctx.
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
