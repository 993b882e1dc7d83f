package main

// The queue is the one actor that knows every job's fate: pending, in flight at a
// worker, or done. Workers pull: each asks for a job when it is idle, and the queue
// answers when it has one. Since every change goes through the queue's mailbox,
// "done twice" and "lost" are questions its own books can answer.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// Messages between the workers and the queue.
type (
	// want: an idle worker asks for a job (a Request, so the queue knows who asks).
	want struct{}
	// jobDone: a worker finished a job. Answered with ack when asked with a Request.
	jobDone struct {
		ID int
		By string
	}
	// handBack: a worker gives back a job it will not finish; answered with ack.
	handBack struct {
		Job     Job
		Crashed bool                 // the attempt panicked
		Why     lifecycle.ReasonKind // why the worker stopped or restarted
	}
	// closeIntake: the shutdown began, so no job starts from now on; answered with ack.
	closeIntake struct{}
	ack         struct{}
)

// summary is what the queue leaves when it stops: its books, for the ledger.
type summary struct {
	done          []DoneRecord // done this run
	saved         int          // jobs handed back to the state file
	lost          []int        // in flight when the queue stopped: nobody can say what became of them
	twice         int          // a job reported done once more
	panics        int          // attempts that panicked and came back
	inFlight      []int        // jobs in flight when the intake closed
	queuedAtClose int          // jobs queued when the intake closed
	err           error        // the state file could not be written
}

// queue hands out the batch's pending jobs and keeps the books.
type queue struct {
	path     string
	st       *State // the batch as this run found it
	pending  []Job
	idle     []*actor.PID       // workers waiting for a job, first come first served
	inflight map[int]*actor.PID // job ID: the worker that has it
	isDone   map[int]bool       // done, this run or before
	sum      summary
	open     bool

	// run waits on these: midway closes once stopAfter jobs are done (if
	// stopAfter > 0), finished once every job of the batch is. saved gets the
	// summary when the queue stops.
	stopAfter        int
	midway, finished chan struct{}
	saved            chan summary
}

func newQueue(path string, st *State, stopAfter int) *queue {
	q := &queue{
		path: path, st: st, pending: slices.Clone(st.Pending), open: true,
		inflight: make(map[int]*actor.PID), isDone: make(map[int]bool, st.Jobs),
		stopAfter: stopAfter, midway: make(chan struct{}), finished: make(chan struct{}),
		saved: make(chan summary, 1),
	}
	for _, d := range st.Done {
		q.isDone[d.ID] = true
	}
	return q
}

// component is the queue as a Quiesce component. New returns the same queue every
// time: its books must outlive an incarnation if it is ever restarted. Its one
// step is Always, so that it saves even after a force.
func (q *queue) component() qactor.Component[*queue] {
	return qactor.Component[*queue]{
		New: func() *queue { return q },
		Steps: []qactor.Step[*queue]{
			{Name: "save", Policy: policy.Plain, Always: true, Timeout: 5 * time.Second, Run: (*queue).save},
		},
	}
}

func (q *queue) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *want:
		if w := c.Sender(); w != nil && !slices.ContainsFunc(q.idle, w.Equal) {
			q.idle = append(q.idle, w)
		}
		q.dispatch(c)
	case *jobDone:
		q.markDone(m)
		if c.Sender() != nil {
			c.Respond(&ack{})
		}
	case *handBack:
		// A job that was started goes to the front: it has waited longest.
		delete(q.inflight, m.Job.ID)
		q.pending = slices.Insert(q.pending, 0, m.Job)
		if m.Crashed {
			q.sum.panics++
		}
		c.Respond(&ack{})
		q.dispatch(c)
	case *mailbox.Refused:
		// We sent a job to a worker that had begun to stop: its mailbox refused the
		// job and, since we sent it with Request, gave it back to us as the reply.
		// It never started, so it goes back to the front as it was.
		if j, ok := m.Message.(*Job); ok {
			delete(q.inflight, j.ID)
			q.pending = slices.Insert(q.pending, 0, *j)
			q.dispatch(c)
		}
	case *closeIntake:
		q.open = false
		for id := range q.inflight {
			q.sum.inFlight = append(q.sum.inFlight, id)
		}
		q.sum.queuedAtClose = len(q.pending)
		c.Respond(&ack{})
	}
}

// dispatch gives pending jobs to idle workers while the intake is open. A job goes
// with Request, so that a refusal comes back here rather than to the dead letters.
func (q *queue) dispatch(c actor.Context) {
	for q.open && len(q.pending) > 0 && len(q.idle) > 0 {
		j, w := q.pending[0], q.idle[0]
		q.pending, q.idle = q.pending[1:], q.idle[1:]
		q.inflight[j.ID] = w
		c.Request(w, &j)
	}
}

func (q *queue) markDone(m *jobDone) {
	delete(q.inflight, m.ID)
	if q.isDone[m.ID] {
		q.sum.twice++
		return
	}
	q.isDone[m.ID] = true
	q.sum.done = append(q.sum.done, DoneRecord{ID: m.ID, Run: q.st.Runs + 1, By: m.By})
	if len(q.sum.done) == q.stopAfter {
		close(q.midway)
	}
	if len(q.isDone) == q.st.Jobs {
		close(q.finished)
	}
}

// save is the queue's Stopping phase: every worker has stopped by now (the root
// stops the queue last), so what is pending is what this run hands back. It goes to
// the state file with the record of what is done, and the books go to run.
func (q *queue) save(ctx context.Context) error {
	q.sum.lost = q.sum.lost[:0]
	for id := range q.inflight {
		q.sum.lost = append(q.sum.lost, id)
	}
	next := *q.st
	next.Runs++
	next.Pending = q.pending
	next.Done = append(slices.Clone(q.st.Done), q.sum.done...)
	q.sum.saved = len(q.pending)
	q.sum.err = saveState(q.path, &next)
	if q.sum.err != nil {
		q.sum.err = fmt.Errorf("saving the state: %w", q.sum.err)
	} else {
		lifecycle.ReportProgress(ctx, "jobs handed back to "+q.path, len(q.pending), len(q.pending))
	}
	select { // the latest books replace any a restart's plan left: only we send
	case <-q.saved:
	default:
	}
	q.saved <- q.sum
	return q.sum.err
}
