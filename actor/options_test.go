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
			Steps: []qactor.Step[*worker]{{Name: "flush", Policy: policy.DeferFlag, Timeout: time.Second,
				Run: func(*worker, context.Context) error { time.Sleep(time.Hour); return nil }}}, // deaf
		}))
		synctest.Wait()
		start := time.Now()
		rep, err := qactor.Stop(context.Background(), sys, pid, errors.New("deploy"))
		require.NoError(t, err)
		assert.Equal(t, 1500*time.Millisecond, time.Since(start), "forced at 1 s, abandoned half a second later: within the 2 s")
		assert.ErrorIs(t, rep.Forced, mailbox.ErrDeadline)
		assert.Equal(t, lifecycle.Abandoned, rep.Steps[0].Status)
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
