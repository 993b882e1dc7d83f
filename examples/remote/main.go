// Command remote stops a component on another node, over protoactor remote on
// loopback, with a reason, and prints the report that comes back. The other node
// is a second process: this program started again as the server. While the
// component drains, a request from this node is refused at once, with the reason,
// as a local one would be, and a watcher here hears the component's progress and
// its Finished.
//
//	go run ./examples/remote
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
	qremote "github.com/quiesce/quiesce/remote"
)

// roleEnv makes this program the server: the node with the component.
const roleEnv = "QUIESCE_EXAMPLE_REMOTE_ROLE"

func main() {
	var err error
	if os.Getenv(roleEnv) == "server" {
		err = serve(os.Stdin, os.Stdout)
	} else {
		err = run(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Orders is the component on the server. Messages cross protoactor remote only as
// protobuf, so a job is a StringValue.
type Orders struct{ done int }

func (o *Orders) Receive(c actor.Context) {
	if job, ok := c.Message().(*wrapperspb.StringValue); ok {
		time.Sleep(30 * time.Millisecond) // the work
		o.done++
		c.Respond(wrapperspb.String("done " + job.Value))
	}
}

func (o *Orders) flush(ctx context.Context) error {
	lifecycle.ReportProgress(ctx, "flushing", 0, o.done)
	time.Sleep(50 * time.Millisecond) // the flush
	lifecycle.ReportProgress(ctx, "flushed", o.done, o.done)
	return nil
}

func (o *Orders) deregister(context.Context) error { return nil }
func (o *Orders) close(context.Context) error      { return nil }

// node starts an actor system with protoactor remote on a free loopback port and
// Quiesce's remote support installed.
func node() (*actor.ActorSystem, *remote.Remote, *qremote.Node, error) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	r := remote.NewRemote(sys, remote.Configure("127.0.0.1", 0))
	q, err := qremote.Install(sys, qremote.Config{})
	if err != nil {
		return nil, nil, nil, err
	}
	r.Start()
	return sys, r, q, nil
}

// stop shuts a node down: Quiesce's support, then what remote.Shutdown(true) stops
// but for its endpoint manager, whose stop writes a field that the node's endpoint
// writers read without a lock when a peer has left first (a data race in protoactor
// that -race reports), then the actor system.
func stop(sys *actor.ActorSystem, r *remote.Remote, q *qremote.Node) {
	q.Close()
	qremote.StopRemote(sys, r)
	sys.Shutdown()
}

// serve runs the server: the component "orders", until in closes.
func serve(in io.Reader, out io.Writer) error {
	sys, r, q, err := node()
	if err != nil {
		return err
	}
	defer stop(sys, r, q)
	props, err := qactor.Component[*Orders]{
		New: func() *Orders { return &Orders{} },
		Steps: []qactor.Step[*Orders]{
			{Name: "flush", Policy: policy.DeferFlag, Timeout: 5 * time.Second, Run: (*Orders).flush},
			{Name: "deregister", Policy: policy.Plain, Timeout: 2 * time.Second, Run: (*Orders).deregister},
			{Name: "close", Policy: policy.Plain, Timeout: time.Second, Always: true, Run: (*Orders).close},
		},
		Deadline: 30 * time.Second,
	}.Props()
	if err != nil {
		return err
	}
	if _, err := sys.Root.SpawnNamed(props, "orders"); err != nil {
		return err
	}
	fmt.Fprintf(out, "listening on %s\n", sys.Address())
	_, _ = io.Copy(io.Discard, in)
	return nil
}

// run is the client: it starts the server, stops its component and prints what
// happened.
func run(out io.Writer) error {
	server := exec.Command(os.Args[0])
	server.Env = append(os.Environ(), roleEnv+"=server")
	server.Stderr = os.Stderr
	toServer, err := server.StdinPipe()
	if err != nil {
		return err
	}
	fromServer, err := server.StdoutPipe()
	if err != nil {
		return err
	}
	if err := server.Start(); err != nil {
		return err
	}
	defer func() {
		_ = toServer.Close() // the server stops when its input closes
		_ = server.Wait()
	}()
	line, err := bufio.NewReader(fromServer).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		return fmt.Errorf("the server did not start: %q %v", line, err)
	}
	fmt.Fprintf(out, "server: a second process, listening on %s\n", addr)

	sys, r, q, err := node()
	if err != nil {
		return err
	}
	defer stop(sys, r, q) // before the server's: a node that leaves first is the cleaner case
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	orders := actor.NewPID(addr, "orders")
	phase, _ := qactor.PhaseOf(sys, orders)
	fmt.Fprintf(out, "client: %s; orders is %v\n", sys.Address(), phase)

	// A watcher here hears the component's notices and progress, as its parent there does.
	heard := make(chan any, 16)
	watcher := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case mailbox.Notice:
			heard <- m
		}
	}))
	if err := q.Watch(ctx, orders, watcher); err != nil {
		return err
	}

	jobs := make([]*actor.Future, 3)
	for i := range jobs {
		jobs[i] = sys.Root.RequestFuture(orders, wrapperspb.String(fmt.Sprintf("job %d", i+1)), 10*time.Second)
	}
	type stopped struct {
		report *lifecycle.Report
		err    error
	}
	done := make(chan stopped, 1)
	go func() {
		rep, err := qactor.Stop(ctx, sys, orders, errors.New("deploy v2"))
		done <- stopped{rep, err}
	}()
	// The jobs queued before the stop are drained; once flush has begun, a new
	// request is refused at once, with the reason.
	for m := range heard {
		if p, ok := m.(*mailbox.Progressed); ok && p.Step == "flush" {
			fmt.Fprintf(out, "watcher: %s %s\n", p.Step, p.Progress)
			break
		}
	}
	_, err = qactor.Result(sys.Root.RequestFuture(orders, wrapperspb.String("job 4"), 10*time.Second))
	fmt.Fprintf(out, "a request during the stop: %v\n", err)
	fmt.Fprintf(out, "  errors.Is(err, mailbox.ErrStopping): %v\n", errors.Is(err, mailbox.ErrStopping))
	s := <-done
	if s.err != nil {
		return s.err
	}
	for _, f := range jobs {
		res, err := qactor.Result(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "queued before the stop: %s\n", res.(*wrapperspb.StringValue).Value)
	}
	for m := range heard {
		if p, ok := m.(*mailbox.Progressed); ok {
			fmt.Fprintf(out, "watcher: %s %s\n", p.Step, p.Progress)
			continue
		}
		if f, ok := m.(*mailbox.Finished); ok {
			fmt.Fprintf(out, "watcher: finished, %v\n", f.Report.Verdict())
			break
		}
	}
	fmt.Fprintf(out, "\nThe report, from the server:\n%v", s.report)
	if _, ok := qactor.PhaseOf(sys, orders); !ok {
		fmt.Fprintln(out, "orders is gone")
	}
	return nil
}
