package chaos

// The runner: one scenario on a real actor system. It spawns the tree, plays the
// traffic and the schedule on goroutines of their own, waits for every instance to
// terminate within the run's bound, then hands what it recorded to the checks.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/internal/testsys"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// run is one scenario being played.
type run struct {
	sc      *Scenario
	sys     *actor.ActorSystem
	begin   time.Time
	ctx     context.Context // cancelled when the run is over: the blocking calls give up
	cancel  context.CancelFunc
	order   atomic.Uint64 // a total order of the events the checks compare
	release chan struct{} // closed at the end: deaf steps return
	client  *actor.PID    // sends the requests that are not futures
	watcher *actor.PID    // watches every instance

	deafSteps sync.WaitGroup // deaf steps blocked
	calls     sync.WaitGroup // the schedule's blocking calls, and the futures' waiters

	mu         sync.Mutex
	instances  []*instance
	byName     map[string]*instance
	latest     []*instance // by node ID
	spawned    []int       // by node ID: instances so far
	live       int
	allGone    chan struct{}
	started    int
	allStarted chan struct{}
	violations []Violation
	stops      []stopCall  // qactor.Stop calls and their results
	shutdowns  []shutCall  // qactor.Shutdown calls
	futures    []futureRes // StopFuture and PoisonFuture results

	ledger []entry // by message ID
}

// entry is what became of one message.
type entry struct {
	handled  atomic.Int32
	answered atomic.Int32
	refused  atomic.Int32
	gone     atomic.Int32 // a dead letter: its target had terminated
	lost     atomic.Int32 // a future that timed out
	by       atomic.Pointer[instance]
	to       atomic.Pointer[instance]
}

type stopCall struct {
	in     *instance
	report *lifecycle.Report
	err    error
}

type shutCall struct {
	roots []*instance
	tree  *qactor.Tree
	err   error
	again bool
}

type futureRes struct {
	in   *instance
	kind Kind
	err  error
}

// Violation is one broken invariant.
type Violation struct {
	Invariant string // its name, for -chaos.known
	Actor     string
	Detail    string
}

func (v Violation) String() string {
	if v.Actor == "" {
		return fmt.Sprintf("[%s] %s", v.Invariant, v.Detail)
	}
	return fmt.Sprintf("[%s] %s: %s", v.Invariant, v.Actor, v.Detail)
}

func (r *run) violate(inv string, in *instance, format string, args ...any) {
	v := Violation{Invariant: inv, Detail: fmt.Sprintf(format, args...)}
	if in != nil {
		v.Actor = in.name
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.violations = append(r.violations, v)
}

// Outcome is what a run found.
type Outcome struct {
	Violations []Violation
	Took       time.Duration
	Instances  int
	Messages   int
	Hung       bool // some instance was still there at the bound
}

// Run plays sc on a fresh actor system and checks every invariant.
func Run(sc *Scenario) Outcome {
	baseline := goleak.IgnoreCurrent()
	r := &run{
		sc: sc, sys: testsys.New(), release: make(chan struct{}),
		byName: map[string]*instance{}, latest: make([]*instance, len(sc.Nodes)), spawned: make([]int, len(sc.Nodes)),
		allGone: make(chan struct{}), allStarted: make(chan struct{}),
		ledger: make([]entry, len(sc.Msgs)),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.begin = time.Now()
	sub := r.sys.EventStream.Subscribe(r.observe)
	r.client = r.sys.Root.Spawn(actor.PropsFromFunc(r.clientReceive))
	r.watcher = r.sys.Root.Spawn(actor.PropsFromFunc(r.watchReceive))

	out := Outcome{}
	if !r.spawnTree() {
		r.violate(invStops, nil, "the tree did not start within %v: %d of %d start hooks ran", startBound(sc), r.startedCount(), len(sc.Nodes))
		out.Hung = true
	} else {
		r.begin = time.Now()
		bound := sc.Bound()
		player := make(chan struct{})
		go func() {
			defer close(player)
			r.play(sc.Events)
			r.play(sc.Final)
		}()
		timer := time.NewTimer(bound)
		select {
		case <-r.allGone:
		case <-timer.C:
			out.Hung = true
			r.hung(bound)
		}
		timer.Stop()
		<-player
	}
	r.cleanup(out.Hung)
	r.cancel()
	r.calls.Wait()
	r.checkAll()
	r.checkCalls(out.Hung)
	r.sys.EventStream.Unsubscribe(sub)
	if err := goleak.Find(baseline); err != nil {
		r.violate(invGoroutines, nil, "a goroutine outlived the run: %v", err)
	}
	out.Violations = r.violations
	out.Took = time.Since(r.begin)
	out.Instances = len(r.instances)
	out.Messages = len(sc.Msgs)
	return out
}

// startBound is how long the tree may take to start.
func startBound(sc *Scenario) time.Duration {
	return 5*time.Second + time.Duration(len(sc.Nodes))*5*time.Millisecond
}

// spawnTree spawns the roots and waits until every node's first start hook ran.
func (r *run) spawnTree() bool {
	for _, n := range r.sc.Roots {
		r.spawn(nil, nil, n)
	}
	t := time.NewTimer(startBound(r.sc))
	defer t.Stop()
	select {
	case <-r.allStarted:
		return true
	case <-t.C:
		return false
	}
}

func (r *run) startedOne() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started++; r.started == len(r.sc.Nodes) {
		close(r.allStarted)
	}
}

func (r *run) startedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started
}

// spawn spawns an instance of n under parent (nil: a root), from parent's start hook.
func (r *run) spawn(c actor.Context, parent *instance, n *Node) {
	r.mu.Lock()
	r.spawned[n.ID]++
	k := r.spawned[n.ID]
	in := &instance{r: r, node: n, parent: parent, budgets: []budgetSet{{b: n.Budget, by: "props"}}}
	r.instances = append(r.instances, in)
	r.latest[n.ID] = in
	r.live++
	r.mu.Unlock()

	name := fmt.Sprintf("n%d.%d", n.ID, k)
	var pid *actor.PID
	var err error
	if c == nil {
		pid, err = r.sys.Root.SpawnNamed(r.props(in), name)
	} else {
		pid, err = c.SpawnNamed(r.props(in), name)
	}
	if err != nil {
		panic(fmt.Sprintf("chaos: spawn %s: %v", name, err))
	}
	in.pid, in.name = pid, pid.Id
	in.mb = mailbox.Of(r.sys, pid)
	r.mu.Lock()
	r.byName[in.name] = in
	r.mu.Unlock()
	r.sys.Root.Send(r.watcher, &watch{in})
}

// current returns the latest instance of node id.
func (r *run) current(id int) *instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latest[id]
}

func (r *run) named(id string) *instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byName[id]
}

type watch struct{ in *instance }

// watchReceive is the watcher's Receive: it watches each instance and counts them out.
func (r *run) watchReceive(c actor.Context) {
	switch m := c.Message().(type) {
	case *watch:
		c.Watch(m.in.pid)
	case *actor.Terminated:
		in := r.named(m.Who.Id)
		if in == nil {
			return
		}
		in.mu.Lock()
		again := in.terminated
		in.terminated, in.terminatedAt = true, time.Now()
		in.mu.Unlock()
		if again {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.live--; r.live == 0 {
			close(r.allGone)
		}
	}
}

type ask struct {
	pid *actor.PID
	id  int
}

// clientReceive is the client's Receive: it sends requests and takes their answers.
func (r *run) clientReceive(c actor.Context) {
	switch m := c.Message().(type) {
	case *ask:
		c.Request(m.pid, &msg{m.id})
	case *answer:
		r.ledger[m.id].answered.Add(1)
	case *mailbox.Refused:
		r.refusal(m, true)
	}
}

// observe is the run's EventStream subscriber.
func (r *run) observe(evt any) {
	switch e := evt.(type) {
	case *mailbox.PhaseChanged:
		if e.To != lifecycle.Stopping {
			return
		}
		in := r.named(e.Actor.Id)
		if in == nil {
			return
		}
		o := r.order.Add(1)
		in.mu.Lock()
		defer in.mu.Unlock()
		in.lastStep, in.stopSteps = "", 0 // a new stop: the diagnosis speaks of this one
		if e.Reason != nil && e.Reason.Kind == lifecycle.Restarting {
			in.restarts++
		} else if in.stopping == 0 {
			in.stopping, in.stoppingWhy = o, e.Reason
		}
	case *mailbox.StepFinished:
		if in := r.named(e.Actor.Id); in != nil {
			in.mu.Lock()
			in.lastStep = e.Step.Name
			in.mu.Unlock()
		}
	case *mailbox.Finished:
		if in := r.named(e.Child.Id); in != nil {
			o := r.order.Add(1)
			in.mu.Lock()
			in.finished = append(in.finished, published{o, time.Now(), e})
			in.mu.Unlock()
		}
	case mailbox.Notice:
		if in := r.named(noticeChild(e).Id); in != nil {
			o := r.order.Add(1)
			in.mu.Lock()
			in.notices = append(in.notices, published{o, time.Now(), e})
			in.mu.Unlock()
		}
	case *actor.DeadLetterEvent:
		switch m := e.Message.(type) {
		case *mailbox.Refused:
			r.refusal(m, false)
		case *msg:
			r.ledger[m.id].gone.Add(1)
		}
	}
}

// refusal records a *Refused, as its sender saw it (an answer, or a dead letter).
func (r *run) refusal(f *mailbox.Refused, request bool) {
	var in *instance
	if f.Actor != nil {
		in = r.named(f.Actor.Id)
	}
	if in != nil {
		in.mu.Lock()
		in.refusedSeen++
		in.mu.Unlock()
	}
	switch {
	case f.Err == nil:
		r.violate(invLedger, in, "a refusal without its error: %v", f)
	case f.Reason == nil && !errors.Is(f.Err, mailbox.ErrFull):
		r.violate(invLedger, in, "a refusal (%v) without the stop's reason: %v", f.Err, f)
	}
	m, ok := f.Message.(*msg)
	if !ok {
		return // a refused PoisonPill
	}
	if spec := r.sc.Msgs[m.id]; spec.Request != request {
		r.violate(invLedger, in, "message %d (request %v) refused as if request %v", m.id, spec.Request, request)
	}
	r.ledger[m.id].refused.Add(1)
}

// play runs the events in order, each at its time from the start of the window.
// It paces the schedule; it orders nothing the checks rely on.
func (r *run) play(events []Event) {
	for _, e := range events {
		if d := time.Until(r.begin.Add(e.At)); d > 0 {
			work(d)
		}
		r.do(e)
	}
}

// do does one event. A call that blocks runs on a goroutine of its own.
func (r *run) do(e Event) {
	if e.Kind == Shutdown {
		r.shutdown(e)
		return
	}
	in := r.current(e.Node)
	in.note(e)
	switch e.Kind {
	case Burst:
		for _, id := range e.Msgs {
			r.send(in, id)
		}
	case RootStop:
		r.sys.Root.Stop(in.pid)
		in.askedToStop("system.Root.Stop")
	case StopFuture:
		f := r.sys.Root.StopFuture(in.pid)
		in.askedToStop("system.Root.StopFuture")
		r.await(in, e.Kind, f)
	case Poison:
		r.sys.Root.Poison(in.pid)
	case PoisonFuture:
		r.await(in, e.Kind, r.sys.Root.PoisonFuture(in.pid))
	case QStop:
		r.calls.Add(1)
		go func() {
			defer r.calls.Done()
			ctx, cancel := r.ctx, context.CancelFunc(func() {})
			if e.Deadline > 0 {
				ctx, cancel = context.WithTimeout(r.ctx, e.Deadline)
			}
			defer cancel()
			rep, err := qactor.Stop(ctx, r.sys, in.pid, errStop)
			r.mu.Lock()
			r.stops = append(r.stops, stopCall{in, rep, err})
			r.mu.Unlock()
		}()
	case Force:
		if err := qactor.Force(r.sys, errForce, in.pid); err != nil && !errors.Is(err, qactor.ErrNotComponent) {
			r.violate(invCalls, in, "Force: %v", err)
		}
	case SetBudget:
		from := time.Now()
		if err := qactor.SetBudget(r.sys, in.pid, e.Budget); err != nil && !errors.Is(err, qactor.ErrNotComponent) {
			r.violate(invCalls, in, "SetBudget(%v): %v", e.Budget, err)
		}
		in.mu.Lock()
		in.budgets = append(in.budgets, budgetSet{e.Budget, "SetBudget", from, time.Now()})
		in.mu.Unlock()
	}
}

// send sends message id to in: a plain send, a request from the client, or a future.
func (r *run) send(in *instance, id int) {
	spec := r.sc.Msgs[id]
	r.ledger[id].to.Store(in)
	switch {
	case !spec.Request:
		r.sys.Root.Send(in.pid, &msg{id})
	case !spec.Future:
		r.sys.Root.Send(r.client, &ask{in.pid, id})
	default:
		f := r.sys.Root.RequestFuture(in.pid, &msg{id}, r.sc.Bound()+5*time.Second)
		r.calls.Add(1)
		go func() {
			defer r.calls.Done()
			res, err := f.Result()
			led := &r.ledger[id]
			switch v := res.(type) {
			case *answer:
				led.answered.Add(1)
			case *mailbox.Refused:
				r.refusal(v, true)
			default:
				switch {
				case errors.Is(err, actor.ErrDeadLetter):
					// counted as gone from the dead letter
				case errors.Is(err, actor.ErrTimeout):
					led.lost.Add(1)
				default:
					r.violate(invLedger, in, "request %d resolved to %T %v, %v", id, res, res, err)
				}
			}
		}()
	}
}

// await keeps what a StopFuture or PoisonFuture resolves to.
func (r *run) await(in *instance, k Kind, f *actor.Future) {
	r.calls.Add(1)
	go func() {
		defer r.calls.Done()
		err := f.Wait()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.futures = append(r.futures, futureRes{in, k, err})
	}()
}

// shutdown calls qactor.Shutdown on the roots of the moment, and again if e says so.
func (r *run) shutdown(e Event) {
	var roots []*instance
	for _, n := range r.sc.Roots {
		in := r.current(n.ID)
		roots = append(roots, in)
		in.note(e)
		if e.Deadline > 0 {
			// Shutdown sets the budget as it begins; when is not known closer than this.
			now := time.Now()
			in.mu.Lock()
			in.budgets = append(in.budgets, budgetSet{mailbox.After(e.Deadline), "Shutdown", now, now.Add(r.slack())})
			in.mu.Unlock()
		}
	}
	pids := make([]*actor.PID, len(roots))
	for i, in := range roots {
		pids[i] = in.pid
	}
	call := func(again bool) {
		defer r.calls.Done()
		ctx, cancel := r.ctx, context.CancelFunc(func() {})
		if e.Deadline > 0 {
			ctx, cancel = context.WithTimeout(r.ctx, e.Deadline)
		}
		defer cancel()
		tree, err := qactor.Shutdown(ctx, r.sys, errShutdown, pids...)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.shutdowns = append(r.shutdowns, shutCall{roots, tree, err, again})
	}
	r.calls.Add(1)
	go call(false)
	if e.Again {
		r.calls.Add(1)
		go func() {
			work(e.Gap)
			call(true)
		}()
	}
}

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
		fmt.Fprintf(&b, ", %d user messages queued, %d refused", in.mb.UserMessageCount(), in.mb.Refused())
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
	fmt.Fprintf(&b, "; plan %s; budget %v, force budget %v, capacity %d, %d children (%v)", planString(n), n.Budget, n.ForceBudget, n.Capacity, len(n.Children), n.Order)
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

// cleanup ends the run: after a hang it forces every instance still there; then it
// checks that every step still blocked was abandoned and named by its report,
// releases them, and stops the run's own actors.
func (r *run) cleanup(hung bool) {
	if hung {
		r.mu.Lock()
		all := slices.Clone(r.instances)
		r.mu.Unlock()
		for _, in := range all {
			_ = qactor.Force(r.sys, errFinalStop, in.pid)
		}
		t := time.NewTimer(10 * time.Second)
		select {
		case <-r.allGone:
		case <-t.C:
			r.violate(invStops, nil, "even forced, instances were still there 10s later: the run leaks them")
		}
		t.Stop()
	}
	r.checkAbandoned()
	close(r.release)
	done := make(chan struct{})
	go func() {
		r.deafSteps.Wait()
		close(done)
	}()
	t := time.NewTimer(10 * time.Second)
	select {
	case <-done:
	case <-t.C:
		r.violate(invGoroutines, nil, "deaf steps still blocked 10s after their release")
	}
	t.Stop()
	for _, pid := range []*actor.PID{r.client, r.watcher} {
		if err := r.sys.Root.StopFuture(pid).Wait(); err != nil {
			r.violate(invCalls, nil, "stopping the run's own actor %v: %v", pid, err)
		}
	}
}
