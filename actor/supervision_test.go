package actor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// crasher panics on "crash" and records everything else. With a heldBy, it
// records which incarnation (its id) handled "held".
type crasher struct {
	worker
	id     int32
	heldBy *atomic.Int32
}

func (c *crasher) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(string); ok {
		switch {
		case m == "crash":
			panic(errors.New("boom"))
		case m == "held" && c.heldBy != nil:
			c.heldBy.Store(c.id)
		}
	}
	c.worker.Receive(ctx)
}

// events subscribes to the system's EventStream and hands over every value of type T.
func events[T any](sys *actor.ActorSystem) (<-chan T, func()) {
	ch := make(chan T, 1024)
	sub := sys.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(T); ok {
			ch <- e
		}
	})
	return ch, func() { sys.EventStream.Unsubscribe(sub) }
}

func TestARestartDirectiveRunsThePlanThenStartsANewIncarnationThatKeepsTheQueue(t *testing.T) {
	sys := newSystem()
	tr := &trail{}
	var made, heldBy atomic.Int32
	gate, inStep := make(chan struct{}), make(chan struct{}, 1)
	child := qactor.Component[*crasher]{
		New: func() *crasher {
			n := made.Add(1)
			return &crasher{worker: worker{name: "c", trail: tr}, id: n, heldBy: &heldBy}
		},
		Steps: []qactor.Step[*crasher]{{Name: "handback", Policy: policy.DeferFlag, Run: func(c *crasher, ctx context.Context) error {
			r := lifecycle.ReasonFrom(ctx)
			c.trail.add("handback by incarnation " + string('0'+rune(c.id)) + ": " + r.Error())
			inStep <- struct{}{}
			<-gate
			return nil
		}}},
		Start: []func(*crasher, actor.Context) error{func(c *crasher, _ actor.Context) error {
			c.trail.add("start hook " + string('0'+rune(c.id)))
			return nil
		}},
	}
	childProps := child.MustProps()
	finished, stop := events[*mailbox.Finished](sys)
	defer stop()

	pidc := make(chan *actor.PID, 1)
	parent := actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			pidc <- c.Spawn(childProps)
		}
	}, actor.WithSupervisor(actor.NewOneForOneStrategy(3, time.Minute, actor.DefaultDecider)))
	ppid := sys.Root.Spawn(parent)
	pid := recv(t, pidc, "the parent to spawn its child")
	mb := mailbox.Of(sys, pid)
	require.NotNil(t, mb)
	sys.Root.Send(pid, "crash")
	recv(t, inStep, "the restart's step to begin")
	sys.Root.Send(pid, "held")
	assert.Equal(t, 1, mb.UserMessageCount(), "a message sent during the restart is queued for the new incarnation")
	assert.Zero(t, mb.RefusedCount(), "and not refused")
	close(gate)

	f := recv(t, finished, "the Finished notice of the restart")
	assert.Equal(t, lifecycle.Restarting, f.Report.Reason.Kind)
	assert.ErrorContains(t, f.Report.Reason, "boom", "the restart's reason carries the failure")
	res, err := qactor.Result(sys.Root.RequestFuture(pid, "after", bound))
	require.NoError(t, err, "the answer of the new incarnation")
	assert.Equal(t, "ok after", res)
	assert.Equal(t, int32(2), heldBy.Load(), "the new incarnation handled the held message")
	assert.Equal(t, []string{
		"start hook 1",
		"handback by incarnation 1: restart: boom",
		"start hook 2",
		"c got held", // kept for the new incarnation, and handled by it
		"c got after",
	}, tr.all())
	assert.Equal(t, int32(2), made.Load())
	phase, _ := qactor.PhaseOf(sys, pid)
	assert.Equal(t, lifecycle.Running, phase)

	_, err = qactor.Stop(within(t, "a plain actor to stop"), sys, ppid, nil)
	assert.ErrorIs(t, err, qactor.ErrNotComponent, "the parent is a plain protoactor actor")
	require.NoError(t, sys.Root.StopFuture(ppid).Wait(), "the parent to stop")
}
