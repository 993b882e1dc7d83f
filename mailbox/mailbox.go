package mailbox

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
)

// Mailbox is a protoactor-go mailbox that gives its actor a graceful Stopping phase.
// Make one per actor with Producer; protoactor calls its methods. The methods of its
// own (Stop, StopBy, Force, SetBudget, Phase, Snapshot, Ticket, Watch, ...) are safe from any goroutine.
type Mailbox struct {
	// The message path. Everything here is read on every message.
	user      queue
	sys       queue
	userCount atomic.Int32
	sysCount  atomic.Int32
	sched     atomic.Int32 // idle or scheduled
	paused    atomic.Int32 // suspendedBit | heldBit: user messages wait
	admission atomic.Int32 // open, holding, refusing, closed
	gen       atomic.Uint32
	finalized atomic.Bool // protoactor has had the Stop or Restart: see PostSystemMessage

	invoker    actor.MessageInvoker
	dispatcher actor.Dispatcher
	processFn  func() // m.process, made once: a method value allocates each time it is taken
	cfg        *shared
	settings   *Settings    // the system's, read when the actor is spawned
	metrics    *instruments // the system's, or nil: no meter provider
	phase      atomic.Pointer[lifecycle.State]
	seq        uint64 // creation order, for stopping children in reverse start order
	refused    atomic.Int64

	// The parent's Quiesce mailbox, once the parent's Children step has asked this
	// actor to stop: notices go straight to it, as protoactor's ActorProcess would
	// post them, without a registry lookup each.
	parentMB atomic.Pointer[Mailbox]
	// pump, while the Children step waits, is signalled as system messages arrive,
	// so that the step hands the actor its children's notices as they come.
	pump atomic.Pointer[chan struct{}]
	// waiting is what the Children step waits for, counted by the goroutine that
	// runs the step (an abandoned step's goroutine no longer does: see system).
	waiting atomic.Pointer[awaiting]
	// watchers hear every notice, as the parent does (Watch); copied on write, under mu.
	watchers atomic.Pointer[[]*actor.PID]

	mu      sync.Mutex
	stop    atomic.Pointer[stopState] // the stop under way or done; nil while running
	budget  *Budget                   // set by SetBudget; nil means cfg.Budget
	failure any                       // the last panic escalated: the cause of a Restart
}

const (
	idle int32 = iota
	scheduled
)

// Admission says what a posted user message meets.
const (
	open     int32 = iota // Starting, Running: queued
	holding               // a restart's plan: queued for the next incarnation
	refusing              // stopping: refused, but for notices
	closed                // stopped: refused
)

// Bits of paused.
const (
	suspendedBit int32 = 1 << iota // protoactor suspended the mailbox after a failure
	heldBit                        // a restart's plan runs: user messages wait for the new incarnation
)

var created atomic.Uint64

func newMailbox(s *shared) *Mailbox {
	m := &Mailbox{cfg: s, seq: created.Add(1), settings: defaults}
	m.processFn = m.process
	m.phase.Store(new(lifecycle.State))
	return m
}

// A marker travels in the user queue in place of a message. It is a distinct
// pointer, so that spotting one costs a comparison.
var poisonPill = new(marker) // user queue: a PoisonPill, intercepted when posted

type marker struct{ _ byte }

// control is a lifecycle message to self, in the system queue.
type control uint8

const (
	ctlBegin    control = iota + 1 // build the execution
	ctlStep                        // run the next step
	ctlDrainCut                    // a force: stop draining now
	ctlHandOver                    // the plan is over: give protoactor its Stop or Restart
	ctlHeard                       // a plain parent has heard Finished, or waiting for it is over
)

// PostUserMessage queues msg, or refuses it when the actor is stopping or the queue is
// full. protoactor calls it from the sender's goroutine.
func (m *Mailbox) PostUserMessage(msg any) {
	if m.cfg.Middleware != nil {
		m.posted(msg)
	}
	switch v := msg.(type) {
	case *actor.MessageEnvelope:
		switch inner := v.Message.(type) {
		case Notice:
			m.postNotice(msg, inner)
			return
		case heard:
			return // protoactor's auto-response to a Finished: see postFinished
		case actor.MessageBatch:
			for _, msg := range inner.GetMessages() {
				m.PostUserMessage(msg)
			}
		case *actor.PoisonPill:
			msg = poisonPill
		}
	case *actor.PoisonPill:
		msg = poisonPill
	case heard:
		return
	case Notice:
		m.postNotice(msg, v)
		return
	case actor.MessageBatch:
		for _, inner := range v.GetMessages() {
			m.PostUserMessage(inner)
		}
	}
	if m.admission.Load() != open {
		m.postWhileStopping(msg)
		return
	}
	switch m.user.push(msg, m.capacityFor(msg)) {
	case pushed:
		m.userCount.Add(1)
		m.schedule()
	case full:
		m.refuse(msg, ErrFull, nil)
	default:
		m.postWhileStopping(msg) // the stop ended while we looked
	}
}

// PostSystemMessage queues a system message. Stop and Restart never reach the actor
// as they are: the first begins the plan, each later one is a cancellation request.
func (m *Mailbox) PostSystemMessage(msg any) {
	if m.cfg.Middleware != nil {
		m.posted(msg)
	}
	switch msg.(type) {
	case *actor.Stop:
		if m.stop.Load() != nil && m.parentFinalizing() && m.stoppingForGood() {
			// protoactor repeats a parent's stop to every child still there when it
			// finalizes the parent: for a child already stopping, that is no new
			// request. For one that restarts, it is: the restart becomes a stop.
			return
		}
		m.request(stopKind, nil, nil, time.Time{}, 0)
		return
	case *actor.Restart:
		m.request(restartKind, nil, nil, time.Time{}, 0)
		return
	}
	m.pushSys(msg)
}

// parentFinalizing reports whether the parent is a Quiesce actor whose plan is over
// and that protoactor is finalizing.
func (m *Mailbox) parentFinalizing() bool {
	if pm := m.parentMB.Load(); pm != nil {
		return pm.finalized.Load()
	}
	c := m.actx()
	if c == nil || c.Parent() == nil {
		return false
	}
	p := Of(c.ActorSystem(), c.Parent())
	return p != nil && p.finalized.Load()
}

// capacityFor returns the bound msg meets in the user queue: Capacity, but for a
// PoisonPill, which is a stop and not work: refused for a full queue, it would
// leave the actor running.
func (m *Mailbox) capacityFor(msg any) int {
	if msg == poisonPill {
		return 0
	}
	return m.cfg.Capacity
}

// postNotice queues a notice in the system queue, where a child's Terminated comes
// too: the actor hears its children's notices in the order they were sent, Finished
// before Terminated, and between the steps of its own plan. A Finished report is
// recorded at once for the stop under way, so that it reaches this actor's report
// even if Receive never runs again. Capacity does not bound notices.
func (m *Mailbox) postNotice(msg any, n Notice) {
	switch n := n.(type) {
	case *Finished:
		if st := m.stop.Load(); st != nil {
			st.watch().addReport(n.Report) // a restart's report has its children's too
		}
	case *Progressed:
		if st := m.stop.Load(); st != nil {
			st.watch().childProgress(n)
		}
	}
	m.pushSys(msg)
}

func (m *Mailbox) pushSys(msg any) {
	m.sys.push(msg, 0)
	m.sysCount.Add(1)
	m.schedule()
	if c := m.pump.Load(); c != nil {
		select { // the Children step waits, and takes notices meanwhile: see pumpNotices
		case *c <- struct{}{}:
		default:
		}
	}
}

// RegisterHandlers is called by protoactor when it spawns the actor.
func (m *Mailbox) RegisterHandlers(invoker actor.MessageInvoker, dispatcher actor.Dispatcher) {
	m.invoker = invoker
	m.dispatcher = dispatcher
	if c := m.actx(); c != nil { // else the defaults newMailbox set
		m.settings = settingsOf(c.ActorSystem())
		m.metrics = instrumentsOf(c.ActorSystem())
	}
}

// actx returns the actor's protoactor context: the invoker, which protoactor makes
// an actor.Context (asserted when needed rather than kept twice: every idle actor
// would carry the copy).
func (m *Mailbox) actx() actor.Context {
	c, _ := m.invoker.(actor.Context)
	return c
}

// Start is called by protoactor once the actor is registered.
func (m *Mailbox) Start() {
	for _, mw := range m.cfg.Middleware {
		mw.MailboxStarted()
	}
}

// posted and received call the middleware's MessagePosted and MessageReceived.
func (m *Mailbox) posted(msg any) {
	for _, mw := range m.cfg.Middleware {
		mw.MessagePosted(msg)
	}
}

// received is not inlined: its loop would take room in run's frame, which every
// message's handling, and a stop's, sits on.
//
//go:noinline
func (m *Mailbox) received(msg any) {
	for _, mw := range m.cfg.Middleware {
		mw.MessageReceived(msg)
	}
}

// UserMessageCount returns the number of user messages queued.
func (m *Mailbox) UserMessageCount() int { return int(m.userCount.Load()) }

// Phase returns the phase of the current incarnation.
func (m *Mailbox) Phase() lifecycle.Phase { return m.phase.Load().Phase() }

// RefusedCount returns how many messages this mailbox has refused in its life.
func (m *Mailbox) RefusedCount() int64 { return m.refused.Load() }

func (m *Mailbox) schedule() {
	if m.sched.CompareAndSwap(idle, scheduled) {
		m.dispatcher.Schedule(m.processFn)
	}
}

// process runs on the dispatcher's goroutine until the queues are empty. A goroutine
// left behind by an abandoned step finds the generation changed and leaves the
// mailbox to the goroutine that replaced it.
func (m *Mailbox) process() {
	if m.stop.Load() != nil {
		growStack(0)
	}
	gen := m.gen.Load()
	for {
		if !m.run(gen) {
			return
		}
		m.sched.Store(idle)
		if m.sysCount.Load() == 0 && (m.paused.Load() != 0 || m.userCount.Load() == 0) {
			if m.cfg.Middleware != nil && m.userCount.Load() == 0 && m.paused.Load() == 0 {
				for _, mw := range m.cfg.Middleware {
					mw.MailboxEmpty()
				}
			}
			return
		}
		if !m.sched.CompareAndSwap(idle, scheduled) {
			return
		}
	}
}

// run handles messages, system ones first, until both queues are empty or user
// messages are paused. It reports false when this goroutine no longer owns the mailbox.
func (m *Mailbox) run(gen uint32) (owner bool) {
	var msg any
	defer func() {
		if r := recover(); r != nil {
			m.failed(r, msg)
			owner = m.gen.Load() == gen // still ours: let process go on
		}
	}()
	throughput := m.dispatcher.Throughput()
	for i := 0; ; i++ {
		if i > throughput {
			i = 0
			runtime.Gosched()
		}
		if m.sysCount.Load() > 0 {
			if msg = m.sys.pop(); msg != nil {
				m.sysCount.Add(-1)
				if !m.system(msg, gen) {
					return false
				}
				if m.cfg.Middleware != nil {
					if _, ctl := msg.(control); !ctl {
						m.received(msg)
					}
				}
				continue
			}
		}
		if m.paused.Load() != 0 {
			return true
		}
		if msg = m.user.pop(); msg == nil {
			return true
		}
		m.userCount.Add(-1)
		if m.admission.Load() == open && msg != poisonPill {
			m.invoker.InvokeUserMessage(msg)
		} else {
			m.userWhileStopping(msg)
		}
		if m.cfg.Middleware != nil {
			m.received(msg)
		}
	}
}

// system handles one system message on the actor's goroutine.
func (m *Mailbox) system(msg any, gen uint32) bool {
	switch v := msg.(type) {
	case *actor.SuspendMailbox:
		m.paused.Or(suspendedBit)
		// A suspended actor takes no more messages: a drain under way ends here, or it
		// would wait for ever. (A panic in Receive ends it through failed too; a
		// failure a supervisor escalates suspends the actor with no panic of its own.)
		if st := m.stop.Load(); st != nil {
			m.endDrain(st)
		}
	case *actor.ResumeMailbox:
		m.paused.And(^suspendedBit)
		m.resumed()
	case *actor.Started:
		m.invoker.InvokeSystemMessage(v)
		m.started()
	case *actor.Terminated:
		if a := m.waiting.Load(); a != nil && a.gen == gen {
			a.terminated(v.Who) // the Children step waits for it
		}
		if m.beforeTerminated(v) {
			return true // held until the parent has heard this actor's Finished
		}
		m.invoker.InvokeSystemMessage(v)
		m.afterTerminated()
	case Notice, *actor.MessageEnvelope: // only notices come in an envelope here
		m.invoker.InvokeUserMessage(msg)
	case control:
		switch v {
		case ctlHandOver:
			m.handOver()
			return true
		case ctlHeard:
			m.parentHeard()
			return true
		}
		return m.control(v, gen)
	default:
		m.invoker.InvokeSystemMessage(msg)
	}
	return true
}

// failed escalates a panic the way protoactor's own mailbox does, and remembers it as
// the cause of the Restart that may follow. While the actor stops, a panic in its
// Receive (a drained message) is escalated too: the plan goes on regardless.
func (m *Mailbox) failed(reason, msg any) {
	m.mu.Lock()
	m.failure = reason
	m.mu.Unlock()
	m.invoker.EscalateFailure(reason, msg)
	if m.stop.Load() != nil {
		m.pushSys(ctlDrainCut) // a suspended mailbox takes no more messages: end the drain
	}
}

// growStack grows the calling goroutine's stack from its initial 2 KB to 4 KB. The
// engine's path to a step fits in 2 KB (lifecycle.Execution.Advance and policy's
// runInline keep their frames small for that), but the hand-over to protoactor does
// not: protoactor's stop handlers (Stopping and Stopped through Receive, the
// Terminated to the parent) sit under the run loop, and its InvokeUserMessage alone
// takes 400 bytes of frame. A stack grows by copying every frame on it, looking up
// each frame's pointer maps: the deeper it is when it outgrows its stack, the more
// that costs. Grown here, at the top of process, the copy has two frames to move
// instead of a dozen.
//
//go:noinline
func growStack(i int) byte {
	var pad [2048]byte
	return pad[i&(len(pad)-1)]
}
