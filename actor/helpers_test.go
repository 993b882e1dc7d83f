package actor_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newSystem returns an actor system that logs nowhere. Its dead-letter log throttle
// (a protoactor goroutine that sleeps one interval after each logged dead letter)
// sleeps a millisecond, so that goleak finds it gone.
func newSystem() *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.NewTextHandler(io.Discard, nil))
		}),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
}

// settle ends a synctest bubble cleanly: protoactor's dead-letter log throttle
// sleeps an interval in a goroutine of its own, and a bubble's clock stops when its
// main goroutine returns.
func settle() {
	time.Sleep(10 * time.Millisecond)
	synctest.Wait()
}

// trail records what happened, in order, from any goroutine.
type trail struct {
	mu     sync.Mutex
	events []string
}

func (t *trail) add(e string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, e)
}

func (t *trail) all() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.events)
}

// worker is a component whose Receive records string messages and answers requests.
type worker struct {
	name  string
	trail *trail
	// block, when set, makes the message "block" signal entered (if set) and wait
	// until block is closed.
	block   chan struct{}
	entered chan struct{}
}

func (w *worker) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case string:
		if m == "block" && w.block != nil {
			if w.entered != nil {
				close(w.entered)
			}
			<-w.block
		}
		w.trail.add(w.name + " got " + m)
		if c.Sender() != nil {
			c.Respond("ok " + m)
		}
	case *actor.Stopping:
		w.trail.add(w.name + " stopping")
	case *actor.Stopped:
		w.trail.add(w.name + " stopped")
	}
}

// step returns a step that records its start and end and, if gate is not nil,
// waits for it (or for its ctx, if the step honours cancellation).
func step(name string, p policy.Policy, gate <-chan struct{}, honour bool) qactor.Step[*worker] {
	return qactor.Step[*worker]{Name: name, Policy: p, Run: func(w *worker, ctx context.Context) error {
		w.trail.add(w.name + " " + name + " start")
		if gate != nil {
			if honour {
				select {
				case <-gate:
				case <-ctx.Done():
					w.trail.add(w.name + " " + name + " cancelled")
					return context.Cause(ctx)
				}
			} else {
				<-gate
			}
		}
		w.trail.add(w.name + " " + name + " end")
		return nil
	}}
}

func mustProps(t *testing.T, c qactor.Component[*worker]) *actor.Props {
	t.Helper()
	p, err := c.Props()
	require.NoError(t, err)
	return p
}
