package actor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// supervised is a plain protoactor parent, "sup", under a strategy, whose children
// c1..cn are crasher components. Each child counts its incarnations, and its plan
// records each run with its reason; the parent keeps the notices it hears in
// Receive; the test goroutine reads the system's lifecycle events, in order.
type supervised struct {
	t      testing.TB
	sys    *actor.ActorSystem
	parent *actor.PID
	kids   []*actor.PID
	made   []atomic.Int32
	plans  *trail
	heard  *notices

	events      <-chan any
	unsubscribe func()
	phases      map[string]map[lifecycle.Phase]int // by child id: phases entered, all incarnations
	finished    map[string][]*lifecycle.Report     // by child id: one report per plan run
	published   []mailbox.Notice                   // every notice but Finished, as published
}

// supervise spawns the family on sys and waits until every child runs. steps, when
// it returns steps for child i (from 0), replaces that child's default plan: one
// defer-flag step, "handback", that records the reason.
func supervise(t *testing.T, sys *actor.ActorSystem, strategy actor.SupervisorStrategy, n int,
	steps func(s *supervised, i int) []qactor.Step[*crasher]) *supervised {
	t.Helper()
	s := &supervised{
		t: t, sys: sys, made: make([]atomic.Int32, n), plans: &trail{}, heard: &notices{},
		phases: map[string]map[lifecycle.Phase]int{}, finished: map[string][]*lifecycle.Report{},
	}
	s.events, s.unsubscribe = events[any](sys)
	kids := make([]*actor.Props, n)
	for i := range n {
		plan := []qactor.Step[*crasher]{{Name: "handback", Policy: policy.DeferFlag, Run: func(c *crasher, ctx context.Context) error {
			s.plans.add(c.name + " handback: " + lifecycle.ReasonFrom(ctx).Error())
			return nil
		}}}
		if steps != nil {
			if custom := steps(s, i); custom != nil {
				plan = custom
			}
		}
		name := fmt.Sprintf("c%d", i+1)
		kids[i] = mustCrasher(t, qactor.Component[*crasher]{
			New: func() *crasher {
				s.made[i].Add(1)
				return &crasher{worker: worker{name: name, trail: &trail{}}}
			},
			Steps: plan,
		})
	}
	spawned := make(chan []*actor.PID, 1)
	parent, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		switch msg := c.Message().(type) {
		case *actor.Started:
			pids := make([]*actor.PID, n)
			for i, p := range kids {
				pids[i], _ = c.SpawnNamed(p, fmt.Sprintf("c%d", i+1))
			}
			spawned <- pids
		case mailbox.Notice:
			s.heard.add("sup", msg)
		case string:
			c.Respond(msg) // see sync
		}
	}, actor.WithSupervisor(strategy)), "sup")
	require.NoError(t, err)
	s.parent, s.kids = parent, recv(t, spawned, "the parent to spawn its children")
	for i := range s.kids {
		s.await(i, lifecycle.Running, 1)
	}
	return s
}

func mustCrasher(t *testing.T, c qactor.Component[*crasher]) *actor.Props {
	t.Helper()
	p, err := c.Props()
	require.NoError(t, err)
	return p
}

// await reads events until child i has entered phase p n times, over all its
// incarnations, or fails the test.
func (s *supervised) await(i int, p lifecycle.Phase, n int) {
	s.t.Helper()
	id := s.kids[i].Id
	for s.phases[id][p] < n {
		s.take(recv(s.t, s.events, fmt.Sprintf("%s to enter %v %d times (%d so far)", id, p, n, s.phases[id][p])))
	}
}

// drain takes the events published so far.
func (s *supervised) drain() {
	for {
		select {
		case e := <-s.events:
			s.take(e)
		default:
			return
		}
	}
}

func (s *supervised) take(e any) {
	switch e := e.(type) {
	case *mailbox.PhaseChanged:
		if s.phases[e.Actor.Id] == nil {
			s.phases[e.Actor.Id] = map[lifecycle.Phase]int{}
		}
		s.phases[e.Actor.Id][e.To]++
	case *mailbox.Finished:
		s.finished[e.Actor.Id] = append(s.finished[e.Actor.Id], e.Report)
	case mailbox.Notice:
		s.published = append(s.published, e)
	}
}

// plansOf returns what child i's plan runs recorded, in order.
func (s *supervised) plansOf(i int) []string {
	var out []string
	for _, e := range s.plans.all() {
		if strings.HasPrefix(e, fmt.Sprintf("c%d ", i+1)) {
			out = append(out, e)
		}
	}
	return out
}

func (s *supervised) live(i int) bool {
	_, ok := qactor.PhaseOf(s.sys, s.kids[i])
	return ok
}

// sync returns once the parent has handled every message posted to it before: a
// stop, a system message, would overtake the notices still in its queue.
func (s *supervised) sync(t *testing.T) {
	_, err := s.sys.Root.RequestFuture(s.parent, "sync", bound).Result()
	require.NoError(t, err, "the parent to handle what was posted to it")
}

// close stops the parent, and so every child left, and unsubscribes. The parent's
// Receive runs no more once it returns: what it heard is final.
func (s *supervised) close(t *testing.T) {
	require.NoError(t, s.sys.Root.StopFuture(s.parent).Wait(), "the parent to stop")
	s.unsubscribe()
}

func reasonKinds(reps []*lifecycle.Report) []lifecycle.ReasonKind {
	var out []lifecycle.ReasonKind
	for _, r := range reps {
		out = append(out, r.Reason.Kind)
	}
	return out
}

// protoactor's strategies are used as they are; what changes is that their Stop and
// Restart directives run the plan first. Each case crashes c1 and shows both sides:
// what the directive did to each child, and what it left alone.
func TestProtoactorStrategiesWorkUnchangedAndTheirDirectivesRunThePlan(t *testing.T) {
	restart := actor.DefaultDecider
	stop := func(any) actor.Directive { return actor.StopDirective }
	cases := []struct {
		name     string
		strategy actor.SupervisorStrategy
		crashes  int // of c1, one at a time
		plans    [2][]string
		made     [2]int32
		live     [2]bool
	}{
		{
			name: "OneForOne Restart restarts the failed child alone", crashes: 1,
			strategy: actor.NewOneForOneStrategy(10, time.Minute, restart),
			plans:    [2][]string{{"c1 handback: restart: boom"}, nil},
			made:     [2]int32{2, 1}, live: [2]bool{true, true},
		},
		{
			name: "OneForOne Stop stops the failed child alone", crashes: 1,
			strategy: actor.NewOneForOneStrategy(10, time.Minute, stop),
			plans:    [2][]string{{"c1 handback: stop requested"}, nil},
			made:     [2]int32{1, 1}, live: [2]bool{false, true},
		},
		{
			name: "AllForOne Restart restarts every child, each through its plan", crashes: 1,
			strategy: actor.NewAllForOneStrategy(10, time.Minute, restart),
			plans:    [2][]string{{"c1 handback: restart: boom"}, {"c2 handback: restart"}},
			made:     [2]int32{2, 2}, live: [2]bool{true, true},
		},
		{
			name: "AllForOne Stop stops every child, each through its plan", crashes: 1,
			strategy: actor.NewAllForOneStrategy(10, time.Minute, stop),
			plans:    [2][]string{{"c1 handback: stop requested"}, {"c2 handback: stop requested"}},
			made:     [2]int32{1, 1}, live: [2]bool{false, false},
		},
		{
			name: "Restarting restarts the failed child every time, without a limit", crashes: 3,
			strategy: actor.NewRestartingStrategy(),
			plans:    [2][]string{{"c1 handback: restart: boom", "c1 handback: restart: boom", "c1 handback: restart: boom"}, nil},
			made:     [2]int32{4, 1}, live: [2]bool{true, true},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sys := newSystem()
			s := supervise(t, sys, tc.strategy, 2, nil)
			for k := 1; k <= tc.crashes; k++ {
				sys.Root.Send(s.kids[0], "crash")
				s.await(0, lifecycle.Stopped, k) // the plan of incarnation k is over
			}
			for i := range 2 {
				if tc.live[i] {
					s.await(i, lifecycle.Running, int(tc.made[i]))
				} else {
					s.await(i, lifecycle.Stopped, int(tc.made[i]))
				}
			}

			for i := range 2 {
				assert.Equal(t, tc.plans[i], s.plansOf(i), "c%d's plan runs", i+1)
				assert.Equal(t, tc.made[i], s.made[i].Load(), "c%d's incarnations", i+1)
				assert.Equal(t, tc.live[i], s.live(i), "c%d alive", i+1)
				reps := s.finished[s.kids[i].Id]
				require.Len(t, reps, len(tc.plans[i]), "one report per plan run of c%d", i+1)
				for _, rep := range reps {
					if rep.Reason.Kind == lifecycle.Restarting && i == 0 {
						assert.EqualError(t, rep.Reason.Cause, "boom", "the restart's cause is the panic")
					}
					assert.Equal(t, lifecycle.Completed, rep.Steps[0].Status)
				}
				if tc.live[i] {
					res, err := qactor.Result(sys.Root.RequestFuture(s.kids[i], "after", bound))
					require.NoError(t, err, "c%d's answer", i+1)
					assert.Equal(t, "ok after", res, "c%d's current incarnation runs", i+1)
				}
			}
			s.close(t)
			assert.Equal(t, tc.made, [2]int32{s.made[0].Load(), s.made[1].Load()}, "nothing restarted afterwards")
		})
	}
}

// A restart's cause is the failure that caused it, never an earlier one that was
// dealt with: by a restart (under AllForOne, c1 is restarted again because c2
// failed), or by a Resume (c1 resumed after its failure, then a Restart came).
func TestARestartCarriesTheCauseOfThisFailureNotAnEarlierOne(t *testing.T) {
	t.Run("a sibling's failure after the child's own restart", func(t *testing.T) {
		sys := newSystem()
		s := supervise(t, sys, actor.NewAllForOneStrategy(10, time.Minute, actor.DefaultDecider), 2, nil)
		sys.Root.Send(s.kids[0], "crash") // c1 fails: both restart
		s.await(0, lifecycle.Running, 2)
		s.await(1, lifecycle.Running, 2)
		sys.Root.Send(s.kids[1], "crash") // now c2 fails: both restart again
		s.await(0, lifecycle.Running, 3)
		s.await(1, lifecycle.Running, 3)

		assert.Equal(t, []string{"c1 handback: restart: boom", "c1 handback: restart"}, s.plansOf(0),
			"c1's second restart is c2's doing: c1's old panic is not its cause")
		assert.Equal(t, []string{"c2 handback: restart", "c2 handback: restart: boom"}, s.plansOf(1))
		s.close(t)
	})
	t.Run("a Restart after the child's failure was resumed", func(t *testing.T) {
		sys := newSystem()
		resume := func(any) actor.Directive { return actor.ResumeDirective }
		s := supervise(t, sys, actor.NewOneForOneStrategy(10, time.Minute, resume), 1, nil)
		sys.Root.Send(s.kids[0], "crash")
		res, err := qactor.Result(sys.Root.RequestFuture(s.kids[0], "ping", bound))
		require.NoError(t, err, "the resumed child's answer")
		require.Equal(t, "ok ping", res, "resumed: the same incarnation answers")
		p, _ := sys.ProcessRegistry.Get(s.kids[0])
		p.SendSystemMessage(s.kids[0], &actor.Restart{}) // a supervisor's RestartChildren
		s.await(0, lifecycle.Running, 2)

		assert.Equal(t, []string{"c1 handback: restart"}, s.plansOf(0), "the resumed failure is not this restart's cause")
		s.close(t)
	})
}

// protoactor counts failures in its RestartStatistics, which outlive incarnations:
// with at most 2 retries in the window, the third failure in it becomes a Stop
// directive, and the component stops through its plan for good. The same failures
// spread wider than the window restart every time.
func TestRestartIntensityIsCountedAsProtoactorCountsIt(t *testing.T) {
	const window = time.Minute
	cases := []struct {
		name  string
		apart time.Duration
		plans []string
		kinds []lifecycle.ReasonKind
		made  int32
		live  bool
	}{
		{
			name: "the third failure in the window stops it", apart: time.Second,
			plans: []string{"c1 handback: restart: boom", "c1 handback: restart: boom", "c1 handback: stop requested"},
			kinds: []lifecycle.ReasonKind{lifecycle.Restarting, lifecycle.Restarting, lifecycle.Requested},
			made:  3,
		},
		{
			name: "failures wider apart than the window restart it every time", apart: window + time.Second,
			plans: []string{"c1 handback: restart: boom", "c1 handback: restart: boom", "c1 handback: restart: boom"},
			kinds: []lifecycle.ReasonKind{lifecycle.Restarting, lifecycle.Restarting, lifecycle.Restarting},
			made:  4, live: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sys := newSystem()
				s := supervise(t, sys, actor.NewOneForOneStrategy(2, window, actor.DefaultDecider), 1, nil)
				for k := 1; k <= 3; k++ {
					sys.Root.Send(s.kids[0], "crash")
					s.await(0, lifecycle.Stopped, k)
					time.Sleep(tc.apart)
				}
				synctest.Wait() // whatever the directives were, they have been carried out
				s.drain()

				assert.Equal(t, tc.plans, s.plansOf(0))
				assert.Equal(t, tc.kinds, reasonKinds(s.finished[s.kids[0].Id]))
				assert.Equal(t, tc.made, s.made[0].Load(), "incarnations")
				assert.Equal(t, int(tc.made), s.phases[s.kids[0].Id][lifecycle.Running], "each incarnation ran, and no more")
				assert.Equal(t, tc.live, s.live(0))
				s.close(t)
				settle()
			})
		})
	}
}

// ExponentialBackoff sends its Restart after a delay that grows with the failures in
// its window (protoactor: failures × initial backoff, plus up to 500 ns of noise).
// The plan runs when the Restart comes, not when the child fails.
func TestExponentialBackoffRestartsGracefullyAfterItsDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		s := supervise(t, sys, actor.NewExponentialBackoffStrategy(time.Minute, time.Second), 1, nil)
		for k, delay := range []time.Duration{time.Second, 2 * time.Second} {
			failed := time.Now()
			sys.Root.Send(s.kids[0], "crash")
			time.Sleep(delay - time.Millisecond)
			synctest.Wait()
			assert.Len(t, s.plansOf(0), k, "failure %d: no plan before the delay", k+1)
			assert.Equal(t, int32(k+1), s.made[0].Load())

			s.await(0, lifecycle.Running, k+2)
			rep := s.finished[s.kids[0].Id][k]
			assert.Equal(t, lifecycle.Restarting, rep.Reason.Kind)
			assert.EqualError(t, rep.Reason.Cause, "boom")
			began := rep.Start.Sub(failed)
			assert.GreaterOrEqual(t, began, delay, "failure %d: the plan began after the delay", k+1)
			assert.Less(t, began, delay+time.Microsecond, "failure %d: and right then", k+1)
		}
		assert.Equal(t, int32(3), s.made[0].Load())
		assert.Equal(t, []string{"c1 handback: restart: boom", "c1 handback: restart: boom"}, s.plansOf(0))
		s.close(t)
		settle()
	})
}

// A directive is one more cancellation request to a child already stopping: c1 is in
// the middle of its cleanup when its sibling fails and the parent's AllForOne strategy
// sends Restart to every child. c1's step is handled by its policy, never cut short
// by the directive beyond what the policy says; the parent hears exactly one notice;
// c1 stops, and is not restarted. c2 restarts, as the strategy said.
func TestADirectiveMidCleanupYieldsANoticeNeverAKill(t *testing.T) {
	cases := []struct {
		policy policy.Policy
		notice string // the notice the parent hears
		work   lifecycle.Status
		cut    bool // the step saw its ctx cancelled
		after  lifecycle.Status
	}{
		{policy.DeferFlag, "deferred", lifecycle.Completed, false, lifecycle.Completed},
		{policy.DeferReraise, "deferred", lifecycle.Completed, false, lifecycle.Skipped},
		{policy.Plain, "interrupted", lifecycle.Interrupted, true, lifecycle.Completed},
	}
	for _, tc := range cases {
		t.Run(tc.policy.String(), func(t *testing.T) {
			sys := newSystem()
			inStep, gate := make(chan struct{}), make(chan struct{})
			var cut atomic.Bool
			s := supervise(t, sys, actor.NewAllForOneStrategy(10, time.Minute, actor.DefaultDecider), 2,
				func(s *supervised, i int) []qactor.Step[*crasher] {
					if i != 0 {
						return nil
					}
					return []qactor.Step[*crasher]{
						{Name: "handback", Policy: tc.policy, Run: func(c *crasher, ctx context.Context) error {
							close(inStep)
							select {
							case <-gate:
								return nil
							case <-ctx.Done():
								cut.Store(true)
								return context.Cause(ctx)
							}
						}},
						{Name: "close", Run: func(c *crasher, ctx context.Context) error {
							s.plans.add("c1 close: " + lifecycle.ReasonFrom(ctx).Error())
							return nil
						}},
					}
				})
			stopped := make(chan *lifecycle.Report, 1)
			go func() {
				rep, err := qactor.Stop(within(t, "c1 to stop"), sys, s.kids[0], errors.New("scale down"))
				assert.NoError(t, err)
				stopped <- rep
			}()
			recv(t, inStep, "c1's step to begin")
			sys.Root.Send(s.kids[1], "crash") // the parent restarts every child
			for len(s.published) == 0 {
				s.take(recv(t, s.events, "the notice of the directive")) // sent as the directive arrives
			}
			if tc.policy.Deferred() {
				close(gate) // the deferred step finishes its work; a plain one has returned on its own
			}
			rep := recv(t, stopped, "c1's stop to end")
			s.await(1, lifecycle.Running, 2)
			s.sync(t) // c1's notices, its Finished last, were posted before it stopped
			s.close(t)
			s.drain()

			var heard []mailbox.Notice
			for _, n := range s.heard.by["sup"] {
				if !isFinished(n) {
					heard = append(heard, n)
				}
			}
			require.Len(t, heard, 1, "exactly one notice, for the one request")
			assert.Equal(t, heard, s.published, "and the same one on the EventStream")
			switch n := heard[0].(type) {
			case *mailbox.DeferredCancel:
				assert.Equal(t, "deferred", tc.notice)
				assert.True(t, n.Actor.Equal(s.kids[0]), "names the child")
				assert.Equal(t, "handback", n.Step, "names the step")
				assert.Equal(t, tc.policy, n.Policy)
				assert.Equal(t, 1, n.StopRequests)
				assert.Equal(t, mailbox.Unlimited, n.BudgetLeft)
				r := new(lifecycle.Reason)
				require.ErrorAs(t, n.Cause, &r)
				assert.Equal(t, lifecycle.Restarting, r.Kind, "the request was the Restart directive")
			case *mailbox.Interrupted:
				assert.Equal(t, "interrupted", tc.notice)
				assert.True(t, n.Actor.Equal(s.kids[0]))
				assert.Equal(t, "handback", n.Step)
				assert.Equal(t, 1, n.StopRequests)
			default:
				t.Fatalf("unexpected notice %T", n)
			}

			require.Len(t, rep.Steps, 2)
			assert.Equal(t, tc.work, rep.Steps[0].Status, "handback: %v", rep.Steps[0].Err)
			assert.Equal(t, 1, rep.Steps[0].StopRequests)
			assert.Equal(t, tc.cut, cut.Load(), "the step's ctx is cancelled only under plain")
			assert.Equal(t, tc.after, rep.Steps[1].Status)
			assert.Equal(t, lifecycle.Requested, rep.Reason.Kind, "the stop stays a stop")
			assert.ErrorContains(t, rep.Reason, "scale down")
			if tc.after == lifecycle.Completed {
				assert.Contains(t, s.plansOf(0), "c1 close: stop requested: scale down")
			}

			assert.Equal(t, int32(1), s.made[0].Load(), "c1 was not restarted")
			assert.False(t, s.live(0))
			assert.Equal(t, []lifecycle.ReasonKind{lifecycle.Requested}, reasonKinds(s.finished[s.kids[0].Id]))
			assert.Equal(t, int32(2), s.made[1].Load(), "c2 was restarted, through its plan")
			assert.Equal(t, []string{"c2 handback: restart: boom", "c2 handback: stop requested"}, s.plansOf(1),
				"its restart, then the parent's stop")
		})
	}
}
