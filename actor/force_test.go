package actor_test

import (
	"context"
	"errors"
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

var errOperator = errors.New("operator")

// A force reaches every descendant still stopping (qactor.Force), at any depth: a
// root forced 2 s into a shutdown forces the child waiting for its own child, and
// that grandchild, each at once, each parent told once, in Receive, which step was
// cut. Exact on synctest's clock.
func TestAForceReachesEveryDescendantThreeLevelsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		leaf := &spec{name: "l", steps: []stepSpec{
			{name: "work", policy: policy.DeferFlag, d: time.Minute},
			{name: "close", policy: policy.Plain, always: true},
		}}
		mid := &spec{name: "m", steps: []stepSpec{{name: "drain", policy: policy.DeferFlag, d: time.Minute}}, children: []*spec{leaf}}
		root := &spec{name: "r", steps: []stepSpec{{name: "flush", policy: policy.DeferFlag, d: time.Minute}}, children: []*spec{mid}}
		sys := newSystem()
		published, unsubscribe := events[*mailbox.Forced](sys)
		defer unsubscribe()
		heard := &notices{}
		pid := spawnTree(t, sys, root, heard, size(root))
		start := time.Now()
		done := make(chan *qactor.Tree, 1)
		go func() {
			tree, err := qactor.Shutdown(context.Background(), sys, errors.New("SIGTERM"), pid)
			assert.NoError(t, err)
			done <- tree
		}()
		time.Sleep(2 * time.Second) // every level waits in its Children step; the leaf works
		synctest.Wait()
		require.NoError(t, qactor.Force(sys, errOperator, pid))
		tree := <-done

		assert.Equal(t, 2*time.Second, time.Since(start), "forced at 2 s, over at once")
		assert.Equal(t, lifecycle.SomeForced, tree.Verdict)
		require.Len(t, tree.Roots, 1)
		r := tree.Roots[0]
		require.Len(t, r.Children, 1)
		m := r.Children[0]
		require.Len(t, m.Children, 1)
		l := m.Children[0]
		for _, rep := range []*lifecycle.Report{r, m, l} {
			assert.ErrorIs(t, rep.Forced, lifecycle.ErrForced, rep.Actor)
			assert.ErrorIs(t, rep.Forced, errOperator, "%s: the force's cause travels down", rep.Actor)
			assert.Equal(t, 2*time.Second, rep.Duration, rep.Actor)
		}
		for _, rep := range []*lifecycle.Report{r, m} {
			require.Len(t, rep.Steps, 2, rep.Actor)
			assert.Equal(t, "children", rep.Steps[0].Name)
			// Cut by the force, or over at the same instant: its children, forced, are gone.
			assert.Contains(t, []lifecycle.Status{lifecycle.Forced, lifecycle.Completed}, rep.Steps[0].Status, rep.Actor)
			assert.Equal(t, 2*time.Second, rep.Steps[0].Duration, rep.Actor)
			assert.Equal(t, lifecycle.Skipped, rep.Steps[1].Status, "%s: after a force, only Always steps", rep.Actor)
		}
		assert.Equal(t, "r/m/l", l.Actor)
		require.Len(t, l.Steps, 2)
		assert.Equal(t, lifecycle.Forced, l.Steps[0].Status, "the grandchild's work was forced")
		assert.Equal(t, 2*time.Second, l.Steps[0].Duration)
		assert.Equal(t, lifecycle.Completed, l.Steps[1].Status, "its Always step ran")

		synctest.Wait()
		var forced []string
		for len(published) > 0 {
			f := <-published
			forced = append(forced, f.Actor.Id+" in "+f.Step)
		}
		assert.ElementsMatch(t, []string{"r in children", "r/m in children", "r/m/l in work"}, forced,
			"each level was forced once, in the step it was running")
		heardForced := func(parent string) []string {
			var out []string
			for _, n := range heard.by[parent] {
				if f, ok := n.(*mailbox.Forced); ok {
					out = append(out, f.Actor.Id+" in "+f.Step)
				}
			}
			return out
		}
		assert.Equal(t, []string{"r/m in children"}, heardForced("r"), "the root heard, in Receive, its child was forced")
		assert.Equal(t, []string{"r/m/l in work"}, heardForced("m"), "the child heard the grandchild was forced")
		settle()
	})
}

// Children a Children step gave up waiting for (its Timeout ran out) are still
// stopping, and a force of their parent reaches them too: the stop ends at the
// force, not when their own plans would have.
func TestAForceReachesChildrenTheChildrenStepGaveUpOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		child := mustProps(t, qactor.Component[*worker]{
			New:   func() *worker { return &worker{name: "c", trail: &trail{}} },
			Steps: []qactor.Step[*worker]{sleepy("drain", policy.DeferFlag, time.Minute)},
		})
		pid, err := sys.Root.SpawnNamed(mustProps(t, qactor.Component[*worker]{
			New: func() *worker { return &worker{name: "p", trail: &trail{}} },
			Steps: []qactor.Step[*worker]{
				qactor.Children[*worker](policy.Plain, time.Second),
				sleepy("flush", policy.DeferFlag, time.Minute),
			},
			Start: []func(*worker, actor.Context) error{func(_ *worker, c actor.Context) error {
				_, err := c.SpawnNamed(child, "c")
				return err
			}},
		}), "p")
		require.NoError(t, err)
		synctest.Wait()
		start := time.Now()
		done := make(chan *lifecycle.Report, 1)
		go func() {
			rep, err := qactor.Stop(context.Background(), sys, pid, nil)
			assert.NoError(t, err)
			done <- rep
		}()
		time.Sleep(3 * time.Second) // the Children step gave up at 1 s; flush runs
		synctest.Wait()
		require.NoError(t, qactor.Force(sys, errOperator, pid))
		rep := <-done

		assert.Equal(t, 3*time.Second, time.Since(start), "the stop ends at the force")
		require.Len(t, rep.Steps, 2)
		assert.Equal(t, lifecycle.TimedOut, rep.Steps[0].Status, "the Children step gave up waiting")
		assert.Equal(t, time.Second, rep.Steps[0].Duration)
		assert.Equal(t, lifecycle.Forced, rep.Steps[1].Status)
		require.Len(t, rep.Children, 1)
		c := rep.Children[0]
		assert.Equal(t, lifecycle.ParentStopping, c.Reason.Kind)
		assert.ErrorIs(t, c.Forced, errOperator, "the child was forced with its parent")
		require.Len(t, c.Steps, 1)
		assert.Equal(t, lifecycle.Forced, c.Steps[0].Status)
		assert.Equal(t, 3*time.Second, c.Steps[0].Duration)
		settle()
	})
}

// Shutdown without a deadline, whose ctx is cancelled while a root still stops,
// forces the roots with ctx's cause and waits once more: here the force is enough,
// and Shutdown returns the whole tree, with no error, at the cancellation.
func TestAShutdownWhoseCtxEndsForcesTheRoots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		root := &spec{name: "svc", steps: []stepSpec{{name: "drain", policy: policy.DeferFlag, d: time.Minute}},
			children: []*spec{{name: "w", steps: []stepSpec{{name: "finish", policy: policy.DeferFlag, d: time.Minute}}}}}
		pid := spawnTree(t, sys, root, &notices{}, size(root))
		ctx, cancel := context.WithCancelCause(context.Background())
		gaveUp := errors.New("the operator gave up waiting")
		go func() {
			time.Sleep(2 * time.Second)
			cancel(gaveUp)
		}()
		start := time.Now()
		tree, err := qactor.Shutdown(ctx, sys, errors.New("SIGTERM"), pid)
		require.NoError(t, err, "complete: the force was enough")
		assert.Equal(t, 2*time.Second, time.Since(start))
		assert.Equal(t, lifecycle.SomeForced, tree.Verdict)
		require.Len(t, tree.Roots, 1)
		svc := tree.Roots[0]
		assert.ErrorIs(t, svc.Forced, gaveUp, "forced with ctx's cause")
		require.Len(t, svc.Children, 1)
		assert.Equal(t, lifecycle.Forced, svc.Children[0].Steps[0].Status, "and so was its child")
		settle()
	})
}

// A Shutdown that gives up says so: the root still stopping (here two deaf Always
// steps after the force outlast the wait) is named, with no report, and the verdict
// is not "all completed".
func TestAnIncompleteShutdownNamesTheRootsStillStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		deaf := func(*worker, context.Context) error { time.Sleep(time.Hour); return nil }
		pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
			New:          func() *worker { return &worker{trail: &trail{}} },
			AbandonAfter: 100 * time.Millisecond,
			Steps: []qactor.Step[*worker]{
				{Name: "drain", Policy: policy.DeferFlag, Run: deaf},
				{Name: "flush", Always: true, Run: deaf},
				{Name: "close", Always: true, Run: deaf},
			},
		}))
		ctx, cancel := context.WithCancelCause(context.Background())
		go func() {
			time.Sleep(time.Second)
			cancel(errors.New("the operator gave up waiting"))
		}()
		tree, err := qactor.Shutdown(ctx, sys, errors.New("SIGTERM"), pid)
		require.ErrorIs(t, err, qactor.ErrIncomplete)
		assert.Empty(t, tree.Roots)
		assert.Equal(t, []*actor.PID{pid}, tree.Stopping)
		assert.Equal(t, lifecycle.SomeAbandoned, tree.Verdict)
		assert.Contains(t, tree.String(), "shutdown: some abandoned in ")
		assert.Contains(t, tree.String(), pid.Id+" [still stopping: no report]")
		time.Sleep(2 * time.Hour) // every deaf step returns
		settle()
	})
}

// A Forced notice names the step running when the force came (mailbox.Forced.Step),
// here a Children step that returns as soon as the force reaches its children.
func TestAForcedNoticeNamesTheStepTheForceCut(t *testing.T) {
	for range 20 {
		synctest.Test(t, func(t *testing.T) {
			root := &spec{name: "r", children: []*spec{{name: "c", steps: []stepSpec{{name: "work", policy: policy.DeferFlag, d: time.Minute}}}}}
			sys := newSystem()
			published, unsubscribe := events[*mailbox.Forced](sys)
			defer unsubscribe()
			pid := spawnTree(t, sys, root, &notices{}, size(root))
			done := make(chan *qactor.Tree, 1)
			go func() {
				tree, err := qactor.Shutdown(context.Background(), sys, nil, pid)
				assert.NoError(t, err)
				done <- tree
			}()
			time.Sleep(time.Second)
			synctest.Wait()
			require.NoError(t, qactor.Force(sys, errOperator, pid))
			<-done
			synctest.Wait()
			steps := map[string]string{}
			for len(published) > 0 {
				f := <-published
				steps[f.Actor.Id] = f.Step
			}
			assert.Equal(t, map[string]string{"r": "children", "r/c": "work"}, steps)
			settle()
		})
	}
}
