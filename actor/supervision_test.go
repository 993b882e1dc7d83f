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

// crasher panics on "crash" and records everything else.
type crasher struct {
	worker
	id int32
}

func (c *crasher) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(string); ok && m == "crash" {
		panic(errors.New("boom"))
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
	var made atomic.Int32
	gate, inStep := make(chan struct{}), make(chan struct{}, 1)
	child := qactor.Component[*crasher]{
		New: func() *crasher {
			n := made.Add(1)
			return &crasher{worker: worker{name: "c", trail: tr}, id: n}
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
	pid := <-pidc
	sys.Root.Send(pid, "crash")
	<-inStep // the restart's plan runs
	sys.Root.Send(pid, "held")
	assert.NotContains(t, tr.all(), "c got held", "a message sent during the restart waits for the new incarnation")
	close(gate)

	f := <-finished
	assert.Equal(t, lifecycle.Restarting, f.Report.Reason.Kind)
	assert.ErrorContains(t, f.Report.Reason, "boom", "the restart's reason carries the failure")
	res, err := qactor.Result(sys.Root.RequestFuture(pid, "after", time.Second))
	require.NoError(t, err)
	assert.Equal(t, "ok after", res)
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

	_, err = qactor.Stop(context.Background(), sys, ppid, nil)
	assert.ErrorIs(t, err, qactor.ErrNotComponent, "the parent is a plain protoactor actor")
	require.NoError(t, sys.Root.StopFuture(ppid).Wait())
}
