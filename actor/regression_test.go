package actor_test

// Regression tests for three faults examples/workertree ran into. Each pins one down
// on a small actor system in a synctest bubble, where synctest.Wait is the sync
// point: everything that can happen without the clock moving has happened.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// crashy panics on "crash", and calls onRestarting when protoactor restarts it.
type crashy struct{ onRestarting func() }

func (c *crashy) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case string:
		panic("crash")
	case *actor.Restarting:
		c.onRestarting()
	}
}

// A stop that arrives once a restart's plan is over, before the next incarnation
// is resumed (while protoactor delivers *actor.Restarting and *actor.Started), stops
// the next incarnation as soon as it is alive; a force in that window forces it.
// It used to be dropped: a parent's Children step waited for a child that never
// stopped, and qactor.Stop returned the restart's report while the child ran on.
func TestAStopAtTheEndOfARestartStopsTheNextIncarnation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		var pid *actor.PID
		var once sync.Once
		child := qactor.Component[*crashy]{New: func() *crashy {
			return &crashy{onRestarting: func() {
				once.Do(func() { sys.Root.Stop(pid) }) // protoactor's Stop, in the window
			}}
		}}.MustProps()
		pidc, gone := make(chan *actor.PID, 1), make(chan *actor.Terminated, 1)
		parent := actor.PropsFromFunc(func(c actor.Context) {
			switch m := c.Message().(type) {
			case *actor.Started:
				pidc <- c.Spawn(child)
			case *actor.Terminated:
				gone <- m
			}
		}, actor.WithSupervisor(actor.NewOneForOneStrategy(10, time.Minute, actor.DefaultDecider)))
		ppid := sys.Root.Spawn(parent)
		pid = <-pidc
		sys.Root.Send(pid, "crash")
		synctest.Wait()

		select {
		case <-gone:
		default:
			phase, _ := qactor.PhaseOf(sys, pid)
			assert.Fail(t, "the stop was dropped", "asked to stop during its restart, the component is %v", phase)
		}
		require.NoError(t, sys.Root.StopFuture(ppid).Wait())
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
	})
}

// watcher watches another actor and stops in two steps.
type watcher struct {
	other *actor.PID
	hold  chan struct{}
}

func (w *watcher) Receive(actor.Context) {}

// A stop's Done closes only after protoactor has had its Stop, so the report always
// exists by then. A *actor.Terminated handled between the plan's end and the
// hand-over (here a watched actor's, placed in the window by a subscriber to the
// last StepFinished event) used to close Done with no report: qactor.Stop returned
// (nil, nil), and Shutdown a tree without that root.
func TestAStopIsNotOverBeforeItsReportExists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		other := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
		w := &watcher{other: other, hold: make(chan struct{})}
		props := qactor.Component[*watcher]{
			New:   func() *watcher { return w },
			Start: []func(*watcher, actor.Context) error{func(w *watcher, c actor.Context) error { c.Watch(w.other); return nil }},
			Steps: []qactor.Step[*watcher]{
				// A second request, deferred and raised again, skips "after": the last
				// RunNext then publishes StepFinished for it on the actor's goroutine.
				{Name: "hold", Policy: policy.DeferReraise, Run: func(w *watcher, ctx context.Context) error { <-w.hold; return nil }},
				{Name: "after", Run: func(*watcher, context.Context) error { return nil }},
			},
		}.MustProps()
		pid := sys.Root.Spawn(props)
		synctest.Wait()

		type result struct {
			rep *lifecycle.Report
			err error
		}
		res := make(chan result, 1)
		go func() {
			rep, err := qactor.Stop(context.Background(), sys, pid, errors.New("first"))
			res <- result{rep, err}
		}()
		synctest.Wait() // "hold" runs
		ticket := mailbox.Of(sys, pid).Ticket()

		var reportAtStopped *lifecycle.Report
		var stoppedSeen, placed bool
		sub := sys.EventStream.Subscribe(func(evt any) {
			switch e := evt.(type) {
			case *mailbox.StepFinished:
				if e.Actor.Equal(pid) && e.Step.Name == "after" {
					assert.NoError(t, sys.Root.StopFuture(other).Wait()) // its Terminated is now posted to pid
					placed = true
				}
			case *mailbox.PhaseChanged:
				if e.Actor.Equal(pid) && e.To == lifecycle.Stopped {
					stoppedSeen, reportAtStopped = true, ticket.Report()
				}
			}
		})
		defer sys.EventStream.Unsubscribe(sub)
		sys.Root.Stop(pid) // the second request: deferred, then raised again
		close(w.hold)
		r := <-res
		synctest.Wait()

		require.True(t, placed, "the Terminated was not put in the window this test is about")
		require.True(t, stoppedSeen)
		assert.NotNil(t, reportAtStopped, "the phase is Stopped, and the stop's Done closed, before the report exists")
		assert.NoError(t, r.err)
		assert.NotNil(t, r.rep, "qactor.Stop returned no report, and no error")
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
	})
}

// counter counts the ints it is sent.
type counter struct{ n *atomic.Int64 }

func (c *counter) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(int); ok {
		c.n.Add(1)
	}
}

// A graceful stop drains everything queued before it. The actor's goroutine may
// take a message between the first request (admission changes on the requester's
// goroutine) and the begin message reaching the system queue; that message used to
// end the drain early, and the rest was refused: "1 drained, N refused".
//
// The ledger, each time: the 50 messages sent before the stop are handled, each
// once, none refused, all before the first step; the report's drained ones are
// those handled after the stop began, so at most 50 less those handled before
// Stop was called.
func TestAStopDrainsEveryMessageQueuedBeforeIt(t *testing.T) {
	sys := newSystem()
	for i := range 3000 {
		var n atomic.Int64
		atStep := make(chan int64, 1)
		pid := sys.Root.Spawn(qactor.Component[*counter]{
			New: func() *counter { return &counter{&n} },
			Steps: []qactor.Step[*counter]{{Name: "count", Run: func(c *counter, _ context.Context) error {
				atStep <- c.n.Load()
				return nil
			}}},
		}.MustProps())
		mb := mailbox.Of(sys, pid)
		require.NotNil(t, mb)
		for j := range 50 {
			sys.Root.Send(pid, j)
		}
		before := n.Load()
		rep, err := qactor.Stop(within(t, "the stop"), sys, pid, nil)
		require.NoError(t, err)
		require.NotNil(t, rep)
		handled := recv(t, atStep, "the step to run")
		// (Drained is checked exactly where the test knows what was queued when the
		// stop began: mailbox's TestMessagesQueuedBeforeTheStopAreDrainedInOrderBeforeTheFirstStep.)
		ok := handled == 50 && n.Load() == 50 && rep.Refused == 0 && mb.RefusedCount() == 0 &&
			rep.Drained <= 50-int(before)
		if !ok {
			assert.Fail(t, "the messages queued before the stop were not all drained, each once",
				"stop %d: 50 sent before it, %d handled before Stop, %d by the first step, %d in all; "+
					"report: %d drained, %d refused; the mailbox refused %d",
				i+1, before, handled, n.Load(), rep.Drained, rep.Refused, mb.RefusedCount())
			return
		}
	}
}
