package chaos

// The schedule, played: the traffic and every way to stop, each at its time, the
// blocking calls on goroutines of their own.

import (
	"context"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/mailbox"
)

// play runs the events in order, each at its time from the start of the window.
// It paces the schedule; it orders nothing the checks rely on.
func (r *run) play(events []Event) {
	for _, e := range events {
		if d := time.Until(r.begin.Add(e.At)); d > 0 {
			work(d)
		}
		r.do(e)
	}
}

// do does one event. A call that blocks runs on a goroutine of its own.
func (r *run) do(e Event) {
	if e.Kind == Shutdown {
		r.shutdown(e)
		return
	}
	in := r.current(e.Node)
	in.note(e)
	switch e.Kind {
	case Burst:
		for _, id := range e.Msgs {
			r.send(in, id)
		}
	case RootStop:
		r.sys.Root.Stop(in.pid)
		in.askedToStop("system.Root.Stop")
	case StopFuture:
		f := r.sys.Root.StopFuture(in.pid)
		in.askedToStop("system.Root.StopFuture")
		r.await(in, e.Kind, f)
	case Poison:
		r.sys.Root.Poison(in.pid)
	case PoisonFuture:
		r.await(in, e.Kind, r.sys.Root.PoisonFuture(in.pid))
	case QStop:
		r.calls.Add(1)
		go func() {
			defer r.calls.Done()
			ctx, cancel := r.ctx, context.CancelFunc(func() {})
			if e.Deadline > 0 {
				ctx, cancel = context.WithTimeout(r.ctx, e.Deadline)
			}
			defer cancel()
			rep, err := qactor.Stop(ctx, r.sys, in.pid, errStop)
			r.mu.Lock()
			r.stops = append(r.stops, stopCall{in, rep, err})
			r.mu.Unlock()
		}()
	case Force:
		if err := qactor.Force(r.sys, errForce, in.pid); err != nil && !errors.Is(err, qactor.ErrNotComponent) {
			r.violate(invCalls, in, "Force: %v", err)
		}
	case SetBudget:
		from := time.Now()
		if err := qactor.SetBudget(r.sys, in.pid, e.Budget); err != nil && !errors.Is(err, qactor.ErrNotComponent) {
			r.violate(invCalls, in, "SetBudget(%v): %v", e.Budget, err)
		}
		in.mu.Lock()
		in.budgets = append(in.budgets, budgetSet{e.Budget, "SetBudget", from, time.Now()})
		in.mu.Unlock()
	}
}

// send sends message id to in: a plain send, a request from the client, or a future.
func (r *run) send(in *instance, id int) {
	spec := r.sc.Msgs[id]
	r.ledger[id].to.Store(in)
	switch {
	case !spec.Request:
		r.sys.Root.Send(in.pid, &msg{id})
	case !spec.Future:
		r.sys.Root.Send(r.client, &ask{in.pid, id})
	default:
		f := r.sys.Root.RequestFuture(in.pid, &msg{id}, r.sc.Bound()+5*time.Second)
		r.calls.Add(1)
		go func() {
			defer r.calls.Done()
			res, err := f.Result()
			led := &r.ledger[id]
			switch v := res.(type) {
			case *answer:
				led.answered.Add(1)
			case *mailbox.Refused:
				r.refusal(v, true)
			default:
				switch {
				case errors.Is(err, actor.ErrDeadLetter):
					// counted as gone from the dead letter
				case errors.Is(err, actor.ErrTimeout):
					led.lost.Add(1)
				default:
					r.violate(invLedger, in, "request %d resolved to %T %v, %v", id, res, res, err)
				}
			}
		}()
	}
}

// await keeps what a StopFuture or PoisonFuture resolves to.
func (r *run) await(in *instance, k Kind, f *actor.Future) {
	r.calls.Add(1)
	go func() {
		defer r.calls.Done()
		err := f.Wait()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.futures = append(r.futures, futureRes{in, k, err})
	}()
}

// shutdown calls qactor.Shutdown on the roots of the moment, and again if e says so.
func (r *run) shutdown(e Event) {
	var roots []*instance
	for _, n := range r.sc.Roots {
		in := r.current(n.ID)
		roots = append(roots, in)
		in.note(e)
		if e.Deadline > 0 {
			// Shutdown sets the budget as it begins; when is not known closer than this.
			now := time.Now()
			in.mu.Lock()
			in.budgets = append(in.budgets, budgetSet{mailbox.After(e.Deadline), "Shutdown", now, now.Add(r.slack())})
			in.mu.Unlock()
		}
	}
	pids := make([]*actor.PID, len(roots))
	for i, in := range roots {
		pids[i] = in.pid
	}
	call := func(again bool) {
		defer r.calls.Done()
		ctx, cancel := r.ctx, context.CancelFunc(func() {})
		if e.Deadline > 0 {
			ctx, cancel = context.WithTimeout(r.ctx, e.Deadline)
		}
		defer cancel()
		tree, err := qactor.Shutdown(ctx, r.sys, errShutdown, pids...)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.shutdowns = append(r.shutdowns, shutCall{roots, tree, err, again})
	}
	r.calls.Add(1)
	go call(false)
	if e.Again {
		r.calls.Add(1)
		go func() {
			work(e.Gap)
			call(true)
		}()
	}
}
