package actor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
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

// A 3-level tree with random steps, stopped from its root, while some of its nodes
// get a second request in the middle of their cleanup: every deferred step finishes,
// every request comes back as exactly one notice to the parent, and nothing is cut
// short, since every budget is infinite.
func TestARandomTreeStopsFromItsRootAndEveryRequestComesBackAsANotice(t *testing.T) {
	for seed := range uint64(6) {
		t.Run("seed "+string(rune('0'+seed)), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 42))
				root := randomTree(r, "r", 3, 3)
				heard := &notices{}
				sys := newSystem()
				published, unsubscribe := events[mailbox.Notice](sys)
				defer unsubscribe()
				pid := spawnTree(t, sys, root, heard, size(root))

				done := make(chan *qactor.Tree)
				go func() {
					tree, err := qactor.Shutdown(context.Background(), sys, errors.New("SIGTERM"), pid)
					assert.NoError(t, err)
					done <- tree
				}()
				// Mid-cleanup, a second request to every mid-level node and one leaf each.
				time.Sleep(250 * time.Millisecond)
				synctest.Wait()
				var asked []string
				for _, mid := range root.children {
					for _, name := range []string{"r/" + mid.name, "r/" + mid.name + "/" + mid.children[0].name} {
						if live, ok := qactor.PhaseOf(sys, actor.NewPID(sys.Address(), name)); ok && live == lifecycle.Stopping {
							sys.Root.Stop(actor.NewPID(sys.Address(), name))
							asked = append(asked, name)
						}
					}
				}
				tree := <-done
				synctest.Wait()

				require.Len(t, tree.Roots, 1)
				total, _ := tree.Components()
				assert.Equal(t, size(root), total, "every node's report is in the tree")
				assert.LessOrEqual(t, tree.Verdict, lifecycle.SomeCutShort, "nothing failed, was forced or was abandoned")

				// One notice per request, to the parent, and on the EventStream.
				var notes []mailbox.Notice
				for len(published) > 0 {
					if n := <-published; !isFinished(n) {
						notes = append(notes, n)
					}
				}
				assert.Len(t, notes, len(asked), "one notice per request: %v", asked)
				heardOnce := 0
				for _, n := range heard.all() {
					if !isFinished(n) {
						heardOnce++
					}
				}
				assert.Equal(t, len(asked), heardOnce, "each parent heard its child's notice in Receive")

				// Nothing is cut short: deferred steps finish; only a plain step that a
				// request reached is interrupted, and only then.
				byName := map[string]*lifecycle.Report{}
				walk(tree.Roots[0], 0, func(rep *lifecycle.Report, _ int) { byName[rep.Actor] = rep })
				cut := false // a plain step the second request interrupted, or steps a re-raise skipped
				for _, r := range byName {
					for _, st := range r.Steps {
						cut = cut || st.Status == lifecycle.Interrupted || st.Status == lifecycle.Skipped
					}
				}
				wantVerdict := lifecycle.AllCompleted
				if cut {
					wantVerdict = lifecycle.SomeCutShort
				}
				assert.Equal(t, wantVerdict, tree.Verdict)
				for name, rep := range byName {
					for _, s := range rep.Steps {
						switch {
						case s.Status == lifecycle.Skipped:
						case s.Policy.Deferred():
							assert.Equal(t, lifecycle.Completed, s.Status, "%s %s", name, s.Name)
						case s.Status == lifecycle.Interrupted:
							assert.Contains(t, asked, name, "%s %s was interrupted, but nobody asked", name, s.Name)
						default:
							assert.Contains(t, []lifecycle.Status{lifecycle.Completed, lifecycle.Skipped}, s.Status, "%s %s", name, s.Name)
						}
						if s.Status == lifecycle.Skipped {
							assert.True(t, someReraised(rep), "%s %s skipped without a re-raise", name, s.Name)
						}
					}
				}
				for _, n := range notes {
					switch n := n.(type) {
					case *mailbox.DeferredCancel:
						if n.Step != "" {
							step := stepNamed(byName[n.Actor.Id], n.Step)
							assert.Equal(t, lifecycle.Completed, step.Status, "deferred, so it finished")
							assert.GreaterOrEqual(t, step.Deferred, 1)
						}
						assert.Equal(t, mailbox.Unlimited, n.BudgetLeft)
						assert.GreaterOrEqual(t, n.StopRequests, 1)
					case *mailbox.Interrupted:
						assert.Equal(t, lifecycle.Interrupted, stepNamed(byName[n.Actor.Id], n.Step).Status)
					default:
						t.Errorf("unexpected notice %T", n)
					}
				}
				text := tree.String()
				assert.True(t, strings.HasPrefix(text, "shutdown: "+wantVerdict.String()+" in "))
				assert.Contains(t, text, "── r/r0 ["+byName["r/r0"].Verdict().String())
				assert.Contains(t, text, "│   ")
				settle()
				assert.Contains(t, text, "shutdown: SIGTERM")
			})
		})
	}
}

// isFinished reports whether n is about no request: a Finished report, or progress.
func isFinished(n mailbox.Notice) bool {
	switch n.(type) {
	case *mailbox.Finished, *mailbox.Progressed:
		return true
	}
	return false
}

func someReraised(r *lifecycle.Report) bool {
	for _, s := range r.Steps {
		if s.Reraised {
			return true
		}
	}
	return false
}

func stepNamed(r *lifecycle.Report, name string) lifecycle.StepReport {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	return lifecycle.StepReport{}
}

// The escalation ladder, each rung observed: a child that overruns its budget is
// forced; a step deaf to the force is abandoned after the AbandonAfter; the parent
// hears of each rung; and the abandoned goroutine is named by its label.
func TestTheLadderBudgetForceAbandonIsObservedRungByRung(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stuck := make(chan struct{})
		root := &spec{name: "sup", steps: []stepSpec{{name: "flush", policy: policy.DeferFlag, d: 100 * time.Millisecond}},
			children: []*spec{
				{name: "slow", budget: mailbox.After(2 * time.Second), steps: []stepSpec{
					{name: "drain", policy: policy.DeferFlag, d: 10 * time.Second},
					{name: "bye", policy: policy.Plain, d: time.Millisecond},
					{name: "close", policy: policy.Plain, d: time.Millisecond, always: true},
				}},
				{name: "deaf", budget: mailbox.After(time.Second), steps: []stepSpec{
					{name: "hang", policy: policy.DeferReraise, stuck: stuck},
					{name: "close", policy: policy.Plain, d: time.Millisecond, always: true},
				}},
				{name: "quick", steps: []stepSpec{{name: "close", policy: policy.Plain, d: time.Millisecond}}},
			}}
		heard := &notices{}
		sys := newSystem()
		pid := spawnTree(t, sys, root, heard, size(root))
		start := time.Now()
		tree, err := qactor.Shutdown(context.Background(), sys, nil, pid)
		require.NoError(t, err)
		close(stuck) // the abandoned goroutine is ours to end
		synctest.Wait()

		assert.Equal(t, lifecycle.SomeAbandoned, tree.Verdict)
		byName := map[string]*lifecycle.Report{}
		walk(tree.Roots[0], 0, func(r *lifecycle.Report, _ int) { byName[r.Actor] = r })

		slow := byName["sup/slow"]
		assert.Equal(t, lifecycle.Forced, slow.Steps[0].Status, "forced when its 2 s budget ran out")
		assert.Equal(t, 2*time.Second, slow.Steps[0].Duration)
		assert.ErrorIs(t, slow.Forced, mailbox.ErrBudgetExpired)
		assert.Equal(t, lifecycle.Skipped, slow.Steps[1].Status, "after a force, only Always steps")
		assert.Equal(t, lifecycle.Completed, slow.Steps[2].Status)

		deaf := byName["sup/deaf"]
		assert.Equal(t, lifecycle.Abandoned, deaf.Steps[0].Status)
		assert.Equal(t, 2*time.Second, deaf.Steps[0].Duration, "forced at 1 s, abandoned AbandonAfter later")
		assert.Equal(t, "op=hang", deaf.Steps[0].Goroutine)
		assert.Equal(t, lifecycle.Completed, deaf.Steps[1].Status, "its Always step still ran")

		assert.Equal(t, lifecycle.AllCompleted, byName["sup/quick"].Verdict())
		assert.Equal(t, lifecycle.Completed, byName["sup"].Steps[len(byName["sup"].Steps)-1].Status)
		assert.Less(t, time.Since(start), 3*time.Second)

		var rungs []string
		for _, n := range heard.by["sup"] {
			switch n := n.(type) {
			case *mailbox.Forced:
				rungs = append(rungs, "forced "+n.Actor.Id+" in "+n.Step)
			case *mailbox.Abandoned:
				rungs = append(rungs, "abandoned "+n.Actor.Id+" "+n.Step+" "+n.Goroutine)
			case *mailbox.Finished:
				rungs = append(rungs, "finished "+n.Actor.Id)
			}
		}
		assert.ElementsMatch(t, []string{
			"forced sup/deaf in hang", "forced sup/slow in drain", "abandoned sup/deaf hang op=hang",
			"finished sup/slow", "finished sup/deaf", "finished sup/quick",
		}, rungs)
		settle()
	})
}

// Shutdown under an outer deadline forces the tree in time to finish by it, and a
// second Shutdown forces at once: the second SIGTERM.
func TestShutdownKeepsItsDeadlineAndASecondShutdownForces(t *testing.T) {
	long := func() *spec {
		return &spec{name: "svc", steps: []stepSpec{{name: "drain", policy: policy.DeferFlag, d: time.Minute}},
			children: []*spec{{name: "w", steps: []stepSpec{{name: "finish", policy: policy.DeferFlag, d: time.Minute}}}}}
	}
	t.Run("deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sys := newSystem()
			root := long()
			pid := spawnTree(t, sys, root, &notices{}, size(root))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			tree, err := qactor.Shutdown(ctx, sys, nil, pid)
			require.NoError(t, err)
			assert.LessOrEqual(t, time.Since(start), 30*time.Second, "done by the deadline")
			assert.Equal(t, lifecycle.SomeForced, tree.Verdict)
			assert.Equal(t, 26*time.Second, time.Since(start), "forced at the deadline less the reserve: four AbandonAfters (the forced step, the Children step, a margin)")
			settle()
		})
	})
	t.Run("second shutdown", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sys := newSystem()
			root := long()
			pid := spawnTree(t, sys, root, &notices{}, size(root))
			first := make(chan *qactor.Tree)
			go func() {
				tree, err := qactor.Shutdown(context.Background(), sys, errors.New("SIGTERM"), pid)
				assert.NoError(t, err)
				first <- tree
			}()
			time.Sleep(5 * time.Second)
			synctest.Wait()
			second, err := qactor.Shutdown(context.Background(), sys, errors.New("SIGTERM again"), pid)
			require.NoError(t, err)
			tree := <-first
			assert.Equal(t, 5*time.Second, tree.Roots[0].Duration, "the second request forced it at once")
			assert.Equal(t, lifecycle.SomeForced, second.Verdict)
			assert.ErrorContains(t, tree.Roots[0].Forced, "SIGTERM again")
			w := tree.Roots[0].Children[0]
			assert.Equal(t, lifecycle.Forced, w.Steps[0].Status, "the force reached the child")
			settle()
		})
	})
}

// A parent forced before its Children step still runs that step (it is Always) and
// passes the force on: its children are forced, not left to drain under their own
// budgets. The connection manager's force test found it skipped.
func TestAParentForcedBeforeItsChildrenStepStillForcesItsChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := &spec{name: "p", steps: []stepSpec{{name: "flush", policy: policy.DeferFlag, d: time.Minute}},
			children: []*spec{{name: "c", steps: []stepSpec{{name: "drain", policy: policy.DeferFlag, d: time.Minute}}}}}
		// The parent's own step comes first; its children stop after it.
		sys := newSystem()
		heard := &notices{}
		root.childrenLast = true
		pid := spawnTree(t, sys, root, heard, size(root))
		done := make(chan *qactor.Tree)
		go func() {
			tree, err := qactor.Shutdown(context.Background(), sys, nil, pid)
			assert.NoError(t, err)
			done <- tree
		}()
		time.Sleep(time.Second) // the parent is in flush; its children step has not begun
		synctest.Wait()
		require.NoError(t, qactor.Force(sys, errors.New("operator"), pid))
		tree := <-done
		p := tree.Roots[0]
		assert.Equal(t, lifecycle.Forced, stepNamed(p, "flush").Status)
		assert.Equal(t, lifecycle.Completed, stepNamed(p, "children").Status, "Always: it ran after the force")
		require.Len(t, p.Children, 1)
		c := p.Children[0]
		assert.Equal(t, lifecycle.ParentStopping, c.Reason.Kind)
		assert.Contains(t, []lifecycle.Status{lifecycle.Forced, lifecycle.Skipped}, c.Steps[0].Status, "the child was forced too")
		assert.Less(t, tree.Duration, 10*time.Second)
		settle()
	})
}

// Tree.Folded, on a real Shutdown of a parent with 200 sessions, one of which fails
// to say goodbye: the 199 that ended alike print as one session and a count, the
// failed one prints in full with its error, and String still prints them all.
func TestFoldedPrintsTheSessionsThatEndedAlikeOnceAndTheFailedOneInFull(t *testing.T) {
	const sessions = 200
	goodbye := func(c *conn, ctx context.Context) error {
		if c.sessions == 7 {
			return errors.New("peer gone")
		}
		return nil
	}
	started := make(chan struct{})
	conns := qactor.Component[*conn]{
		New:   func() *conn { return &conn{} },
		Steps: []qactor.Step[*conn]{{Name: "close", Policy: policy.Plain, Run: func(*conn, context.Context) error { return nil }}},
		Start: []func(*conn, actor.Context) error{func(_ *conn, c actor.Context) error {
			for i := range sessions {
				session := qactor.Component[*conn]{
					New:   func() *conn { return &conn{sessions: i} },
					Steps: []qactor.Step[*conn]{{Name: "goodbye", Policy: policy.DeferFlag, Run: goodbye}},
				}.MustProps()
				if _, err := c.SpawnNamed(session, fmt.Sprintf("s%d", i)); err != nil {
					return err
				}
			}
			close(started)
			return nil
		}},
	}.MustProps()
	sys := newSystem()
	pid, err := sys.Root.SpawnNamed(conns, "conns")
	require.NoError(t, err)
	recv(t, started, "the sessions to start")

	tree, err := qactor.Shutdown(within(t, "the shutdown"), sys, errors.New("SIGTERM"), pid)
	require.NoError(t, err)
	folded := tree.Folded()
	t.Log("\n" + folded)
	lines := strings.Split(strings.TrimSuffix(folded, "\n"), "\n")
	assert.Len(t, lines, 9, "the header, conns and its two steps, a session and its step, the count, the failed session and its step")
	assert.Regexp(t, `^shutdown: some failed in `, lines[0])
	assert.Regexp(t, `^conns \[some failed .*\] shutdown: SIGTERM$`, lines[1])
	var counts []string
	for _, l := range lines {
		if strings.Contains(l, "… and") {
			counts = append(counts, l)
		}
	}
	require.Len(t, counts, 1, "one fold: the sessions that said goodbye")
	assert.Regexp(t, `^[├└]── … and 198 more like conns/s\d+ \[all completed [^\]]+\]$`, counts[0])
	assert.Contains(t, folded, "conns/s7 [some failed")
	assert.Contains(t, folded, "goodbye defer-flag failed")
	assert.Contains(t, folded, "(peer gone)")
	assert.Equal(t, sessions+1, strings.Count(tree.String(), "] "), "String prints every component")
	assert.Equal(t, "<nil>", (*qactor.Tree)(nil).Folded())
}
