package actor_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// records is a slog.Handler that keeps every record.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		if len(rec.Message) > 8 && rec.Message[:8] == "quiesce:" {
			out = append(out, rec.Message)
		}
	}
	return out
}

func TestProgressGoesIntoTheReportAndOntoTheEventStream(t *testing.T) {
	sys := newSystem()
	progress, unsubscribe := events[*mailbox.StepProgress](sys)
	defer unsubscribe()
	pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New: func() *worker { return &worker{name: "w", trail: &trail{}} },
		Steps: []qactor.Step[*worker]{{Name: "drain", Policy: policy.DeferFlag, Run: func(_ *worker, ctx context.Context) error {
			for i := 1; i <= 3; i++ {
				lifecycle.ReportProgress(ctx, "sessions drained", i, 3)
			}
			return nil
		}}},
	}))
	rep, err := qactor.Stop(within(t, "the component to stop"), sys, pid, nil)
	require.NoError(t, err)

	require.NotNil(t, rep.Steps[0].Progress)
	assert.Equal(t, "sessions drained (3/3)", rep.Steps[0].Progress.String(), "the report keeps the last progress")
	for i := 1; i <= 3; i++ {
		p := recv(t, progress, "each StepProgress event")
		assert.True(t, p.Actor.Equal(pid))
		assert.Equal(t, "drain", p.Step)
		assert.Equal(t, i, p.Progress.Done)
	}
}

func TestEachPhaseChangeAndStepOutcomeIsLoggedThroughTheSystemLogger(t *testing.T) {
	logs := &records{}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(logs) }))
	mailbox.Configure(sys, mailbox.Settings{Events: true})
	phases, unsubscribe := events[*mailbox.PhaseChanged](sys)
	defer unsubscribe()
	pid := sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{
		New: func() *worker { return &worker{name: "w", trail: &trail{}} },
		Steps: []qactor.Step[*worker]{
			step("drain", policy.DeferFlag, nil, false),
			{Name: "close", Run: func(*worker, context.Context) error { return context.DeadlineExceeded }},
		},
	}))
	require.Equal(t, lifecycle.Running, recv(t, phases, "the move to Running").To, "running before the stop")
	_, err := qactor.Stop(within(t, "the component to stop"), sys, pid, nil)
	require.NoError(t, err)

	assert.Equal(t, []string{
		"quiesce: phase running",
		"quiesce: phase stopping",
		"quiesce: step completed",
		"quiesce: step failed",
		"quiesce: phase stopped",
	}, logs.messages())
	var seen []lifecycle.Phase
	for range 2 {
		seen = append(seen, recv(t, phases, "the moves to Stopping and Stopped").To)
	}
	assert.Equal(t, []lifecycle.Phase{lifecycle.Stopping, lifecycle.Stopped}, seen)
}
