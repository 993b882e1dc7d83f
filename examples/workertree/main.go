// Command workertree runs a batch of jobs on a supervised tree of workers, stops it
// gracefully midway, and resumes it on the next run: no job is lost, and none is
// done twice, across the stop and the restart.
//
// Workers pull jobs from a queue actor. Some attempts panic; the pool's OneForOne
// strategy restarts the worker, and the worker's plan hands its job back to the
// queue first. At shutdown, jobs in flight finish (a defer-flag step), and the
// queue writes the jobs it still holds to a state file, with the record of every
// job done, which the next run resumes. See supervisor.go for the tree, worker.go
// for the workers' plan, queue.go for the books and state.go for the file.
//
//	go run ./examples/workertree          # a new batch, stopped once half is done
//	go run ./examples/workertree          # resumes it, to the end
//	go run ./examples/workertree -fresh   # forgets the state file and starts over
//
// Ctrl-C begins the shutdown early. -deadline bounds it: when it runs out, the
// shutdown is forced, and only the steps marked Always run (workers hand their jobs
// back, the queue saves). A forced queue does not read the news already in its
// mailbox, so a job finished in the last moments can be lost; the ledger counts it,
// and the exit status is 1. Shutdown keeps twice AbandonAfter (2 s) of the
// deadline for forcing, so a -deadline under 2 s forces at once.
//
// The state file is written once, when the queue stops: a run killed outright (a
// second Ctrl-C, kill -9) leaves the previous file, and the next run does that run's
// jobs again. A real system would also journal each job as it is done.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
)

type config struct {
	state     string        // the state file
	fresh     bool          // ignore the state file: start a new batch
	jobs      int           // jobs in a new batch
	seed      uint64        // a new batch's seed: its jobs' sizes, and which attempts panic
	crash     float64       // in a new batch, the chance that an attempt panics
	pools     int           // pools under the root
	workers   int           // workers per pool
	unit      time.Duration // how long a unit of work takes; a job has 1 to 6
	stopAfter int           // begin the shutdown once this many jobs are done; -1: the demo decides
	runFor    time.Duration // begin the shutdown after this long; 0: never
	deadline  time.Duration // the shutdown's outer deadline
	verbose   bool          // log lifecycle events to stderr
}

func main() {
	var cfg config
	flag.StringVar(&cfg.state, "state", filepath.Join(os.TempDir(), "workertree-state.json"), "the state file: the jobs handed back, and those done")
	flag.BoolVar(&cfg.fresh, "fresh", false, "ignore the state file and start a new batch")
	flag.IntVar(&cfg.jobs, "jobs", 120, "jobs in a new batch")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of a new batch")
	flag.Float64Var(&cfg.crash, "crash", 0.15, "chance that an attempt at a job panics, in a new batch")
	flag.IntVar(&cfg.pools, "pools", 2, "pools of workers")
	flag.IntVar(&cfg.workers, "workers", 4, "workers per pool")
	flag.DurationVar(&cfg.unit, "unit", 20*time.Millisecond, "time a unit of work takes (a job has 1 to 6)")
	flag.IntVar(&cfg.stopAfter, "stop-after", -1, "begin the shutdown once this many jobs are done (default: half a new batch, all of a resumed one)")
	flag.DurationVar(&cfg.runFor, "for", 0, "begin the shutdown after this long (0: see -stop-after)")
	flag.DurationVar(&cfg.deadline, "deadline", 10*time.Second, "outer deadline of the shutdown")
	flag.BoolVar(&cfg.verbose, "v", false, "log lifecycle events to stderr")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // after the first signal, a second one kills, as by default
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "workertree:", err)
		os.Exit(1)
	}
}

// outcome is what a run did, for the tests.
type outcome struct {
	tree       *qactor.Tree
	toDo       int // jobs pending when the run began
	doneBefore int
	sum        summary
	restarts   int
}

// run works on the batch in cfg.state (or a new one) until the stop point, shuts
// the tree down, and writes the report and the ledger to out. ctx being done
// begins the shutdown early.
func run(ctx context.Context, cfg config, out io.Writer) (*outcome, error) {
	if cfg.pools <= 0 || cfg.workers <= 0 || cfg.jobs <= 0 || cfg.unit <= 0 || cfg.crash < 0 || cfg.crash >= 1 {
		return nil, errors.New("-pools, -workers, -jobs and -unit must be positive, and -crash in [0, 1)")
	}
	st, err := loadState(cfg.state)
	if err != nil {
		return nil, err
	}
	resumed := st != nil && !cfg.fresh && len(st.Pending) > 0
	if !resumed {
		if st != nil && !cfg.fresh {
			fmt.Fprintf(out, "the batch in %s is complete: %d jobs in %d runs\n", cfg.state, st.Jobs, st.Runs)
		}
		st = newBatch(cfg.seed, cfg.jobs, cfg.crash)
	}
	stopAfter := cfg.stopAfter
	if stopAfter < 0 && (resumed || cfg.runFor > 0) {
		stopAfter = 0
	} else if stopAfter < 0 {
		stopAfter = len(st.Pending) / 2
	}
	o := &outcome{toDo: len(st.Pending), doneBefore: len(st.Done)}
	fmt.Fprintf(out, "run %d of a batch of %d jobs (seed %d; %.0f%% of attempts panic): %d to do\n",
		st.Runs+1, st.Jobs, st.Seed, 100*st.Crash, o.toDo)
	fmt.Fprintf(out, "%d pools of %d workers; state in %s\n", cfg.pools, cfg.workers, cfg.state)

	logs := slog.New(slog.DiscardHandler)
	if cfg.verbose {
		logs = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logs }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
	q := newQueue(cfg.state, st, stopAfter)
	var restarts atomic.Int64
	r := &root{queue: q, pools: cfg.pools, workers: cfg.workers, unit: cfg.unit, restart: &restarts}
	props, err := r.component().Props()
	if err != nil {
		return nil, err
	}
	pid, err := sys.Root.SpawnNamed(props, "workertree")
	if err != nil {
		return nil, err
	}

	var timeout <-chan time.Time
	if cfg.runFor > 0 {
		t := time.NewTimer(cfg.runFor)
		defer t.Stop()
		timeout = t.C
	}
	var cause error
	select {
	case <-q.midway:
		cause = fmt.Errorf("%d jobs done, the demo stops midway", stopAfter)
	case <-q.finished:
		cause = errors.New("every job is done")
	case <-timeout:
		cause = fmt.Errorf("ran for %v", cfg.runFor)
	case <-ctx.Done():
		cause = context.Cause(ctx)
	}

	// The shutdown has its own deadline; ctx may already be done.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.deadline)
	defer cancel()
	o.tree, err = qactor.Shutdown(sctx, sys, cause, pid)
	o.restarts = int(restarts.Load())
	select {
	case o.sum = <-q.saved:
	default:
		return o, errors.Join(err, errors.New("the queue stopped without saving: the jobs it held are lost"))
	}
	report(out, o)
	if lost := o.lost(); lost > 0 || o.sum.twice > 0 {
		err = errors.Join(err, fmt.Errorf("%d jobs lost (in flight when the queue stopped: %v), %d done twice", lost, o.sum.lost, o.sum.twice))
	}
	return o, errors.Join(err, o.sum.err)
}

// lost counts the jobs this run began with that are neither done nor handed back.
func (o *outcome) lost() int { return o.toDo - len(o.sum.done) - o.sum.saved }

// report writes the shutdown's tree report, what the steps said they did (the tree
// shows statuses and durations; the steps' own words are in their Progress), and
// the ledger.
func report(w io.Writer, o *outcome) {
	fmt.Fprintf(w, "at the shutdown: %d jobs in flight, %d queued\n\n", len(o.sum.inFlight), o.sum.queuedAtClose)
	fmt.Fprint(w, o.tree.String())
	fmt.Fprintln(w, "\nwhat the steps did:")
	var walk func(r *lifecycle.Report)
	walk = func(r *lifecycle.Report) {
		for _, s := range r.Steps {
			if s.Progress != nil && s.Name != "children" {
				fmt.Fprintf(w, "  %s: %s: %v\n", r.Actor, s.Name, s.Progress)
			}
		}
		for _, c := range r.Children {
			walk(c)
		}
	}
	for _, r := range o.tree.Roots {
		walk(r)
	}
	fmt.Fprintf(w, "\nledger: %d jobs, %d done this run, %d handed back, %d lost, %d done twice\n",
		o.toDo, len(o.sum.done), o.sum.saved, o.lost(), o.sum.twice)
	fmt.Fprintf(w, "        %d panics, %d restarts; %d jobs of the batch were done before this run\n",
		o.sum.panics, o.restarts, o.doneBefore)
	if o.sum.saved > 0 {
		fmt.Fprintf(w, "the next run resumes the %d jobs handed back\n", o.sum.saved)
	}
}
