package main

// A worker does one job at a time, a unit per message to itself, so that it stays
// an ordinary actor between units: protoactor can stop or restart it whenever, and
// Quiesce hears of it at once. Some attempts panic. Its plan makes sure no job
// leaves with it:
//
//  1. finish (defer-flag): a job in flight at shutdown runs to its end, and is
//     reported done. A second stop request is counted, not obeyed; only a force (the
//     shutdown's deadline) or the step's Timeout cuts it short. A restart does not
//     finish the job: the incarnation that panicked cannot be trusted with it.
//  2. hand back (always, even after a force): a job still held goes back to the
//     queue, marked with why.

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// tick asks a worker to do the next unit of its job.
type tick struct{}

// worker is one incarnation: a restart makes a fresh one, so a panic leaves no
// half-changed state behind for the next.
type worker struct {
	batch   *State
	unitDur time.Duration
	queue   *actor.PID
	job     *Job // in flight, or nil when idle
	units   int  // units of job done
	crashed bool // this incarnation panicked in the middle of job
}

func workerComponent(batch *State, unit time.Duration, queue *actor.PID) qactor.Component[*worker] {
	longest := 6 * unit // the longest job (see newBatch)
	return qactor.Component[*worker]{
		New:   func() *worker { return &worker{batch: batch, unitDur: unit, queue: queue} },
		Start: []func(*worker, actor.Context) error{(*worker).askForWork},
		Steps: []qactor.Step[*worker]{
			{Name: "finish", Policy: policy.DeferFlag, Timeout: 2 * longest, Run: (*worker).finish},
			{Name: "hand back", Policy: policy.Plain, Always: true, Timeout: time.Second, Run: (*worker).handBack},
		},
	}
}

// askForWork is the start hook of every incarnation, the first and each restarted one.
func (w *worker) askForWork(c actor.Context) error {
	c.Request(w.queue, &want{})
	return nil
}

func (w *worker) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *Job:
		if w.job != nil { // never sent to a busy worker; if it were, it goes straight back
			c.Request(w.queue, &handBack{Job: *m})
			return
		}
		w.job, w.units = m, 0
		c.Send(c.Self(), &tick{})
	case *tick:
		if w.job == nil {
			return
		}
		_ = w.unit(context.Background()) // may panic: the supervisor restarts us
		if w.units < w.job.Units {
			c.Send(c.Self(), &tick{})
			return
		}
		c.Send(w.queue, &jobDone{ID: w.job.ID, By: c.Self().Id})
		w.job = nil
		c.Request(w.queue, &want{})
	}
}

// unit does the next unit of the job, or panics if this attempt is one that does.
func (w *worker) unit(ctx context.Context) error {
	if at, ok := crashAt(w.batch, *w.job); ok && at == w.units {
		w.crashed = true
		panic(fmt.Sprintf("job %d, attempt %d: crashed at unit %d", w.job.ID, w.job.Attempts+1, at+1))
	}
	t := time.NewTimer(w.unitDur)
	defer t.Stop()
	select {
	case <-t.C:
		w.units++
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// finish is the first step. It runs on a goroutine of its own while the actor's
// waits (defer-flag), with a ctx that a stop request does not cancel.
func (w *worker) finish(ctx context.Context) error {
	if w.job == nil || w.crashed || lifecycle.ReasonFrom(ctx).Kind == lifecycle.Restarting {
		return nil // nothing to finish, or a restart: hand the job back instead
	}
	what := fmt.Sprintf("job %d", w.job.ID)
	for w.units < w.job.Units {
		lifecycle.ReportProgress(ctx, what+" finishing", w.units, w.job.Units)
		if err := w.unit(ctx); err != nil {
			return err // forced, or out of time: the next step hands it back
		}
	}
	// The queue is still running (the root stops it last): wait until it has the
	// news, so that the job is never both done and handed back.
	if err := ask(ctx, w.queue, &jobDone{ID: w.job.ID, By: mailbox.ActorContext(ctx).Self().Id}); err != nil {
		return fmt.Errorf("%s: reporting it done: %w", what, err)
	}
	lifecycle.ReportProgress(ctx, what+" finished", w.units, w.job.Units)
	w.job = nil
	return nil
}

// handBack is the second step: whatever job is still held goes back to the queue.
// A restart's plan reaches it with nothing finished; so does a shutdown whose finish
// panicked or was forced.
func (w *worker) handBack(ctx context.Context) error {
	if w.job == nil {
		return nil
	}
	job := *w.job
	if w.crashed {
		job.Attempts++
	}
	why := lifecycle.ReasonFrom(ctx).Kind
	if err := ask(ctx, w.queue, &handBack{Job: job, Crashed: w.crashed, Why: why}); err != nil {
		return fmt.Errorf("job %d: handing it back: %w", job.ID, err)
	}
	lifecycle.ReportProgress(ctx, fmt.Sprintf("job %d handed back (%v)", job.ID, why), w.units, job.Units)
	w.job = nil
	return nil
}

// ask sends msg to pid from a step and waits for the answer. A refusal (pid is
// stopping) comes back as an error, a *mailbox.Refused, at once.
func ask(ctx context.Context, pid *actor.PID, msg any) error {
	_, err := qactor.Result(mailbox.ActorContext(ctx).RequestFuture(pid, msg, time.Second))
	return err
}
