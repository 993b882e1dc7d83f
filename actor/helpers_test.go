package actor_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/internal/testsys"
	"github.com/quiesce/quiesce/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newSystem returns a real actor system that logs nowhere.
func newSystem() *actor.ActorSystem { return testsys.New() }

// settle ends a synctest bubble cleanly; see testsys.Settle.
func settle() { testsys.Settle() }

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
