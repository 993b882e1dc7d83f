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

	Budget       mailbox.Budget
	AbandonAfter time.Duration // 0: lifecycle.DefaultAbandonAfter
	Order        mailbox.Order
	Capacity     int
	Retries      int  // its supervisor's restarts within a second, before it stops the child
	FailStart    bool // the start hook of every incarnation after the first fails
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
	n.AbandonAfter = g.dur(10*time.Millisecond, 100*time.Millisecond)
	if !g.large && (g.chance(0.04) || n.Parent == nil && g.chance(0.2)) {
		// The default, a second: Shutdown reads a root's to set its budget.
		n.AbandonAfter = 0
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
	if len(n.Children) > 1 && len(n.Children) <= 8 && !n.underReverse() && g.chance(0.3) {
		// One child at a time: not for a large fan-out, nor under another reverse
		// order, so that a run's bound (a sum over such children) stays short.
		n.Order = mailbox.Reverse
	}
	if g.chance(0.1) {
		n.Capacity = 2 + g.r.IntN(10)
	}
	n.Retries = 1 + g.r.IntN(5)
	n.FailStart = g.chance(0.05)
}

// underReverse reports whether an ancestor of n stops its children in reverse order.
func (n *Node) underReverse() bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Order == mailbox.Reverse {
			return true
		}
	}
	return false
}

// deaf reports whether a node has a step that only a force ends.
func (n *Node) deaf() bool {
	return slices.ContainsFunc(n.Steps, func(s StepSpec) bool { return s.Do == Deaf })
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
