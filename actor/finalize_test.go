package actor_test

import (
	"context"
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

// When protoactor finalizes a parent whose plan is over, it sends Stop to every
// child still there. For a child already stopping (its parent's Children step gave
// up waiting for it), that is no new request: the child's step is not asked again,
// nobody hears of a request, and the child stops when its own plan is over.
func TestTheStopProtoactorRepeatsWhenAParentFinalizesIsNoRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		deferred, unsubscribe := events[*mailbox.DeferredCancel](sys)
		defer unsubscribe()
		child := mustProps(t, qactor.Component[*worker]{
			New:   func() *worker { return &worker{name: "c", trail: &trail{}} },
			Steps: []qactor.Step[*worker]{sleepy("drain", policy.DeferFlag, time.Minute)},
		})
		pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
			New:   func() *worker { return &worker{name: "p", trail: &trail{}} },
			Steps: []qactor.Step[*worker]{qactor.Children[*worker](policy.Plain, time.Second)},
			Start: []func(*worker, actor.Context) error{func(_ *worker, c actor.Context) error {
				c.Spawn(child)
				return nil
			}},
		}))
		synctest.Wait()
		start := time.Now()
		rep, err := qactor.Stop(context.Background(), sys, pid, nil)
		require.NoError(t, err)

		assert.Equal(t, time.Minute, time.Since(start), "the parent stopped once its child had")
		require.Len(t, rep.Steps, 1)
		assert.Equal(t, lifecycle.TimedOut, rep.Steps[0].Status, "the Children step gave up at 1 s")
		require.Len(t, rep.Children, 1)
		c := rep.Children[0]
		assert.Zero(t, c.StopRequests, "protoactor's repeated Stop is no request")
		require.Len(t, c.Steps, 1)
		assert.Equal(t, lifecycle.Completed, c.Steps[0].Status)
		assert.Zero(t, c.Steps[0].StopRequests)
		assert.Zero(t, c.Steps[0].Deferred)
		assert.Equal(t, time.Minute, c.Steps[0].Duration)
		synctest.Wait()
		assert.Empty(t, deferred, "nobody heard of a request")
		settle()
	})
}
