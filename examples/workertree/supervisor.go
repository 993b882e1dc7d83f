package main

// The tree:
//
//	workertree          the root: starts the queue, then the pools
//	├── queue           hands out jobs, keeps the books, saves what is left
//	├── pool-1          supervises its workers: OneForOne, Restart
//	│   ├── w1 … wN
//	└── pool-2
//	    └── w1 … wN
//
// Shutdown stops the root. Its plan closes the queue's intake first, so that no job
// starts once the shutdown has begun, then stops its children one at a time in
// reverse start order (mailbox.Reverse), as an OTP supervisor does: the pools first,
// whose workers finish or hand back what they hold, and the queue last, so that it
// is still there to take every job handed back before it saves them.

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// root is the top of the tree.
type root struct {
	queue   *queue
	pools   int
	workers int
	unit    time.Duration
	restart *atomic.Int64 // shared by the pools: restarts seen
	qpid    *actor.PID
}

func (r *root) component() qactor.Component[*root] {
	return qactor.Component[*root]{
		New:   func() *root { return r },
		Start: []func(*root, actor.Context) error{(*root).spawn},
		Steps: []qactor.Step[*root]{
			{Name: "close intake", Policy: policy.Plain, Always: true, Timeout: time.Second, Run: (*root).closeIntake},
			qactor.Children[*root](policy.DeferFlag, 0),
		},
		Order: mailbox.Reverse,
	}
}

// spawn starts the queue, then the pools: the order in which Reverse stops them
// is the other way round.
func (r *root) spawn(c actor.Context) error {
	qprops, err := r.queue.component().Props()
	if err != nil {
		return err
	}
	if r.qpid, err = c.SpawnNamed(qprops, "queue"); err != nil {
		return err
	}
	wprops, err := workerComponent(r.queue.st, r.unit, r.qpid).Props()
	if err != nil {
		return err
	}
	pprops, err := poolComponent(wprops, r.workers, r.restart).Props()
	if err != nil {
		return err
	}
	for i := range r.pools {
		if _, err := c.SpawnNamed(pprops, fmt.Sprintf("pool-%d", i+1)); err != nil {
			return err
		}
	}
	return nil
}

func (r *root) Receive(actor.Context) {}

// closeIntake is the root's first step: from now on the queue hands out nothing.
func (r *root) closeIntake(ctx context.Context) error {
	return ask(ctx, r.qpid, &closeIntake{})
}

// pool supervises its workers. protoactor's OneForOne strategy restarts a worker
// that panics, and Quiesce turns the Restart into the run of the worker's plan,
// with reason Restarting, before the new incarnation starts. More than 10
// restarts of one worker within a second stop it instead: its plan still hands
// its job back.
type pool struct {
	workers  int
	props    *actor.Props
	restarts *atomic.Int64
}

func poolComponent(worker *actor.Props, n int, restarts *atomic.Int64) qactor.Component[*pool] {
	strategy := actor.NewOneForOneStrategy(10, time.Second, actor.DefaultDecider)
	return qactor.Component[*pool]{
		New: func() *pool { return &pool{workers: n, props: worker, restarts: restarts} },
		Start: []func(*pool, actor.Context) error{func(p *pool, c actor.Context) error {
			for i := range p.workers {
				if _, err := c.SpawnNamed(p.props, fmt.Sprintf("w%d", i+1)); err != nil {
					return err
				}
			}
			return nil
		}},
		// No steps: a component with children stops them first, in parallel.
		Options: []actor.PropsOption{actor.WithSupervisor(strategy)},
	}
}

// Receive hears each child's report when it has stopped, or restarted: a Finished
// notice, before protoactor's Terminated. A restart's report has reason Restarting.
func (p *pool) Receive(c actor.Context) {
	if f, ok := c.Message().(*mailbox.Finished); ok && f.Report.Reason.Kind == lifecycle.Restarting {
		p.restarts.Add(1)
	}
}
