package mailbox_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

func TestABrutalBudgetSkipsTheDrainAndRunsOnlyAlwaysSteps(t *testing.T) {
	tests := []struct {
		name     string
		budget   mailbox.Budget
		got      []any // what Receive and the steps see once the actor is free
		drained  int
		refused  int
		statuses []lifecycle.Status
		forced   error
	}{
		{"an infinite budget drains and runs every step", mailbox.Infinity,
			[]any{"q0", "q1", "step flush", "step close"}, 2, 1,
			[]lifecycle.Status{lifecycle.Completed, lifecycle.Completed}, nil},
		{"a brutal budget refuses the queue and runs only Always steps", mailbox.Brutal,
			[]any{"step close"}, 0, 3,
			[]lifecycle.Status{lifecycle.Skipped, lifecycle.Completed}, mailbox.ErrBrutal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys := newSystem()
			forced, unsubscribe := events[*mailbox.Forced](sys)
			defer unsubscribe()
			p := newProbe(t)
			always := p.step("close", policy.Plain, nil)
			always.Always = true
			plan := lifecycle.MustPlan(p.step("flush", policy.DeferFlag, nil), always)
			pid, mb := fill(t, sys, p, mailbox.Config{Plan: plan, Budget: tt.budget, Capacity: 2})
			sys.Root.Stop(pid)
			sys.Root.Send(pid, "late")
			if tt.forced != nil {
				f := recv(t, forced, "the Forced notice") // the budget's timer forced the stop before the actor was free
				assert.ErrorIs(t, f.Cause, tt.forced)
				assert.Empty(t, f.Step, "no step was running")
			}
			close(p.release)
			assert.Equal(t, tt.got, p.take(len(tt.got), "what Receive and the steps see once the actor is free"))

			recv(t, mb.Ticket().Done(), "the stop to end")
			rep := mb.Ticket().Report()
			assert.Equal(t, tt.drained, rep.Drained)
			assert.Equal(t, tt.refused, rep.Refused)
			require.Len(t, rep.Steps, len(tt.statuses))
			for i, s := range tt.statuses {
				assert.Equal(t, s, rep.Steps[i].Status, rep.Steps[i].Name)
			}
			if tt.forced == nil {
				assert.NoError(t, rep.Forced)
				return
			}
			assert.ErrorIs(t, rep.Forced, tt.forced)
			assert.ErrorIs(t, rep.Forced, lifecycle.ErrForced)
			assert.ErrorIs(t, rep.Steps[0].Err, tt.forced, "a skipped step says why")
			assert.Empty(t, p.got)
		})
	}
}

func TestSetBudgetDuringAStopCountsFromTheFirstRequest(t *testing.T) {
	tests := []struct {
		name   string
		config mailbox.Budget
		set    mailbox.Budget // 3 s after the stop began
		bad    bool           // set is refused
		endsAt time.Duration  // when the step ends, from the stop's first request
		forced error
	}{
		{"a budget set during a stop forces at its end", mailbox.Infinity, mailbox.After(5 * time.Second), false, 5 * time.Second, mailbox.ErrBudgetExpired},
		{"a budget already spent forces at once", mailbox.Infinity, mailbox.After(2 * time.Second), false, 3 * time.Second, mailbox.ErrBudgetExpired},
		{"a longer budget postpones the force", mailbox.After(5 * time.Second), mailbox.After(8 * time.Second), false, 8 * time.Second, mailbox.ErrBudgetExpired},
		{"a brutal budget forces at once", mailbox.Infinity, mailbox.Brutal, false, 3 * time.Second, mailbox.ErrBrutal},
		{"infinity disarms the budget", mailbox.After(5 * time.Second), mailbox.Infinity, false, 10 * time.Second, nil},
		{"an invalid budget changes nothing", mailbox.After(5 * time.Second), mailbox.After(0), true, 5 * time.Second, mailbox.ErrBudgetExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sys := newSystem()
				ended := make(chan time.Time, 1)
				plan := lifecycle.MustPlan(lifecycle.Step{Name: "work", Run: func(ctx context.Context) error {
					defer func() { ended <- time.Now() }()
					select {
					case <-ctx.Done():
						return context.Cause(ctx)
					case <-time.After(10 * time.Second):
						return nil
					}
				}})
				pid, mb := spawn(t, sys, props(t, mailbox.Config{Plan: plan, Budget: tt.config}, newProbe(t).Receive))
				begin := time.Now()
				sys.Root.Stop(pid)
				time.Sleep(3 * time.Second)
				if err := mb.SetBudget(tt.set); tt.bad {
					assert.Error(t, err)
				} else {
					assert.NoError(t, err)
				}
				assert.Equal(t, tt.endsAt, (<-ended).Sub(begin))
				<-mb.Ticket().Done()
				rep := mb.Ticket().Report()
				if tt.forced == nil {
					assert.NoError(t, rep.Forced)
					assert.Equal(t, lifecycle.Completed, rep.Steps[0].Status)
				} else {
					assert.ErrorIs(t, rep.Forced, tt.forced)
					assert.ErrorIs(t, rep.Forced, lifecycle.ErrForced)
					assert.Equal(t, lifecycle.Forced, rep.Steps[0].Status)
				}
				settle()
			})
		})
	}
}

func TestAStepDeafToItsCtxIsAbandonedAndTheActorStillStops(t *testing.T) {
	for _, pol := range []policy.Policy{policy.Plain, policy.DeferFlag} {
		for _, deaf := range []bool{false, true} {
			name := "a " + pol.String() + " step that honours its ctx is forced"
			if deaf {
				name = "a " + pol.String() + " step deaf to its ctx is abandoned"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					sys := newSystem()
					abandoned, unsubscribe := events[*mailbox.Abandoned](sys)
					defer unsubscribe()
					release := make(chan struct{})
					work := lifecycle.Step{Name: "work", Policy: pol, Run: func(ctx context.Context) error {
						if deaf {
							<-release
							return errors.New("too late")
						}
						<-ctx.Done()
						return context.Cause(ctx)
					}}
					after := lifecycle.Step{Name: "after", Always: true, Run: func(context.Context) error { return nil }}
					cfg := mailbox.Config{Plan: lifecycle.MustPlan(work, after), Budget: mailbox.After(time.Second), AbandonAfter: time.Second}
					pid, mb := spawn(t, sys, props(t, cfg, newProbe(t).Receive))

					require.NoError(t, sys.Root.StopFuture(pid).Wait(), "the stop completes")
					<-mb.Ticket().Done() // protoactor's Terminated comes a moment before the last phase
					assert.Equal(t, lifecycle.Stopped, mb.Phase())
					rep := mb.Ticket().Report()
					assert.ErrorIs(t, rep.Forced, mailbox.ErrBudgetExpired)
					require.Len(t, rep.Steps, 2)
					assert.Equal(t, lifecycle.Completed, rep.Steps[1].Status, "the Always step still runs")
					w := rep.Steps[0]
					if deaf {
						assert.Equal(t, lifecycle.Abandoned, w.Status)
						assert.ErrorIs(t, w.Err, lifecycle.ErrAbandoned)
						assert.Equal(t, 2*time.Second, w.Duration, "the budget, then the AbandonAfter")
						assert.Equal(t, policy.LabelKey+"=work", w.Goroutine)
						n := <-abandoned
						assert.True(t, pid.Equal(n.Actor))
						assert.Equal(t, "work", n.Step)
					} else {
						assert.Equal(t, lifecycle.Forced, w.Status)
						assert.Equal(t, time.Second, w.Duration, "the budget")
						assert.Empty(t, abandoned)
					}
					close(release) // the abandoned goroutine may end now: it leaves the mailbox alone
					settle()
				})
			})
		}
	}
}

// A Brutal budget forces at the first request, on the requester's goroutine, so the
// actor's goroutine never drains: the force used to come from a zero-length timer,
// and an actor that reached its begin message first drained a message or two.
func TestABrutalBudgetNeverDrains(t *testing.T) {
	sys := newSystem()
	p, err := mailbox.Producer(mailbox.Config{Budget: mailbox.Brutal})
	require.NoError(t, err)
	for range 200 {
		entered, release := make(chan struct{}), make(chan struct{})
		pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			if c.Message() == "busy" {
				close(entered)
				<-release
			}
		}, actor.WithMailbox(p)))
		sys.Root.Send(pid, "busy")
		recv(t, entered, "the actor to begin handling \"busy\"")
		for range 3 {
			sys.Root.Send(pid, "queued")
		}
		tk := mailbox.Of(sys, pid).Stop(nil, nil)
		close(release)
		recv(t, tk.Done(), "the brutal stop to end")
		rep := tk.Report()
		require.Equal(t, 0, rep.Drained, "a brutal stop drains nothing")
		require.Equal(t, 3, rep.Refused, "what was queued is refused, with the reason")
		require.ErrorIs(t, rep.Forced, mailbox.ErrBrutal)
	}
}

// StopBy's children inherit its deadline: the Children step asks each child to
// stop by the same deadline, so the child's stop is fitted to it too (its
// AbandonAfter shrinks to fit, as its parent's does), not left to its own budget.
func TestTheChildrenOfAStopByInheritItsDeadline(t *testing.T) {
	sys := newSystem()
	inStep, release := make(chan struct{}), make(chan struct{})
	childPlan := lifecycle.MustPlan(lifecycle.Step{Name: "flush", Policy: policy.DeferFlag, Run: func(context.Context) error {
		close(inStep)
		<-release
		return nil
	}})
	child := props(t, mailbox.Config{Plan: childPlan}, func(actor.Context) {})
	_, mb, km := withChild(t, sys, mailbox.Config{}, child, func(actor.Context) {})
	require.Equal(t, lifecycle.DefaultAbandonAfter, km.AbandonAfter(), "the child's own AbandonAfter")

	tk := mb.StopBy(time.Now().Add(2*time.Second), nil, nil)
	recv(t, inStep, "the child's step")
	left := km.Ticket().AbandonAfter()
	close(release)
	stopped(t, tk, "the parent")
	assert.Less(t, left, lifecycle.DefaultAbandonAfter, "the child's stop is fitted to its parent's deadline")
	assert.LessOrEqual(t, left, tk.AbandonAfter(), "fitted as its parent's is, to no more time than its parent had left")
}
