package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qcluster "github.com/quiesce/quiesce/cluster"
	"github.com/quiesce/quiesce/internal/clusternode"
	"github.com/quiesce/quiesce/mailbox"
)

// demoConfig is the demo: members, load, and when the leave comes.
type demoConfig struct {
	members    int
	identities int
	workers    int
	work       time.Duration // each request's work in a grain
	warm       time.Duration // load before the SIGTERM
	after      time.Duration // load after the member has exited
	grace      time.Duration // the leave's deadline
	refresh    time.Duration // automanaged's health poll
	timeout    time.Duration // each request's total deadline
	verbose    bool
	protoactor bool             // the member leaves with protoactor's Cluster.Shutdown(true)
	defaultCtx bool             // the client sends with protoactor's DefaultContext, not qcluster's Caller
	command    func() *exec.Cmd // starts this program again, as a member
}

// ledger is what the client saw.
type ledger struct {
	sent, answered, timeouts, failed int
	lost, twice                      int64 // served without the answer arriving; served a second time
	kept, identities                 int   // counters whose value is the number of answers
	reset                            int   // counters whose value fell behind their answers: their state was lost
	leave                            time.Duration
	p99During, p99Before             time.Duration
	during                           int // requests that began during the leave
}

func (l ledger) String() string {
	return fmt.Sprintf("ledger: %d requests sent, %d answered, %d lost, %d served twice, %d timeouts, %d failed\n"+
		"        the leave: %v from SIGTERM to exit; p99 latency during it %v (%d requests; before it %v)\n"+
		"        counters that kept their value across the leave: %d of %d%s",
		l.sent, l.answered, l.lost, l.twice, l.timeouts, l.failed,
		l.leave.Round(time.Millisecond), l.p99During.Round(100*time.Microsecond), l.during,
		l.p99Before.Round(100*time.Microsecond), l.kept, l.identities, reset(l.reset))
}

func reset(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d started again from 0: their state was lost, and what they lost is not in \"lost\")", n)
}

// member is a member process of the demo.
type member struct {
	i     int
	cmd   *exec.Cmd
	ready chan string   // its address, once it serves
	done  chan struct{} // closed when its output ends
}

// runDemo starts the members, loads them from a client, sends SIGTERM to one and
// keeps the load on while it leaves, then prints the ledger.
func runDemo(cfg demoConfig, out io.Writer) (ledger, error) {
	var l ledger
	ports, err := clusternode.FreePorts(2 * cfg.members)
	if err != nil {
		return l, err
	}
	var hosts []string
	for i := range cfg.members {
		hosts = append(hosts, fmt.Sprintf("127.0.0.1:%d", ports[cfg.members+i]))
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		fmt.Fprintf(out, format, args...)
		outMu.Unlock()
	}
	victim := 1
	members := make([]*member, cfg.members)
	var errs []error
	for i := range cfg.members {
		mc := memberConfig{Name: "demo", Port: ports[i], Health: ports[cfg.members+i], Hosts: hosts, Refresh: cfg.refresh,
			Work: cfg.work, Grace: cfg.grace, Quiet: 3 * cfg.refresh, Verbose: cfg.verbose, Protoactor: cfg.protoactor && i == victim}
		raw, _ := json.Marshal(mc)
		cmd := cfg.command()
		cmd.Env = append(cmd.Environ(), memberEnv+"="+string(raw))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return l, err
		}
		if err := cmd.Start(); err != nil {
			return l, err
		}
		m := &member{i: i, cmd: cmd, ready: make(chan string, 1), done: make(chan struct{})}
		members[i] = m
		go func() {
			defer close(m.done)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				if addr, ok := strings.CutPrefix(line, "ready "); ok {
					m.ready <- addr
					continue
				}
				if i == victim || cfg.verbose {
					say("member %d | %s\n", i+1, line)
				}
			}
		}()
	}
	defer func() {
		for _, m := range members {
			if m != nil && m.cmd.ProcessState == nil {
				_ = m.cmd.Process.Kill()
				_ = m.cmd.Wait()
			}
		}
	}()
	for _, m := range members {
		select {
		case addr := <-m.ready:
			say("member %d serves at %s\n", m.i+1, addr)
		case <-time.After(30 * time.Second):
			return l, fmt.Errorf("member %d did not start within 30s", m.i+1)
		}
	}

	client, err := startClient(cfg, hosts)
	if err != nil {
		return l, err
	}
	defer stopClient(client)
	if err := awaitMembers(client, cfg.members); err != nil {
		return l, err
	}
	caller, err := qcluster.NewCaller(client.Cluster, qcluster.CallerConfig{})
	if err != nil {
		return l, err
	}

	type sample struct {
		start   time.Time
		latency time.Duration
	}
	var (
		mu       sync.Mutex
		answers  = map[string]int{}
		samples  []sample
		failures []error
	)
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	for w := range cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				id := "counter-" + strconv.Itoa((w+n)%cfg.identities)
				ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
				began := time.Now()
				var err error
				msg := wrapperspb.String(fmt.Sprintf("w%d-%d", w, n))
				if cfg.defaultCtx {
					var res any
					res, err = client.Cluster.Request(id, kind, msg, cluster.WithTimeout(cfg.timeout))
					if r, ok := res.(*mailbox.Refused); ok {
						err = r // DefaultContext hands a refusal back as the answer
					}
				} else {
					_, err = caller.Request(ctx, id, kind, msg)
				}
				took := time.Since(began)
				cancel()
				mu.Lock()
				l.sent++
				switch {
				case err == nil:
					l.answered++
					answers[id]++
					samples = append(samples, sample{began, took})
				case errors.Is(err, actor.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, remote.ErrTimeout):
					l.timeouts++
					failures = append(failures, err)
				default:
					l.failed++
					failures = append(failures, err)
				}
				mu.Unlock()
			}
		}()
	}
	say("client: %d workers over %d counters, %v of work each request\n", cfg.workers, cfg.identities, cfg.work)
	time.Sleep(cfg.warm)
	v := members[victim]
	mu.Lock()
	sentBefore := l.sent
	mu.Unlock()
	say("client: %d requests sent so far; SIGTERM to member %d\n", sentBefore, victim+1)
	sigterm := time.Now()
	if err := v.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return l, err
	}
	<-v.done
	werr := v.cmd.Wait()
	exited := time.Now()
	l.leave = exited.Sub(sigterm)
	if werr != nil {
		errs = append(errs, fmt.Errorf("member %d: %w", victim+1, werr))
	}
	time.Sleep(cfg.after)
	close(stopLoad)
	wg.Wait()

	// Each counter's value against its answers: what was served and not answered
	// was lost; a request served a second time shows in the grain's duplicates.
	l.identities = cfg.identities
	for i := range cfg.identities {
		id := "counter-" + strconv.Itoa(i)
		value, err := read(caller, id, getValue)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		dups, err := read(caller, id, getDups)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l.twice += dups
		switch diff := value - int64(answers[id]) - dups; {
		case diff < 0:
			l.reset++ // the count started again elsewhere: served and lost cannot be told apart
		default:
			l.lost += diff
		}
		if value == int64(answers[id]) {
			l.kept++
		}
	}
	var before, during []time.Duration
	for _, s := range samples {
		switch {
		case s.start.Before(sigterm):
			before = append(before, s.latency)
		case s.start.Before(exited):
			during = append(during, s.latency)
		}
	}
	l.p99Before, l.p99During, l.during = p99(before), p99(during), len(during)
	for i, err := range failures {
		if i == 5 {
			say("... and %d more\n", len(failures)-5)
			break
		}
		say("not answered: %v\n", err)
	}

	// The others leave too, to end the demo; the last one has nobody to hand its
	// counters to, and says so.
	for i, m := range members {
		if i != victim {
			_ = m.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for i, m := range members {
		if i != victim {
			<-m.done
			_ = m.cmd.Wait()
		}
	}
	say("%v\n", l)
	return l, errors.Join(errs...)
}

// read sends a read request to the counter id.
func read(caller *qcluster.Caller, id, what string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := caller.Request(ctx, id, kind, wrapperspb.String(what))
	if err != nil {
		return 0, err
	}
	return res.(*wrapperspb.Int64Value).Value, nil
}

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[(len(ds)*99)/100]
}

// startClient starts the demo's client: a cluster client with an automanaged
// provider that polls the members' health endpoints.
func startClient(cfg demoConfig, hosts []string) (*clusternode.Node, error) {
	level := slog.LevelError + 4
	if cfg.verbose {
		level = slog.LevelInfo
	}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}))
	nodes, err := clusternode.Start("demo", []clusternode.Spec{{
		System: sys, Provider: clusternode.AutomanagedClient(cfg.refresh, hosts...), Client: true,
	}})
	if err != nil {
		return nil, err
	}
	return nodes[0], nil
}

func stopClient(n *clusternode.Node) {
	_ = n.Cluster.Config.ClusterProvider.Shutdown(true)
	n.Member.Close()
	clusternode.StopRemote(n.Cluster)
}

// awaitMembers waits until the client's topology has n members.
func awaitMembers(n *clusternode.Node, want int) error {
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for len(n.Member.Topology()) != want {
		if time.Now().After(deadline) {
			return fmt.Errorf("the client saw %d members, not %d, after 30s", len(n.Member.Topology()), want)
		}
		<-tick.C
	}
	return nil
}
