package chaos

// The runner: one scenario on a real actor system. It spawns the tree, plays the
// traffic and the schedule on goroutines of their own, waits for every instance to
// terminate within the run's bound, then hands what it recorded to the checks.

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	case *flush:
		c.Respond(m)
	}
}

// flush asks the client to answer once it has handled everything before it.
type flush struct{}

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
		if in := r.named(e.Actor.Id); in != nil {
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
	// The client may still hold requests to send, and answers to count: a message it
	// answers after them says it has handled them all.
	if _, err := r.sys.Root.RequestFuture(r.client, &flush{}, 10*time.Second).Result(); err != nil {
		r.violate(invCalls, nil, "the client did not drain its queue: %v", err)
	}
	for _, pid := range []*actor.PID{r.client, r.watcher} {
		if err := r.sys.Root.StopFuture(pid).Wait(); err != nil {
			r.violate(invCalls, nil, "stopping the run's own actor %v: %v", pid, err)
		}
	}
}
