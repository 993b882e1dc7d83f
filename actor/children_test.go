package actor_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// family spawns a parent whose start hook spawns n children; each child records its
// one step, with the reason it got.
func family(t *testing.T, sys *actor.ActorSystem, tr *trail, n int, parentSteps []qactor.Step[*worker], order mailbox.Order) *actor.PID {
	t.Helper()
	child := func(i int) *actor.Props {
		return mustProps(t, qactor.Component[*worker]{
			New: func() *worker { return &worker{name: fmt.Sprintf("c%d", i), trail: tr} },
			Steps: []qactor.Step[*worker]{{Name: "close", Policy: policy.DeferFlag, Run: func(w *worker, ctx context.Context) error {
				w.trail.add(w.name + " close: " + lifecycle.ReasonFrom(ctx).Error())
				return nil
			}}},
		})
	}
	spawned := make(chan struct{})
	parent := mustProps(t, qactor.Component[*worker]{
		New:   func() *worker { return &worker{name: "p", trail: tr} },
		Steps: parentSteps,
		Order: order,
		Start: []func(*worker, actor.Context) error{func(_ *worker, c actor.Context) error {
			for i := 1; i <= n; i++ {
				c.SpawnNamed(child(i), fmt.Sprintf("c%d", i))
			}
			close(spawned)
			return nil
		}},
	})
	pid, err := sys.Root.SpawnNamed(parent, "p")
	require.NoError(t, err)
	recv(t, spawned, "the parent to spawn its children")
	return pid
}

func TestChildrenStopFirstWhenThePlanDoesNotPlaceThem(t *testing.T) {
	sys := newSystem()
	tr := &trail{}
	pid := family(t, sys, tr, 2, []qactor.Step[*worker]{step("close", policy.Plain, nil, false)}, mailbox.Parallel)

	rep, err := qactor.Stop(within(t, "the family to stop"), sys, pid, errors.New("deploy"))
	require.NoError(t, err)

	events := tr.all()
	parentClose := index(events, "p close start")
	for _, c := range []string{"c1", "c2"} {
		i := index(events, c+" close: parent stopping: stop requested: deploy")
		require.GreaterOrEqual(t, i, 0, "%s got the parent's reason as its cause: %v", c, events)
		assert.Less(t, i, parentClose, "%s stops before the parent's own first step", c)
	}
	require.Len(t, rep.Steps, 2)
	assert.Equal(t, "children", rep.Steps[0].Name, "the implicit step shows in the report")
	assert.Equal(t, lifecycle.Completed, rep.Steps[0].Status)
	require.Len(t, rep.Children, 2, "the children's reports are nested in the parent's")
	for _, c := range rep.Children {
		assert.Equal(t, lifecycle.ParentStopping, c.Reason.Kind)
		assert.Contains(t, []string{"p/c1", "p/c2"}, c.Actor)
	}
}

func TestChildrenStopWhereThePlanPlacesThem(t *testing.T) {
	sys := newSystem()
	tr := &trail{}
	pid := family(t, sys, tr, 2, []qactor.Step[*worker]{
		step("flush", policy.DeferFlag, nil, false),
		qactor.Children[*worker](policy.DeferFlag, 0),
		step("close", policy.Plain, nil, false),
	}, mailbox.Parallel)

	rep, err := qactor.Stop(within(t, "the family to stop"), sys, pid, nil)
	require.NoError(t, err)

	events := tr.all()
	flushEnd, closeStart := index(events, "p flush end"), index(events, "p close start")
	for _, c := range []string{"c1", "c2"} {
		i := index(events, c+" close: parent stopping: stop requested")
		assert.Greater(t, i, flushEnd, "%s stops after flush", c)
		assert.Less(t, i, closeStart, "%s stops before close", c)
	}
	names := []string{}
	for _, s := range rep.Steps {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"flush", "children", "close"}, names, "no second, implicit children step")
}

func TestReverseOrderStopsChildrenOneAtATimeLastStartedFirst(t *testing.T) {
	sys := newSystem()
	tr := &trail{}
	pid := family(t, sys, tr, 4, []qactor.Step[*worker]{step("close", policy.Plain, nil, false)}, mailbox.Reverse)

	_, err := qactor.Stop(within(t, "the family to stop"), sys, pid, nil)
	require.NoError(t, err)

	var order []string
	for _, e := range tr.all() {
		for _, c := range []string{"c1", "c2", "c3", "c4"} {
			if e == c+" stopped" {
				order = append(order, c)
			}
		}
	}
	assert.Equal(t, []string{"c4", "c3", "c2", "c1"}, order)
	// One at a time: each child has stopped before the next one begins its plan.
	events := tr.all()
	for _, pair := range [][2]string{{"c4", "c3"}, {"c3", "c2"}, {"c2", "c1"}} {
		assert.Less(t, index(events, pair[0]+" stopped"), index(events, pair[1]+" close: parent stopping: stop requested"))
	}
}

func index(events []string, e string) int {
	for i, x := range events {
		if x == e {
			return i
		}
	}
	return -1
}
