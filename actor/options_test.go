package actor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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

// Deadline is no check at construction only: every stop of the component ends
// within it, forced in time with cause ErrDeadline, even with an infinite budget.
func TestAComponentsDeadlineBoundsEachOfItsStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
			New:      func() *worker { return &worker{trail: &trail{}} },
			Deadline: 2 * time.Second,
			Steps: []qactor.Step[*worker]{{Name: "flush", Policy: policy.DeferFlag, Timeout: 500 * time.Millisecond,
				Run: func(*worker, context.Context) error { time.Sleep(time.Hour); return nil }}}, // deaf
		}))
		synctest.Wait()
		start := time.Now()
		rep, err := qactor.Stop(context.Background(), sys, pid, errors.New("deploy"))
		require.NoError(t, err)
		// The reserve is 1 s: AbandonAfter cut to 250 ms, four of them (the forced step,
		// the Children step the mailbox adds, which is Always, and a margin).
		assert.Equal(t, 1250*time.Millisecond, time.Since(start), "forced at 1 s, abandoned 250 ms later: within the 2 s")
		assert.ErrorIs(t, rep.Forced, mailbox.ErrDeadline)
		assert.Equal(t, lifecycle.Abandoned, rep.Steps[0].Status)
		time.Sleep(time.Hour)
		settle()
	})
}

// The deadline holds however many Always steps come after a force: each may take
// its own AbandonAfter and be abandoned one more later, and the reserve counts them.
func TestAComponentsDeadlineHoldsWithDeafAlwaysStepsAfterTheForce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		deaf := func(*worker, context.Context) error { time.Sleep(time.Hour); return nil }
		pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
			New:      func() *worker { return &worker{trail: &trail{}} },
			Deadline: time.Second,
			Steps: []qactor.Step[*worker]{
				{Name: "drain", Policy: policy.DeferFlag, Timeout: 300 * time.Millisecond, Run: deaf},
				{Name: "flush", Timeout: 100 * time.Millisecond, Always: true, Run: deaf},
				{Name: "close", Timeout: 100 * time.Millisecond, Always: true, Run: deaf},
			},
		}))
		synctest.Wait()
		start := time.Now()
		rep, err := qactor.Stop(context.Background(), sys, pid, errors.New("deploy"))
		require.NoError(t, err)
		assert.LessOrEqual(t, time.Since(start), time.Second, "the stop ended within its deadline")
		assert.ErrorIs(t, rep.Forced, mailbox.ErrDeadline)
		for _, s := range rep.Steps {
			assert.Equal(t, lifecycle.Abandoned, s.Status, "%s: deaf to everything", s.Name)
		}
		time.Sleep(time.Hour)
		settle()
	})
}

// counting is protoactor mailbox middleware that counts what it is told, and says
// on handled when a message has been handled (it is told after the handler, which
// may have answered already).
type counting struct {
	mu                               sync.Mutex
	started, posted, received, empty int
	handled                          chan struct{}
}

func (c *counting) MailboxStarted()   { c.mu.Lock(); c.started++; c.mu.Unlock() }
func (c *counting) MessagePosted(any) { c.mu.Lock(); c.posted++; c.mu.Unlock() }
func (c *counting) MessageReceived(any) {
	c.mu.Lock()
	c.received++
	c.mu.Unlock()
	select {
	case c.handled <- struct{}{}:
	default: // the test has what it waits for
	}
}
func (c *counting) MailboxEmpty() { c.mu.Lock(); c.empty++; c.mu.Unlock() }
func (c *counting) counts() [4]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return [4]int{c.started, c.posted, c.received, c.empty}
}

func TestProtoactorsMailboxMiddlewareWorksInAComponent(t *testing.T) {
	sys := newSystem()
	mw := &counting{handled: make(chan struct{}, 16)}
	pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New:        func() *worker { return &worker{trail: &trail{}} },
		Middleware: []actor.MailboxMiddleware{mw},
	}))
	for range 3 {
		_, err := sys.Root.RequestFuture(pid, "x", bound).Result()
		require.NoError(t, err, "the component's answer")
	}
	for i := range 4 {
		recv(t, mw.handled, fmt.Sprintf("message %d of 4 to be handled", i+1))
	}
	c := mw.counts()
	assert.Equal(t, 1, c[0], "started once")
	assert.Equal(t, 4, c[1], "posted: Started and three requests")
	assert.Equal(t, 4, c[2], "received: the same four, handled")
	assert.Positive(t, c[3], "the queue ran dry")
	_, err := qactor.Stop(within(t, "the component to stop"), sys, pid, nil)
	require.NoError(t, err)
}

func TestAMailboxInOptionsIsAnErrorNotSilentlyReplaced(t *testing.T) {
	_, err := qactor.Component[*worker]{
		New:     func() *worker { return &worker{} },
		Options: []actor.PropsOption{actor.WithMailbox(actor.Unbounded())},
	}.Props()
	assert.ErrorIs(t, err, qactor.ErrMailboxOption)
	_, err = qactor.Component[*worker]{
		New:     func() *worker { return &worker{} },
		Options: []actor.PropsOption{actor.WithSupervisor(actor.DefaultSupervisorStrategy())},
	}.Props()
	assert.NoError(t, err, "other options are fine")
}

// One props, a budget per child, given at spawn time.
func TestSpawnWithBudgetGivesTheChildItsOwnBudgetAtSpawn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		props := sleeper(t, time.Hour, false, mailbox.Infinity)
		pid, err := qactor.SpawnWithBudget(sys.Root, props, mailbox.After(300*time.Millisecond))
		require.NoError(t, err)
		start := time.Now()
		rep, err := qactor.Stop(context.Background(), sys, pid, nil)
		require.NoError(t, err)
		assert.Equal(t, 300*time.Millisecond, time.Since(start))
		assert.ErrorIs(t, rep.Forced, mailbox.ErrBudgetExpired)

		_, err = qactor.SpawnWithBudget(sys.Root, props, mailbox.After(-time.Second))
		assert.Error(t, err, "a bad budget spawns nothing")
		_, err = qactor.SpawnWithBudget(sys.Root, actor.PropsFromFunc(func(actor.Context) {}), mailbox.Brutal)
		assert.ErrorIs(t, err, qactor.ErrNotComponent)
		settle()
	})
}

// The same with a name: the child is named, has its own budget, and a name taken
// already is SpawnNamed's error, with nothing spawned.
func TestSpawnNamedWithBudgetNamesTheChildAndGivesItItsBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		props := sleeper(t, time.Hour, false, mailbox.Infinity)
		pid, err := qactor.SpawnNamedWithBudget(sys.Root, props, "s1", mailbox.After(200*time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, "s1", pid.Id)

		_, err = qactor.SpawnNamedWithBudget(sys.Root, props, "s1", mailbox.Brutal)
		assert.ErrorIs(t, err, actor.ErrNameExists)
		_, err = qactor.SpawnNamedWithBudget(sys.Root, props, "s2", mailbox.After(-time.Second))
		assert.Error(t, err, "a bad budget spawns nothing")
		_, ok := qactor.PhaseOf(sys, actor.NewPID(sys.Address(), "s2"))
		assert.False(t, ok, "nothing named s2 was spawned")
		_, err = qactor.SpawnNamedWithBudget(sys.Root, actor.PropsFromFunc(func(actor.Context) {}), "plain", mailbox.Brutal)
		assert.ErrorIs(t, err, qactor.ErrNotComponent)

		start := time.Now()
		rep, err := qactor.Stop(context.Background(), sys, pid, nil)
		require.NoError(t, err)
		assert.Equal(t, 200*time.Millisecond, time.Since(start), "s1 kept its own budget, not the second call's Brutal")
		assert.ErrorIs(t, rep.Forced, mailbox.ErrBudgetExpired)
		settle()
	})
}

func TestAComponentsOwnLoggerTakesItsRecords(t *testing.T) {
	sys := newSystem() // logs nowhere
	logs := &records{}
	pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New:    func() *worker { return &worker{trail: &trail{}} },
		Logger: slog.New(logs),
		Steps:  []qactor.Step[*worker]{step("close", policy.Plain, nil, false)},
	}))
	_, err := qactor.Stop(within(t, "the component to stop"), sys, pid, nil)
	require.NoError(t, err)
	assert.Contains(t, logs.messages(), "quiesce: step completed")
}
