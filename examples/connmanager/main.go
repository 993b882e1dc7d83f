// Command connmanager is a TCP key-value server whose every connection is a Quiesce
// component: on SIGINT or SIGTERM it stops accepting, lets each connection finish its
// in-flight requests (new ones are refused with the reason), says BYE and closes,
// then prints the shutdown's tree report. A second signal forces.
//
// With no flags it is a self-contained demo: it serves on a free loopback port,
// starts 200 clients, begins the shutdown midway through their load, shows the
// progress, and prints the report and a ledger of every request: answered, refused
// with a reason, or lost. Lost must be 0.
//
//	go run ./examples/connmanager                       # the demo
//	go run ./examples/connmanager -listen :7000 -drain 10s   # a real server
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
	"os/signal"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
)

type config struct {
	listen   string        // address to serve on; empty runs the demo on a free loopback port
	maxConns int           // connections beyond are told ERR too many connections
	drain    time.Duration // each connection's budget to finish its in-flight requests
	grace    time.Duration // the whole shutdown's outer deadline, like a pod's
	idle     time.Duration // a client silent this long is told BYE
	maxLine  int           // longer lines are answered ERR line too long
	runFor   time.Duration // stop after this long; zero waits for a signal (or, in the demo, midway)
	clients  int           // the demo's clients
	verbose  bool          // log lifecycle events (slog, debug level) to stderr
}

func main() {
	var cfg config
	flag.StringVar(&cfg.listen, "listen", "", "address to serve on, such as :7000 (empty: run the demo)")
	flag.IntVar(&cfg.maxConns, "max-conns", 1000, "maximum connections")
	flag.DurationVar(&cfg.drain, "drain", 5*time.Second, "drain budget per connection")
	flag.DurationVar(&cfg.grace, "grace", 30*time.Second, "outer deadline of the whole shutdown")
	flag.DurationVar(&cfg.idle, "idle", 30*time.Second, "idle timeout per connection")
	flag.IntVar(&cfg.maxLine, "max-line", 1024, "maximum line length in bytes")
	flag.DurationVar(&cfg.runFor, "for", 0, "stop after this long (0: wait for a signal)")
	flag.IntVar(&cfg.clients, "clients", 200, "demo clients")
	flag.BoolVar(&cfg.verbose, "v", false, "log lifecycle events to stderr")
	flag.Parse()

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	if _, err := run(cfg, os.Stdout, signals); err != nil {
		fmt.Fprintln(os.Stderr, "connmanager:", err)
		os.Exit(1)
	}
}

// outcome is what a run leaves, for the tests.
type outcome struct {
	tree   *qactor.Tree
	stats  *stats
	ledger *ledger // the demo's clients' ledger; nil for a real server
	addr   string
}

// run serves until a signal, cfg.runFor, or (in the demo) midway through the load,
// then shuts down gracefully and reports. A second signal during the shutdown forces it.
func run(cfg config, out io.Writer, signals <-chan os.Signal) (*outcome, error) {
	srv, err := serve(&cfg)
	if err != nil {
		return nil, err
	}
	sys, root, st := srv.sys, srv.root, srv.stats
	if serving != nil {
		serving(srv)
	}
	o := &outcome{stats: st, addr: srv.addr}
	fmt.Fprintf(out, "listening on %s\n", o.addr)

	var demo *load
	if cfg.listen == "" {
		demo = startLoad(o.addr, cfg.clients, cfg.clients*8)
		o.ledger = &demo.ledger
		fmt.Fprintf(out, "%d clients sending GET, SET and SLOW requests\n", cfg.clients)
	}

	cause := waitForStop(cfg, signals, demo)
	fmt.Fprintf(out, "shutting down (%v): stop accepting, drain, say BYE, close\n", cause)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.grace)
	defer cancel()

	type result struct {
		tree *qactor.Tree
		err  error
	}
	done := make(chan result, 1)
	go func() {
		tree, err := qactor.Shutdown(ctx, sys, cause, root)
		done <- result{tree, err}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var r result
wait:
	for {
		select {
		case r = <-done:
			break wait
		case sig := <-signals:
			fmt.Fprintf(out, "%v again: forcing\n", sig)
			_ = qactor.Force(sys, fmt.Errorf("second %v", sig), root) // reaches every session still stopping
		case <-tick.C:
			fmt.Fprintf(out, "  %4d connections open, %3d requests in flight\n", st.open.Load(), st.inflight.Load())
		}
	}
	if demo != nil {
		demo.wait()
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

// serving, when set (by tests), sees the server run starts.
var serving func(*server)

// server is a running connmanager: its actor system, its root actor, its counters.
type server struct {
	sys   *actor.ActorSystem
	root  *actor.PID
	stats *stats
	addr  string
}

// serve starts listening (on a free loopback port when cfg.listen is empty) and
// spawns the listener component.
func serve(cfg *config) (*server, error) {
	addr := cfg.listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	st := &stats{}
	props, err := listenerComponent(ln, st, cfg).Props()
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	sys := newSystem(cfg.verbose)
	root, err := sys.Root.SpawnNamed(props, "listener")
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	return &server{sys: sys, root: root, stats: st, addr: ln.Addr().String()}, nil
}

// waitForStop returns why the server should stop.
func waitForStop(cfg config, signals <-chan os.Signal, demo *load) error {
	var after <-chan time.Time
	if cfg.runFor > 0 {
		t := time.NewTimer(cfg.runFor)
		defer t.Stop()
		after = t.C
	}
	var midway <-chan struct{}
	if demo != nil {
		midway = demo.midway
	}
	select {
	case sig := <-signals:
		return fmt.Errorf("%v", sig)
	case <-after:
		return fmt.Errorf("ran for %v", cfg.runFor)
	case <-midway:
		return errors.New("demo: midway through the load")
	}
}

func newSystem(verbose bool) *actor.ActorSystem {
	var h slog.Handler = slog.NewTextHandler(io.Discard, nil)
	if verbose {
		h = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(h) }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
}
