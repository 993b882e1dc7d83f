package actor_test

import (
	"context"
	"errors"
	"fmt"
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

func TestAComponentWithoutNewIsRejected(t *testing.T) {
	c := qactor.Component[*worker]{Steps: []qactor.Step[*worker]{step("close", policy.Plain, nil, false)}}
	props, err := c.Props()
	assert.ErrorIs(t, err, qactor.ErrNoNew)
	assert.Nil(t, props)
	assert.PanicsWithError(t, qactor.ErrNoNew.Error(), func() { c.MustProps() })
}

// Every bad step is caught by Props, before an incarnation is made or a step runs,
// with an error that names the step.
func TestInvalidStepsAreRejectedBeforeAnythingRunsWithAnErrorNamingTheStep(t *testing.T) {
	var ran atomic.Int32
	run := func(*worker, context.Context) error { ran.Add(1); return nil }
	cases := []struct {
		name     string
		steps    []qactor.Step[*worker]
		deadline time.Duration
		index    int
		step     string
		err      error
	}{
		{
			name:  "an empty name",
			steps: []qactor.Step[*worker]{{Name: "drain", Run: run}, {Run: run}},
			index: 1, step: "", err: lifecycle.ErrEmptyName,
		},
		{
			name:  "a duplicate name",
			steps: []qactor.Step[*worker]{{Name: "flush", Run: run}, {Name: "flush", Run: run}},
			index: 1, step: "flush", err: lifecycle.ErrDuplicateName,
		},
		{
			name:  "a nil Run",
			steps: []qactor.Step[*worker]{{Name: "drain"}},
			index: 0, step: "drain", err: lifecycle.ErrNilRun,
		},
		{
			name:  "a negative Timeout",
			steps: []qactor.Step[*worker]{{Name: "drain", Run: run}, {Name: "close", Timeout: -time.Second, Run: run}},
			index: 1, step: "close", err: lifecycle.ErrNegativeDuration,
		},
		{
			name:  "a negative Grace",
			steps: []qactor.Step[*worker]{{Name: "drain", Policy: policy.DeferFlag, Grace: -time.Second, Run: run}},
			index: 0, step: "drain", err: lifecycle.ErrNegativeDuration,
		},
		{
			name:  "a Grace under plain",
			steps: []qactor.Step[*worker]{{Name: "disconnect", Policy: policy.Plain, Grace: time.Second, Run: run}},
			index: 0, step: "disconnect", err: lifecycle.ErrGraceUnderPlain,
		},
		{
			name:     "a Deadline the Timeouts exceed",
			deadline: 30 * time.Second,
			steps: []qactor.Step[*worker]{
				{Name: "drain", Policy: policy.DeferFlag, Timeout: 20 * time.Second, Run: run},
				{Name: "close", Timeout: 15 * time.Second, Run: run},
			},
			index: 1, step: "close", err: lifecycle.ErrOverDeadline,
		},
		{
			name:     "a step without a Timeout under a Deadline",
			deadline: 30 * time.Second,
			steps:    []qactor.Step[*worker]{{Name: "drain", Policy: policy.DeferFlag, Timeout: 20 * time.Second, Run: run}, {Name: "close", Run: run}},
			index:    1, step: "close", err: lifecycle.ErrNoTimeout,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var made atomic.Int32
			c := qactor.Component[*worker]{
				New:      func() *worker { made.Add(1); return &worker{trail: &trail{}} },
				Steps:    tc.steps,
				Deadline: tc.deadline,
			}
			props, err := c.Props()
			require.Error(t, err)
			assert.Nil(t, props)
			assert.ErrorIs(t, err, tc.err)
			var pe *lifecycle.PlanError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.step, pe.Step, "the error names the step")
			assert.Equal(t, tc.index, pe.Index)
			assert.Contains(t, err.Error(), `"`+tc.step+`"`)

			_, planErr := c.Plan()
			assert.Equal(t, err, planErr, "a dry run sees the same problem")
			assert.Panics(t, func() { c.MustProps() })
			assert.Zero(t, made.Load(), "no incarnation was made")
			assert.Zero(t, ran.Load(), "no step ran")
		})
	}
}

// The built-in Children step may go anywhere in a plan, once; its name is its own;
// under a Deadline it needs a Timeout like any step, and a plan that leaves it no
// time cannot stop children first unless it places the step.
func TestTheChildrenStepIsPlacedAnywhereOnceAndItsPlacementIsValidated(t *testing.T) {
	run := func(*worker, context.Context) error { return nil }
	kids := qactor.Children[*worker](policy.DeferFlag, 0)
	valid := []struct {
		name     string
		steps    []qactor.Step[*worker]
		deadline time.Duration
		want     []string
	}{
		{"first", []qactor.Step[*worker]{kids, {Name: "close", Run: run}}, 0, []string{"children", "close"}},
		{"in the middle", []qactor.Step[*worker]{{Name: "flush", Run: run}, kids, {Name: "close", Run: run}}, 0, []string{"flush", "children", "close"}},
		{"last", []qactor.Step[*worker]{{Name: "flush", Run: run}, kids}, 0, []string{"flush", "children"}},
		{"under a Deadline, with a Timeout that fits", []qactor.Step[*worker]{
			{Name: "drain", Policy: policy.DeferFlag, Timeout: 20 * time.Second, Run: run},
			qactor.Children[*worker](policy.DeferFlag, 6*time.Second), // 30 s less the reserve of 4 s
		}, 30 * time.Second, []string{"drain", "children"}},
	}
	for _, tc := range valid {
		t.Run("valid "+tc.name, func(t *testing.T) {
			c := qactor.Component[*worker]{New: func() *worker { return &worker{} }, Steps: tc.steps, Deadline: tc.deadline}
			_, err := c.Props()
			require.NoError(t, err)
			plan, err := c.Plan()
			require.NoError(t, err)
			var names []string
			for _, s := range plan.Steps() {
				names = append(names, s.Name)
			}
			assert.Equal(t, tc.want, names, "the step stays where it was placed")
			assert.True(t, plan.Steps()[indexOf(names, "children")].Always, "it always runs, even after a force")
		})
	}

	invalid := []struct {
		name     string
		steps    []qactor.Step[*worker]
		deadline time.Duration
		check    func(t *testing.T, err error)
	}{
		{"twice", []qactor.Step[*worker]{kids, {Name: "close", Run: run}, kids}, 0, func(t *testing.T, err error) {
			var pe *lifecycle.PlanError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "children", pe.Step)
			assert.Equal(t, 2, pe.Index)
			assert.ErrorIs(t, err, lifecycle.ErrDuplicateName)
		}},
		{"a step of its own named children", []qactor.Step[*worker]{{Name: "children", Run: run}}, 0, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, mailbox.ErrConfig)
			assert.ErrorContains(t, err, `plan step 1 "children": the name is reserved for mailbox.ChildrenStep`)
		}},
		{"under a Deadline, without a Timeout", []qactor.Step[*worker]{
			{Name: "drain", Policy: policy.DeferFlag, Timeout: 20 * time.Second, Run: run}, kids,
		}, 30 * time.Second, func(t *testing.T, err error) {
			var pe *lifecycle.PlanError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "children", pe.Step)
			assert.ErrorIs(t, err, lifecycle.ErrNoTimeout)
		}},
		{"not placed, in a plan that fills what its Deadline leaves the steps", []qactor.Step[*worker]{
			{Name: "drain", Policy: policy.DeferFlag, Timeout: 26 * time.Second, Run: run}, // 30 s less the reserve
		}, 30 * time.Second, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, mailbox.ErrConfig)
			assert.ErrorContains(t, err, "place mailbox.ChildrenStep in it")
		}},
	}
	for _, tc := range invalid {
		t.Run("invalid "+tc.name, func(t *testing.T) {
			c := qactor.Component[*worker]{New: func() *worker { return &worker{} }, Steps: tc.steps, Deadline: tc.deadline}
			props, err := c.Props()
			assert.Nil(t, props)
			tc.check(t, err)
			assert.Panics(t, func() { c.MustProps() })
		})
	}
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// Options reach protoactor: here, a supervisor strategy decides what a child's
// failure does. Without it, protoactor's default strategy restarts the child; with
// a strategy that says Stop, the child stops. Either way, through the child's plan.
func TestOptionsAreAppliedToTheActor(t *testing.T) {
	stop := actor.WithSupervisor(actor.NewOneForOneStrategy(10, time.Minute, func(any) actor.Directive { return actor.StopDirective }))
	cases := []struct {
		name    string
		options []actor.PropsOption
		reason  lifecycle.ReasonKind
		made    int32
	}{
		{"no option: protoactor's default strategy restarts", nil, lifecycle.Restarting, 2},
		{"a supervisor strategy option stops", []actor.PropsOption{stop}, lifecycle.Requested, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sys := newSystem()
			finished, unsubscribe := events[*mailbox.Finished](sys)
			defer unsubscribe()
			var made atomic.Int32
			child := qactor.Component[*crasher]{
				New: func() *crasher { made.Add(1); return &crasher{worker: worker{name: "c", trail: &trail{}}} },
			}.MustProps()
			kid := make(chan *actor.PID, 1)
			parent := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
				New:     func() *worker { return &worker{name: "p", trail: &trail{}} },
				Options: tc.options,
				Start: []func(*worker, actor.Context) error{func(_ *worker, c actor.Context) error {
					kid <- c.Spawn(child)
					return nil
				}},
			}))
			pid := recv(t, kid, "the parent to spawn its child")
			sys.Root.Send(pid, "crash")
			f := recv(t, finished, "the Finished notice of the child's plan")
			assert.True(t, f.Actor.Equal(pid))
			assert.Equal(t, tc.reason, f.Report.Reason.Kind)
			if tc.reason == lifecycle.Restarting {
				res, err := qactor.Result(sys.Root.RequestFuture(pid, "ping", bound))
				require.NoError(t, err, "the answer of the new incarnation")
				assert.Equal(t, "ok ping", res, "the new incarnation runs")
			}
			_, err := qactor.Stop(within(t, "the parent to stop"), sys, parent, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.made, made.Load())
		})
	}
}

// A step gets the incarnation that stops, whether it takes it as its argument or
// asks its ctx; a ctx that is not a step's, or the wrong type, gives the zero value.
func TestIncarnationReturnsTheIncarnationThatStopsInItsSteps(t *testing.T) {
	sys := newSystem()
	type seen struct{ arg, fromCtx *worker }
	got := make(chan seen, 1)
	var wrongType atomic.Bool
	var made atomic.Pointer[worker]
	pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New: func() *worker { w := &worker{name: "w", trail: &trail{}}; made.Store(w); return w },
		Steps: []qactor.Step[*worker]{{Name: "look", Run: func(w *worker, ctx context.Context) error {
			got <- seen{w, qactor.Incarnation[*worker](ctx)}
			wrongType.Store(qactor.Incarnation[*crasher](ctx) == nil)
			return nil
		}}},
	}))
	_, err := qactor.Stop(within(t, "the component to stop"), sys, pid, nil)
	require.NoError(t, err)
	s := recv(t, got, "the step to run")
	require.NotNil(t, s.fromCtx)
	assert.Same(t, made.Load(), s.fromCtx)
	assert.Same(t, s.arg, s.fromCtx)
	assert.True(t, wrongType.Load(), "asked for another type: the zero value")
	assert.Nil(t, qactor.Incarnation[*worker](context.Background()), "not a step's ctx")
}

// A PID that is not a live component gets ErrNotComponent from every call that needs
// one, never a panic: a plain protoactor actor, a component that has stopped, a PID
// that never lived.
func TestCallsOnAPIDThatIsNotALiveComponentReturnErrNotComponent(t *testing.T) {
	sys := newSystem()
	plain := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	gone := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{New: func() *worker { return &worker{trail: &trail{}} }}))
	_, err := qactor.Stop(within(t, "the component to stop"), sys, gone, nil)
	require.NoError(t, err)
	live := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{New: func() *worker { return &worker{trail: &trail{}} }}))

	for name, pid := range map[string]*actor.PID{
		"a plain protoactor actor": plain,
		"a stopped component":      gone,
		"a PID that never lived":   actor.NewPID(sys.Address(), "nobody"),
		"nil":                      nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, ok := qactor.PhaseOf(sys, pid)
			assert.False(t, ok)
			assert.ErrorIs(t, qactor.SetBudget(sys, pid, mailbox.After(time.Second)), qactor.ErrNotComponent)
			rep, err := qactor.Stop(within(t, "Stop to return"), sys, pid, nil)
			assert.ErrorIs(t, err, qactor.ErrNotComponent)
			assert.Nil(t, rep)
			assert.ErrorIs(t, qactor.Force(sys, nil, pid), qactor.ErrNotComponent)
		})
	}
	t.Run("a live component", func(t *testing.T) {
		phase, ok := qactor.PhaseOf(sys, live)
		assert.True(t, ok)
		assert.Contains(t, []lifecycle.Phase{lifecycle.Starting, lifecycle.Running}, phase)
		assert.NoError(t, qactor.SetBudget(sys, live, mailbox.After(time.Second)))
		assert.Error(t, qactor.SetBudget(sys, live, mailbox.After(-time.Second)), "a budget must be positive")
	})
	require.NoError(t, sys.Root.StopFuture(plain).Wait(), "the plain actor to stop")
	_, err = qactor.Stop(within(t, "the live component to stop"), sys, live, nil)
	require.NoError(t, err)
}

// Result tells a refusal from an answer: a *mailbox.Refused becomes the error, and
// everything else passes through as the future gave it.
func TestResultMapsARefusalToAnErrorAndPassesEverythingElseThrough(t *testing.T) {
	sys := newSystem()
	answer := errors.New("an answer that happens to be an error")
	plain := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(string); ok {
			c.Respond(answer)
		}
	}))
	inStep, gate := make(chan struct{}), make(chan struct{})
	comp := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New: func() *worker { return &worker{name: "w", trail: &trail{}} },
		Steps: []qactor.Step[*worker]{{Name: "hold", Policy: policy.DeferFlag, Run: func(*worker, context.Context) error {
			close(inStep)
			<-gate
			return nil
		}}},
	}))

	res, err := qactor.Result(sys.Root.RequestFuture(comp, "hi", bound))
	require.NoError(t, err, "the component's answer")
	assert.Equal(t, "ok hi", res, "an ordinary answer")

	res, err = qactor.Result(sys.Root.RequestFuture(plain, "hi", bound))
	assert.NoError(t, err, "an error sent as the answer is an answer")
	assert.Same(t, answer, res)

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_, err := qactor.Stop(within(t, "the component to stop"), sys, comp, errors.New("deploy"))
		assert.NoError(t, err)
	}()
	recv(t, inStep, "the step to begin") // stopping: new messages are refused
	res, err = qactor.Result(sys.Root.RequestFuture(comp, "late", bound))
	assert.Nil(t, res)
	var r *mailbox.Refused
	require.ErrorAs(t, err, &r, "a refusal is an error")
	assert.ErrorIs(t, err, mailbox.ErrRefused)
	assert.ErrorIs(t, err, mailbox.ErrStopping)
	assert.NotErrorIs(t, err, actor.ErrTimeout)
	assert.Equal(t, "late", r.Message)
	assert.Equal(t, "stop requested: deploy", r.Reason.Error())
	close(gate)
	recv(t, stopped, "Stop to return")

	_, err = qactor.Result(sys.Root.RequestFuture(comp, "gone", bound))
	assert.ErrorIs(t, err, actor.ErrDeadLetter, "the future's own error passes through")
	require.NoError(t, sys.Root.StopFuture(plain).Wait(), "the plain actor to stop")
}

// Stop waits no longer than the caller's ctx: when it ends first, Stop returns its
// cause, and the stop goes on to its end, its step untouched by the caller leaving.
func TestStopReturnsTheCallersCauseWhenItsCtxEndsFirstAndTheStopGoesOn(t *testing.T) {
	sys := newSystem()
	tr := &trail{}
	inStep, gate := make(chan struct{}), make(chan struct{})
	var cut atomic.Bool
	pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New: func() *worker { return &worker{name: "w", trail: tr} },
		Steps: []qactor.Step[*worker]{
			{Name: "drain", Policy: policy.Plain, Run: func(_ *worker, ctx context.Context) error {
				close(inStep)
				select {
				case <-gate:
					return nil
				case <-ctx.Done():
					cut.Store(true)
					return context.Cause(ctx)
				}
			}},
			step("close", policy.Plain, nil, false),
		},
	}))
	gaveUp := errors.New("the caller gave up")
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		<-inStep // the test waits for Stop, bounded by bound: see below
		cancel(gaveUp)
	}()
	defer time.AfterFunc(bound, func() { cancel(fmt.Errorf("waited %v for the step to begin", bound)) }).Stop()
	rep, err := qactor.Stop(ctx, sys, pid, errors.New("deploy"))
	assert.ErrorIs(t, err, gaveUp, "the caller's cause, not a bare context.Canceled")
	assert.Nil(t, rep, "no report while the plan runs")

	mb := mailbox.Of(sys, pid)
	require.NotNil(t, mb, "still there: the stop goes on")
	assert.Equal(t, lifecycle.Stopping, mb.Phase())
	tk := mb.Ticket()
	require.NotNil(t, tk)
	close(gate)
	recv(t, tk.Done(), "the stop to end")
	rep = tk.Report()
	require.NotNil(t, rep)
	assert.False(t, cut.Load(), "the caller's ctx is not the step's")
	for _, s := range rep.Steps {
		assert.Equal(t, lifecycle.Completed, s.Status, s.Name)
	}
	assert.Equal(t, 0, rep.StopRequests)
	assert.Equal(t, "stop requested: deploy", rep.Reason.Error())
	assert.Equal(t, []string{"w close start", "w close end", "w stopping", "w stopped"}, tr.all())
	_, live := qactor.PhaseOf(sys, pid)
	assert.False(t, live)
}

// Stop returns once the component has stopped, and not before its Stopped phase is
// on the EventStream (and in the log): whoever waits for Stop sees the whole story.
func TestStopReturnsOnlyOnceTheStoppedPhaseIsPublished(t *testing.T) {
	sys := newSystem()
	phases, unsubscribe := events[*mailbox.PhaseChanged](sys)
	defer unsubscribe()
	props := mustProps(t, qactor.Component[*worker]{New: func() *worker { return &worker{trail: &trail{}} }})
	for i := range 1000 {
		pid := sys.Root.Spawn(props)
		_, err := qactor.Stop(within(t, "the component to stop"), sys, pid, nil)
		require.NoError(t, err)
		for stopped := false; !stopped; {
			select {
			case e := <-phases:
				stopped = e.Actor.Equal(pid) && e.To == lifecycle.Stopped
			default:
				t.Fatalf("stop %d: Stop returned before the Stopped phase was published", i+1)
			}
		}
	}
}

// A component that stops its children sends protoactor no stray Stop: by the time
// protoactor gets the component's own Stop, it has forgotten every child that has
// gone, so no Stop goes to a child that is no longer there, to turn up as a dead
// letter (and an INFO log line) in a clean shutdown. In a synctest bubble, so that
// synctest.Wait is the sync point: when it returns, every goroutine of the system
// is blocked or gone, and a dead letter sent late, from any of them, is there.
func TestStoppingAComponentWithChildrenLeavesNoDeadLetter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		deadLetters, unsubscribe := events[*actor.DeadLetterEvent](sys)
		defer unsubscribe()
		child := mustProps(t, qactor.Component[*worker]{
			New:   func() *worker { return &worker{name: "c", trail: &trail{}} },
			Steps: []qactor.Step[*worker]{step("drain", policy.DeferFlag, nil, false)},
		})
		for i := range 1000 {
			started := make(chan struct{})
			pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
				New:   func() *worker { return &worker{name: "p", trail: &trail{}} },
				Steps: []qactor.Step[*worker]{{Name: "close", Always: true, Run: func(*worker, context.Context) error { return nil }}},
				Start: []func(*worker, actor.Context) error{func(_ *worker, c actor.Context) error {
					c.Spawn(child)
					c.Spawn(child)
					close(started)
					return nil
				}},
			}))
			<-started
			_, err := qactor.Stop(context.Background(), sys, pid, nil)
			require.NoError(t, err)
			synctest.Wait()
			if len(deadLetters) > 0 {
				dl := <-deadLetters
				t.Fatalf("stop %d: a dead letter %T to %v", i+1, dl.Message, dl.PID)
			}
		}
		settle()
	})
}

// c.Actor() is Quiesce's wrapper; IncarnationOf returns the incarnation New made,
// in Receive and in protoactor's receiver middleware.
func TestIncarnationOfReturnsTheIncarnationBehindTheWrapper(t *testing.T) {
	sys := newSystem()
	seen := make(chan bool, 2)
	mw := func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			if env.Message == "which" {
				_, isWorker := c.Actor().(*worker)
				w, ok := qactor.IncarnationOf[*worker](c.(actor.Context))
				seen <- !isWorker && ok && w.name == "w1"
				_, wrong := qactor.IncarnationOf[*trail](c.(actor.Context))
				seen <- !wrong
			}
			next(c, env)
		}
	}
	pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New:     func() *worker { return &worker{name: "w1", trail: &trail{}} },
		Options: []actor.PropsOption{actor.WithReceiverMiddleware(mw)},
	}))
	sys.Root.Send(pid, "which")
	assert.True(t, recv(t, seen, "the middleware"), "c.Actor() is the wrapper, IncarnationOf the worker")
	assert.True(t, recv(t, seen, "the middleware"), "IncarnationOf of another type reports false")
	_, err := qactor.Stop(within(t, "the stop"), sys, pid, nil)
	require.NoError(t, err)
}

// Component.ProgressEvery reaches the mailbox: negative, the parent hears no
// Progressed from the child; zero (the default), it does.
func TestComponentProgressEveryDecidesWhetherTheParentHearsProgress(t *testing.T) {
	for _, tc := range []struct {
		every time.Duration
		heard bool
	}{{0, true}, {-1, false}} {
		t.Run(fmt.Sprint(tc.every), func(t *testing.T) {
			sys := newSystem()
			child := qactor.Component[*worker]{
				New:           func() *worker { return &worker{trail: &trail{}} },
				ProgressEvery: tc.every,
				Steps: []qactor.Step[*worker]{{Name: "flush", Run: func(_ *worker, ctx context.Context) error {
					lifecycle.ReportProgress(ctx, "flushed", 1, 1)
					return nil
				}}},
			}
			progressed := make(chan *mailbox.Progressed, 4)
			spawned := make(chan struct{})
			parent := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
				switch m := c.Message().(type) {
				case *actor.Started:
					c.Spawn(mustProps(t, child))
					close(spawned)
				case *mailbox.Progressed:
					progressed <- m
				}
			}))
			recv(t, spawned, "the child")
			require.NoError(t, sys.Root.StopFuture(parent).Wait())
			assert.Equal(t, tc.heard, len(progressed) > 0)
		})
	}
}
