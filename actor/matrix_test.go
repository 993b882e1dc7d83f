package actor_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// interruption is what reaches a stopping actor in the middle of its step.
type interruption struct {
	name string
	send func(sys *actor.ActorSystem, pid *actor.PID)
	// cause is what the step's ctx reports, when the interruption cancels it.
	cause func(err error) bool
}

var interruptions = []interruption{
	{
		name: "a second stop",
		send: func(sys *actor.ActorSystem, pid *actor.PID) { sys.Root.Stop(pid) },
		cause: func(err error) bool {
			r := new(lifecycle.Reason)
			return errors.As(err, &r) && r.Kind == lifecycle.Requested
		},
	},
	{
		name: "a Restart directive",
		send: func(sys *actor.ActorSystem, pid *actor.PID) {
			p, _ := sys.ProcessRegistry.Get(pid)
			p.SendSystemMessage(pid, &actor.Restart{}) // what a supervisor's RestartChildren does
		},
		cause: func(err error) bool {
			r := new(lifecycle.Reason)
			return errors.As(err, &r) && r.Kind == lifecycle.Restarting
		},
	},
	{
		name:  "a force",
		send:  func(sys *actor.ActorSystem, pid *actor.PID) { mailbox.Of(sys, pid).Force(errors.New("operator")) },
		cause: func(err error) bool { return errors.Is(err, lifecycle.ErrForced) },
	},
}

func TestEachPolicyUnderEachInterruptionMidStep(t *testing.T) {
	type want struct {
		work       lifecycle.Status
		reraised   bool
		deferred   int
		afterRuns  bool // the next, ordinary step
		cancelSeen bool // the step saw its ctx cancelled
	}
	cases := map[policy.Policy]map[string]want{
		policy.Plain: {
			"a second stop":       {work: lifecycle.Interrupted, afterRuns: true, cancelSeen: true},
			"a Restart directive": {work: lifecycle.Interrupted, afterRuns: true, cancelSeen: true},
			"a force":             {work: lifecycle.Forced, cancelSeen: true},
		},
		policy.DeferFlag: {
			"a second stop":       {work: lifecycle.Completed, deferred: 1, afterRuns: true},
			"a Restart directive": {work: lifecycle.Completed, deferred: 1, afterRuns: true},
			"a force":             {work: lifecycle.Forced, cancelSeen: true},
		},
		policy.DeferReraise: {
			"a second stop":       {work: lifecycle.Completed, deferred: 1, reraised: true},
			"a Restart directive": {work: lifecycle.Completed, deferred: 1, reraised: true},
			"a force":             {work: lifecycle.Forced, cancelSeen: true},
		},
	}
	for _, p := range []policy.Policy{policy.Plain, policy.DeferFlag, policy.DeferReraise} {
		for _, in := range interruptions {
			w := cases[p][in.name]
			t.Run(fmt.Sprintf("%v step under %s", p, in.name), func(t *testing.T) {
				sys := newSystem()
				tr := &trail{}
				started, gate := make(chan struct{}), make(chan struct{})
				var seen atomic.Value
				var incarnations atomic.Int32
				props := mustProps(t, qactor.Component[*worker]{
					New: func() *worker { incarnations.Add(1); return &worker{name: "w", trail: tr} },
					Steps: []qactor.Step[*worker]{
						{Name: "work", Policy: p, Run: func(w *worker, ctx context.Context) error {
							close(started)
							select {
							case <-gate:
								return nil
							case <-ctx.Done():
								seen.Store(context.Cause(ctx))
								return context.Cause(ctx)
							}
						}},
						step("after", policy.Plain, nil, false),
						{Name: "final", Always: true, Run: func(w *worker, ctx context.Context) error { w.trail.add("final"); return nil }},
					},
				})
				pid := sys.Root.Spawn(props)
				tk := mailbox.Of(sys, pid).Stop(nil, nil)
				recv(t, started, "the step to begin")
				in.send(sys, pid)
				if !w.cancelSeen {
					close(gate) // a deferred step finishes its work
				}
				recv(t, tk.Done(), "the stop to end")
				rep := tk.Report()

				require.Len(t, rep.Steps, 3)
				work := rep.Steps[0]
				assert.Equal(t, w.work, work.Status, "work: %v", work.Err)
				if in.name == "a force" {
					assert.Equal(t, 0, work.StopRequests, "a force is no request: the report says Forced")
					assert.ErrorIs(t, rep.Forced, lifecycle.ErrForced)
				} else {
					assert.Equal(t, 1, work.StopRequests, "the interruption reached the running step")
					assert.NoError(t, rep.Forced)
				}
				assert.Equal(t, w.deferred, work.Deferred)
				assert.Equal(t, w.reraised, work.Reraised)
				if w.cancelSeen {
					cause, _ := seen.Load().(error)
					assert.True(t, in.cause(cause), "the step's ctx says why: %v", cause)
				} else {
					assert.Nil(t, seen.Load(), "a deferred step's ctx is not cancelled")
				}
				if w.afterRuns {
					assert.Equal(t, lifecycle.Completed, rep.Steps[1].Status)
				} else {
					assert.Equal(t, lifecycle.Skipped, rep.Steps[1].Status)
				}
				assert.Equal(t, lifecycle.Completed, rep.Steps[2].Status, "an Always step runs whatever happened")
				assert.Contains(t, tr.all(), "final")
				assert.Equal(t, int32(1), incarnations.Load(), "no resurrection: the stop stays a stop")
				_, live := qactor.PhaseOf(sys, pid)
				assert.False(t, live)
			})
		}
	}
}
