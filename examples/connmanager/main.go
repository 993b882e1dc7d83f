// Command connmanager is a TCP key-value server whose every connection is a Quiesce
// component: on SIGINT or SIGTERM it stops accepting, lets each connection finish its
// in-flight requests (new ones are refused with the reason), says BYE and closes,
// then prints the shutdown's tree report. A signal during the shutdown forces it.
// While it drains it shows how far it has got: one live bar on a terminal, a plain
// line a second (and the last) otherwise. With -ready, an HTTP readiness endpoint
// answers 200 while it serves and 503, with the drain's status as JSON, from the
// moment the shutdown begins.
//
// With no flags it is a self-contained demo: it serves on a free loopback port (and
// its readiness endpoint on another), starts 200 clients, begins the shutdown midway
// through their load, shows the progress, and prints the report and a ledger of
// every request: answered, refused with a reason, or lost. Lost must be 0.
//
//	go run ./examples/connmanager                       # the demo
//	go run ./examples/connmanager -listen :7000 -ready :8081 -drain 10s   # a real server
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/trigger"
)

type config struct {
	listen   string        // address to serve on; empty runs the demo on a free loopback port
	ready    string        // address of the readiness endpoint; empty: none (the demo takes a loopback port)
	maxConns int           // connections beyond are told ERR too many connections
	drain    time.Duration // each connection's budget to finish its in-flight requests
	grace    time.Duration // the whole shutdown's outer deadline, like a pod's
	idle     time.Duration // a client silent this long is told BYE
	maxLine  int           // longer lines are answered ERR line too long
	runFor   time.Duration // stop after this long; zero waits for a signal (or, in the demo, midway)
	clients  int           // the demo's clients
	verbose  bool          // log lifecycle events (slog, debug level) to logTo
	logTo    io.Writer     // where -v logs; nil means stderr
	signals  []os.Signal   // the first begins the shutdown, the next forces it
}

func main() {
	cfg := config{signals: []os.Signal{os.Interrupt, syscall.SIGTERM}}
	flag.StringVar(&cfg.listen, "listen", "", "address to serve on, such as :7000 (empty: run the demo)")
	flag.StringVar(&cfg.ready, "ready", "", "address of the HTTP readiness endpoint /ready, such as :8081 (empty: none; the demo takes a loopback port)")
	flag.IntVar(&cfg.maxConns, "max-conns", 1000, "maximum connections")
	flag.DurationVar(&cfg.drain, "drain", 5*time.Second, "drain budget per connection")
	flag.DurationVar(&cfg.grace, "grace", 30*time.Second, "outer deadline of the whole shutdown")
	flag.DurationVar(&cfg.idle, "idle", 30*time.Second, "idle timeout per connection")
	flag.IntVar(&cfg.maxLine, "max-line", 1024, "maximum line length in bytes")
	flag.DurationVar(&cfg.runFor, "for", 0, "stop after this long (0: wait for a signal)")
	flag.IntVar(&cfg.clients, "clients", 200, "demo clients")
	flag.BoolVar(&cfg.verbose, "v", false, "log lifecycle events to stderr")
	flag.Parse()

	if _, err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "connmanager:", err)
		os.Exit(1)
	}
}

// outcome is what a run leaves, for the tests.
type outcome struct {
	tree   *qactor.Tree
	stats  *stats
	ledger *ledger // the demo's clients' ledger; nil for a real server
	probes *probes // the demo's readiness probes; nil for a real server
	addr   string
}

// errMidway is why the demo stops.
var errMidway = errors.New("midway through the demo's load")

// stopWhen is what starts the shutdown, and what forces it: the first of cfg's
// signals, cfg.runFor, or (in the demo) midway through the load begins it; a signal
// once it has begun (a second one, if a signal began it) forces it.
func stopWhen(cfg config, midway context.Context) trigger.Source {
	var begin []trigger.Source
	if len(cfg.signals) > 0 {
		begin = append(begin, trigger.Signal(cfg.signals...))
	}
	if cfg.runFor > 0 {
		begin = append(begin, trigger.After(cfg.runFor))
	}
	if midway != nil {
		begin = append(begin, trigger.Context(midway))
	}
	src := trigger.AnyOf(begin...)
	if len(cfg.signals) > 0 {
		src = trigger.Escalate(src, trigger.Signal(cfg.signals...))
	}
	return src
}

// run serves until it is told to stop (stopWhen), then shuts the actor system down
// gracefully within cfg.grace, shows the drain, and reports.
func run(cfg config, out io.Writer) (*outcome, error) {
	demo := cfg.listen == ""
	if demo && cfg.ready == "" {
		cfg.ready = "127.0.0.1:0"
	}
	var midway context.Context
	var reachedMidway context.CancelCauseFunc
	if demo {
		midway, reachedMidway = context.WithCancelCause(context.Background())
		defer reachedMidway(nil)
	}
	// Watched before serving: a signal is caught from the first connection on.
	w, err := trigger.Watch(context.Background(), stopWhen(cfg, midway))
	if err != nil {
		return nil, err
	}
	defer w.Stop()

	srv, err := serve(&cfg)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	if serving != nil {
		serving(srv)
	}
	o := &outcome{stats: srv.stats, addr: srv.addr}
	fmt.Fprintf(out, "listening on %s\n", o.addr)
	if srv.readyURL != "" {
		fmt.Fprintf(out, "readiness on %s (200 while serving; 503 and the drain's status as JSON once it begins)\n", srv.readyURL)
	}

	var load *load
	if demo {
		o.probes = startProbes(srv.readyURL, 50*time.Millisecond)
		load = startLoad(o.addr, cfg.clients, cfg.clients*8, func() { reachedMidway(errMidway) })
		o.ledger = &load.ledger
		fmt.Fprintf(out, "%d clients sending GET, SET and SLOW requests\n", cfg.clients)
	}

	done := make(chan shutdown, 1)
	go func() {
		tree, err := qactor.ShutdownWhen(context.Background(), srv.sys, w, cfg.grace)
		done <- shutdown{tree, err}
	}()
	<-w.Context().Done() // ShutdownWhen begins the shutdown now
	fmt.Fprintf(out, "shutting down (%v): stop accepting, drain, say BYE, close\n", context.Cause(w.Context()))
	r := follow(out, isTerminal(out), srv.mb, w, done)
	if load != nil {
		load.wait()
		o.probes.stop()
	}
	o.tree = r.tree
	if r.tree != nil {
		printTree(out, r.tree)
	}
	printLedger(out, o)
	if r.err != nil {
		return o, r.err
	}
	if o.ledger != nil && o.ledger.lost.Load() > 0 {
		return o, fmt.Errorf("%d requests lost", o.ledger.lost.Load())
	}
	return o, nil
}

// shutdown is what ShutdownWhen returned.
type shutdown struct {
	tree *qactor.Tree
	err  error
}

// serving, when set (by tests), sees the server run starts.
var serving func(*server)

// server is a running connmanager: its actor system, its root actor and the root's
// mailbox (its stop's Snapshot, live and after it), its counters, its readiness
// endpoint.
type server struct {
	sys      *actor.ActorSystem
	root     *actor.PID
	mb       *mailbox.Mailbox
	stats    *stats
	addr     string
	readyURL string // "" without a readiness endpoint
	ready    *readiness
}

// serve starts listening (on a free loopback port when cfg.listen is empty),
// spawns the listener component, and starts the readiness endpoint if cfg asks.
func serve(cfg *config) (*server, error) {
	addr := cfg.listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	st := &stats{slowed: make(chan struct{}, 1)}
	props, err := listenerComponent(ln, st, cfg).Props()
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	sys := newSystem(cfg.verbose, cfg.logTo)
	root, err := sys.Root.SpawnNamed(props, "listener")
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	srv := &server{sys: sys, root: root, mb: mailbox.Of(sys, root), stats: st, addr: ln.Addr().String()}
	if cfg.ready != "" {
		if srv.ready, err = startReadiness(cfg.ready, srv.mb); err != nil {
			_, _ = qactor.ShutdownSystem(context.Background(), sys, err)
			return nil, err
		}
		srv.readyURL = srv.ready.url
	}
	return srv, nil
}

// close closes the readiness endpoint, once the report is out: until then it
// answers 503 with the final snapshot.
func (s *server) close() {
	if s.ready != nil {
		s.ready.close()
	}
}

// newSystem makes the actor system. Verbose, it logs at debug level to logTo (stderr
// if nil): the mailboxes' phases and steps, and, from the EventStream (which the
// system then asks them to publish on), the progress and notices those do not log.
func newSystem(verbose bool, logTo io.Writer) *actor.ActorSystem {
	var h slog.Handler = slog.NewTextHandler(io.Discard, nil)
	if verbose {
		if logTo == nil {
			logTo = os.Stderr
		}
		h = slog.NewTextHandler(logTo, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	log := slog.New(h)
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
	if verbose {
		mailbox.Configure(sys, mailbox.Settings{Events: true})
		sys.EventStream.Subscribe(func(evt any) { logEvent(log, evt) })
	}
	return sys
}

// logEvent logs what the mailboxes publish and do not log themselves (they log
// phases and steps): progress, and the notices of requests and forces.
func logEvent(log *slog.Logger, evt any) {
	ctx := context.Background()
	switch e := evt.(type) {
	case *mailbox.StepProgress:
		log.LogAttrs(ctx, slog.LevelDebug, "quiesce: progress", slog.String("actor", mailbox.PIDText(e.Actor)),
			slog.String("stop", e.Stop.String()), slog.String("step", e.Step), slog.String("progress", e.Progress.Detail()))
	case *mailbox.DeferredCancel:
		log.LogAttrs(ctx, slog.LevelDebug, "quiesce: request deferred", slog.String("actor", mailbox.PIDText(e.Actor)),
			slog.String("stop", e.Stop.String()), slog.String("step", e.Step), slog.Any("cause", e.Cause), slog.Int("requests", e.StopRequests))
	case *mailbox.Interrupted:
		log.LogAttrs(ctx, slog.LevelDebug, "quiesce: step interrupted", slog.String("actor", mailbox.PIDText(e.Actor)),
			slog.String("stop", e.Stop.String()), slog.String("step", e.Step), slog.Any("cause", e.Cause))
	case *mailbox.Forced:
		log.LogAttrs(ctx, slog.LevelWarn, "quiesce: forced", slog.String("actor", mailbox.PIDText(e.Actor)),
			slog.String("stop", e.Stop.String()), slog.String("step", e.Step), slog.Any("cause", e.Cause))
	case *mailbox.Abandoned:
		log.LogAttrs(ctx, slog.LevelWarn, "quiesce: abandoned", slog.String("actor", mailbox.PIDText(e.Actor)),
			slog.String("stop", e.Stop.String()), slog.String("step", e.Step), slog.String("goroutine", e.Goroutine))
	}
}
