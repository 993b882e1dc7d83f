// Command component shows the smallest useful Quiesce component: a worker whose
// Stopping phase flushes what it holds, deregisters, and closes. It prints the
// plan's dry run, stops the worker while messages are queued and a second stop
// comes mid-flush, and prints the report. Then it shows a plan rejected before
// anything runs.
//
//	go run ./examples/component
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// Worker is an ordinary protoactor actor...
type Worker struct {
	pending int
	cue     chan<- string   // in this demo, steps say when they start...
	resume  <-chan struct{} // ...and flush waits for its cue, so the output never varies
}

func (w *Worker) Receive(c actor.Context) {
	if p, ok := c.Message().(pause); ok {
		p.busy <- struct{}{} // in this demo: busy until the stop has begun, so that
		<-p.release          // the three jobs queued meanwhile are drained by it
		return
	}
	if job, ok := c.Message().(string); ok {
		time.Sleep(20 * time.Millisecond) // the work
		w.pending++
		c.Respond("done " + job)
	}
}

// pause keeps the worker busy, saying so on busy, until release is closed.
type pause struct{ busy, release chan struct{} }

// ...with three steps for its Stopping phase, as methods.
func (w *Worker) flush(ctx context.Context) error {
	w.cue <- "flush"
	<-w.resume // the work: it finishes whatever happens meanwhile, since it runs under DeferFlag
	lifecycle.ReportProgress(ctx, "flushed", w.pending, w.pending)
	return nil
}

func (w *Worker) deregister(ctx context.Context) error {
	w.cue <- "deregister"
	select { // may be cut short: it runs under Plain
	case <-time.After(time.Second):
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (w *Worker) close(context.Context) error { return nil }

// declare declares the worker with its plan, checked against a pod's 30 s.
func declare(cue chan<- string, resume <-chan struct{}) qactor.Component[*Worker] {
	return qactor.Component[*Worker]{
		New: func() *Worker { return &Worker{cue: cue, resume: resume} },
		Steps: []qactor.Step[*Worker]{
			{Name: "flush", Policy: policy.DeferFlag, Timeout: 5 * time.Second, Run: (*Worker).flush},
			{Name: "deregister", Policy: policy.Plain, Timeout: 2 * time.Second, Run: (*Worker).deregister},
			{Name: "close", Policy: policy.Plain, Timeout: time.Second, Always: true, Run: (*Worker).close},
		},
		Deadline: 30 * time.Second,
	}
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond), // its goroutine sleeps one interval
	)

	cue, resume := make(chan string), make(chan struct{})
	component := declare(cue, resume)
	plan, err := component.Plan()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "The dry run, before anything runs:\n%v\n", plan)

	pid := sys.Root.Spawn(component.MustProps())
	busy := pause{make(chan struct{}), make(chan struct{})}
	sys.Root.Send(pid, busy)
	<-busy.busy
	for i := range 3 {
		sys.Root.Send(pid, fmt.Sprintf("job-%d", i))
	}
	reports := make(chan *lifecycle.Report, 1)
	go func() {
		rep, _ := qactor.Stop(context.Background(), sys, pid, errors.New("deploy v2"))
		reports <- rep
	}()
	for phase, _ := qactor.PhaseOf(sys, pid); phase != lifecycle.Stopping; phase, _ = qactor.PhaseOf(sys, pid) {
		runtime.Gosched() // until the stop has begun: the three jobs are queued before it
	}
	close(busy.release)
	<-cue // the queued jobs are drained; flush runs
	_, err = qactor.Result(sys.Root.RequestFuture(pid, "job-late", time.Second))
	fmt.Fprintf(out, "A request after the stop began: %v\n", err)
	sys.Root.Stop(pid) // a second stop, while flush runs: deferred
	close(resume)
	<-cue              // deregister runs
	sys.Root.Stop(pid) // a third: it interrupts deregister
	rep := <-reports
	fmt.Fprintf(out, "\nThe report:\n%v\nWith %%+v:\n%+v\n", rep, rep)

	_, err = qactor.Component[*Worker]{
		New:      func() *Worker { return &Worker{} },
		Deadline: 2 * time.Second,
		Steps: []qactor.Step[*Worker]{
			{Name: "flush", Timeout: 3 * time.Second, Run: (*Worker).flush},
			{Name: "flush", Grace: time.Second},
		},
	}.Props()
	fmt.Fprintf(out, "A plan that cannot work is rejected before anything runs:\n%v\n", err)
	return nil
}
