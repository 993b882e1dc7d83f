package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// sleepy returns a step that takes d of (virtual) time, or less if its ctx ends.
func sleepy(name string, p policy.Policy, d time.Duration) qactor.Step[*worker] {
	return qactor.Step[*worker]{Name: name, Policy: p, Run: func(w *worker, ctx context.Context) error {
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}}
}

func TestReportIsExactToTheStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := newSystem()
		tr := &trail{}
		props := mustProps(t, qactor.Component[*worker]{
			New: func() *worker { return &worker{name: "w", trail: tr} },
			Steps: []qactor.Step[*worker]{
				sleepy("drain", policy.DeferFlag, 3*time.Second),
				sleepy("bye", policy.Plain, time.Second),
				{Name: "close", Policy: policy.DeferReraise, Run: func(*worker, context.Context) error { return errors.New("socket already closed") }},
			},
		})
		pid := sys.Root.Spawn(props)
		synctest.Wait()
		start := time.Now()
		rep, err := qactor.Stop(context.Background(), sys, pid, errors.New("deploy"))
		require.NoError(t, err)

		assert.Equal(t, start, rep.Start)
		assert.Equal(t, 4*time.Second, rep.Duration)
		require.Len(t, rep.Steps, 3)
		want := []struct {
			name   string
			status lifecycle.Status
			at     time.Duration
			took   time.Duration
		}{
			{"drain", lifecycle.Completed, 0, 3 * time.Second},
			{"bye", lifecycle.Completed, 3 * time.Second, time.Second},
			{"close", lifecycle.Failed, 4 * time.Second, 0},
		}
		for i, w := range want {
			s := rep.Steps[i]
			assert.Equal(t, w.name, s.Name)
			assert.Equal(t, w.status, s.Status, w.name)
			assert.Equal(t, w.at, s.Start.Sub(start), w.name)
			assert.Equal(t, w.took, s.Duration, w.name)
		}
		assert.EqualError(t, rep.Steps[2].Err, "socket already closed")
		t.Logf("%+v", rep)
	})
}
