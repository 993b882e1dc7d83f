package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vbauerster/mpb/v8"
	"go.uber.org/goleak"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"

	"github.com/quiesce/quiesce/internal/testwait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bound limits every wait in these tests (see internal/testwait).
const bound = testwait.Bound

// within runs f on a goroutine of its own and returns what it returned, or fails
// the test, saying what it waited for, when f takes longer than bound.
func within[T any](t testing.TB, what string, f func() T) T {
	t.Helper()
	return testwait.Call(t, what, f)
}

// recv returns the next value from ch, or fails the test saying what it waited for.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return testwait.Recv(t, ch, what)
}

func testConfig() config {
	return config{maxConns: 100, drain: 5 * time.Second, grace: 30 * time.Second, idle: 30 * time.Second, maxLine: 64, clients: 50}
}

// The demo, end to end over real sockets: load, a shutdown midway, and every
// request answered or refused with the reason. Nothing lost. Its readiness endpoint
// answered 200 while it served and 503 from the drain on, and the drain showed as
// one plain line (the output is not a terminal).
func TestTheDemoLosesNoRequestWhenItShutsDownUnderLoad(t *testing.T) {
	var out strings.Builder
	type result struct {
		o   *outcome
		err error
	}
	r := within(t, "the demo to run", func() result {
		o, err := run(testConfig(), &out)
		return result{o, err}
	})
	o, err := r.o, r.err
	require.NoError(t, err, out.String())
	text := out.String()

	l := o.ledger
	assert.Zero(t, l.lost.Load(), "lost")
	assert.Equal(t, l.sent.Load(), l.answered.Load()+l.refused.Load(), "every request answered or refused")
	assert.Positive(t, l.refused.Load(), "the shutdown came while clients were sending")
	assert.Equal(t, int64(50), l.byes.Load(), "every client was told BYE")
	assert.Equal(t, lifecycle.AllCompleted, o.tree.Verdict)
	total, _ := o.tree.Components()
	assert.Equal(t, 51, total, "the listener and its 50 sessions")
	assert.Contains(t, text, "shutdown: all completed in")
	assert.Contains(t, text, "0 lost")
	assert.Contains(t, text, "shutting down (manual: midway through the demo's load)")
	assert.Contains(t, text, `told "BYE parent stopping: shutdown: manual: midway through the demo's load"`)

	// The progress: no more than a plain line a second, and the last, whose figures
	// add up what the sessions' drains reported.
	assert.LessOrEqual(t, strings.Count(text, "  draining, "), int(o.tree.Duration/plainEvery), text)
	assert.Equal(t, 1, strings.Count(text, "  drained in "), text)
	answered := 0
	for _, s := range o.tree.Roots[0].Children {
		if p := s.Steps[0].Progress; p != nil {
			require.Equal(t, p.Total, p.Done, "a completed drain answered all it had in flight")
			answered += p.Done
		}
	}
	assert.Positive(t, answered, "sessions were draining requests")
	assert.Contains(t, text, fmt.Sprintf(": %d/%d in-flight requests answered", answered, answered))

	p := o.probes
	assert.Empty(t, p.errs, "every probe answered, and none 200 after a 503")
	assert.Positive(t, p.ok, "200 while serving")
	require.NotNil(t, p.final, "a probe after the stop")
	assert.Equal(t, "stopped", p.final.status.Phase)
	assert.Contains(t, text, "readiness probes: ")
}

// holdDrain serves cfg (with a readiness endpoint and a drain of a minute), has a
// client send a request that takes 10 s, begins a graceful Shutdown and returns
// once the listener's snapshot shows the session draining it. The drain stays open
// until the test forces it: its result comes on the returned channel.
func holdDrain(t *testing.T, cfg config) (*server, *client, <-chan shutdown) {
	t.Helper()
	cfg.ready = "127.0.0.1:0"
	cfg.drain = time.Minute
	srv, err := serve(&cfg)
	require.NoError(t, err)
	t.Cleanup(srv.close)
	c := dial(t, srv.addr)
	require.Equal(t, "OK", c.ask("SET a 1"))
	c.send("SLOW 10000\n")
	recv(t, srv.stats.slowed, "the slow request to be worked on")
	done, ended := make(chan shutdown, 1), make(chan struct{})
	go func() {
		defer close(ended)
		tree, err := qactor.Shutdown(context.Background(), srv.sys, errors.New("test: drain"), srv.root)
		done <- shutdown{tree, err}
	}()
	t.Cleanup(func() { // if the test failed before its force: do not leave the drain behind
		_ = qactor.Force(srv.sys, errors.New("test over"), srv.root)
		recv(t, ended, "the shutdown to end")
	})
	waitFor(t, "the listener's snapshot to show the session draining", func() bool {
		s, stopping := srv.mb.Snapshot()
		return stopping && s.Children != nil
	})
	return srv, c, done
}

// waitFor polls cond until it holds, or fails the test saying what it waited for:
// for state that nothing announces (a snapshot, the bar's text), and that only
// grows toward cond, so polling orders nothing. Events have sync points (slowed).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(bound); !cond(); time.Sleep(time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "waited %v for %s", bound, what)
	}
}

var probeClient = &http.Client{Timeout: bound, Transport: &http.Transport{DisableKeepAlives: true}}

func probeReady(t *testing.T, url string) probe {
	t.Helper()
	p, err := getReady(context.Background(), probeClient, url)
	require.NoError(t, err)
	return p
}

// The readiness endpoint, over HTTP on loopback: 200 while the server runs; 503 with
// the listener's live snapshot as JSON once the drain begins (a slow request holds
// it open); and, once everything has stopped, 503 still, with the final snapshot.
func TestReadinessAnswers200WhileServingAnd503WithTheDrainsStatus(t *testing.T) {
	cfg := testConfig()
	cfg.ready = "127.0.0.1:0"
	srv, err := serve(&cfg)
	require.NoError(t, err)
	t.Cleanup(srv.close)
	running := probeReady(t, srv.readyURL)
	assert.Equal(t, http.StatusOK, running.code)
	assert.Equal(t, "ready\n", string(running.body))
	require.NoError(t, within(t, "the server to shut down", func() error {
		_, err := qactor.ShutdownSystem(context.Background(), srv.sys, errors.New("test over"))
		return err
	}))

	srv, c, done := holdDrain(t, testConfig())
	draining := probeReady(t, srv.readyURL)
	require.Equal(t, http.StatusServiceUnavailable, draining.code, "%s", draining.body)
	s := draining.status
	assert.Regexp(t, "^[0-9a-f]{16}$", s.ID, "the stop ID")
	assert.Equal(t, "listener", s.Actor)
	assert.Equal(t, "stopping", s.Phase)
	assert.Equal(t, "shutdown: test: drain", s.Reason)
	assert.False(t, s.Finished)
	assert.Equal(t, "children", s.Step, "the listener waits for its sessions")
	assert.Equal(t, "infinity", s.BudgetLeft)
	assert.Empty(t, s.Forced)
	assert.Equal(t, 1, s.ChildrenStopping, "one session")
	require.NotNil(t, s.Children, "%s", draining.body)
	assert.Equal(t, 0, s.Children.Done, "the slow request is not answered yet")
	assert.Equal(t, 1, s.Children.Total, "one request in flight")

	// A probe is a read: it does not disturb the drain, and a new request is refused.
	assert.Equal(t, http.StatusServiceUnavailable, probeReady(t, srv.readyURL).code)
	require.NoError(t, qactor.Force(srv.sys, errors.New("test: enough"), srv.root))
	assert.Equal(t, "ERR shutting down: forced", c.line())
	assert.Equal(t, "BYE parent stopping: shutdown: test: drain", c.line())
	c.hangUp()
	assert.True(t, c.closed())
	r := recv(t, done, "the shutdown to end")
	require.NoError(t, r.err)

	stopped := probeReady(t, srv.readyURL)
	require.Equal(t, http.StatusServiceUnavailable, stopped.code, "never ready again")
	s = stopped.status
	assert.Equal(t, draining.status.ID, s.ID, "the same stop")
	assert.Equal(t, "stopped", s.Phase)
	assert.True(t, s.Finished)
	assert.Empty(t, s.Step)
	assert.Contains(t, s.Forced, "test: enough")
	require.NotNil(t, s.Children)
	assert.Equal(t, 0, s.Children.Done, "the request was cut short, not answered")
	assert.Equal(t, 1, s.Children.Total)
}

// With -v, the system publishes lifecycle events and the server logs those the
// mailboxes do not log themselves: the drain's progress and the force.
func TestVerboseLogsTheDrainsProgressAndTheForce(t *testing.T) {
	cfg := testConfig()
	var log syncBuffer
	cfg.verbose, cfg.logTo = true, &log
	srv, c, done := holdDrain(t, cfg)
	require.NoError(t, qactor.Force(srv.sys, errors.New("test: enough"), srv.root))
	c.hangUp()
	recv(t, done, "the shutdown to end")
	text := log.String()
	assert.Regexp(t, `msg="quiesce: progress" actor=listener/conn-\S+ stop=[0-9a-f]{16} step=drain progress="in-flight requests answered \(0/1\)"`, text)
	assert.Regexp(t, `level=WARN msg="quiesce: forced" actor=listener/conn-\S+ .*step=drain`, text)
	assert.Contains(t, text, `msg="quiesce: step forced"`, "the mailbox's own log")
}

// syncBuffer is a log sink that goroutines write to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// client is a test connection to the server.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// A safety net, not a sync point: a broken server fails the test instead of hanging it.
	require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *client) send(raw string) {
	c.t.Helper()
	_, err := io.WriteString(c.conn, raw)
	require.NoError(c.t, err)
}

func (c *client) line() string {
	c.t.Helper()
	line, err := c.r.ReadString('\n')
	require.NoError(c.t, err)
	return strings.TrimRight(line, "\r\n")
}

func (c *client) ask(req string) string {
	c.t.Helper()
	c.send(req + "\n")
	return c.line()
}

// hangUp closes the client's side, as a client that has read the BYE does: the
// server then closes its own at once, instead of waiting a second for it.
func (c *client) hangUp() {
	c.t.Helper()
	require.NoError(c.t, c.conn.(*net.TCPConn).CloseWrite())
}

// closed says whether the server has closed the connection.
func (c *client) closed() bool {
	_, err := c.r.ReadByte()
	return errors.Is(err, io.EOF)
}

// startServer serves cfg and stops it gracefully at the end of the test, checking
// that bad input left every session's stop complete.
func startServer(t *testing.T, cfg config) *server {
	t.Helper()
	srv, err := serve(&cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		r := within(t, "the server to shut down", func() shutdown {
			tree, err := qactor.Shutdown(context.Background(), srv.sys, errors.New("test over"), srv.root)
			return shutdown{tree, err}
		})
		srv.close()
		require.NoError(t, r.err)
		assert.Equal(t, lifecycle.AllCompleted, r.tree.Verdict, "%s", r.tree)
	})
	return srv
}

// Bad input gets a clear protocol error or a clean close, and no other connection
// is affected.
func TestBadInputGetsAClearAnswerAndLeavesOtherConnectionsAlone(t *testing.T) {
	cfg := testConfig()
	cfg.idle = 200 * time.Millisecond
	cases := []struct {
		name  string
		input string
		want  string
		close bool // the server closes the connection
	}{
		{"a line over the size limit", strings.Repeat("x", 500) + "\n", "ERR line too long", false},
		{"an unknown command", "FROB x\n", "ERR unknown command", false},
		{"binary garbage", "\x00\xff\xfe\x01garbage\xc3\x28\n", "ERR unknown command", false},
		{"a command with the wrong arguments", "SET onlykey\n", "ERR unknown command", false},
		{"an idle client", "", "BYE stop requested: idle", true},
		{"a slow client that never ends its line", "GET k", "BYE stop requested: idle", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, cfg)
			good := dial(t, srv.addr)
			require.Equal(t, "OK", good.ask("SET a 1"))

			bad := dial(t, srv.addr)
			if tc.input != "" {
				bad.send(tc.input)
			}
			assert.Equal(t, tc.want, bad.line())
			if tc.close {
				assert.True(t, bad.closed(), "the server closed the connection")
				// The good connection has been idle as long: it was told BYE too.
				// A new one shows the server is unaffected.
				good = dial(t, srv.addr)
			} else {
				assert.Equal(t, "NOTFOUND", bad.ask("GET nothing"), "the connection still works")
			}
			assert.Equal(t, "VALUE 1", good.ask("GET a"), "other connections are unaffected")
		})
	}
}

func TestMoreConnectionsThanAllowedAreToldSoAndClosed(t *testing.T) {
	cfg := testConfig()
	cfg.maxConns = 2
	srv := startServer(t, cfg)
	a, b := dial(t, srv.addr), dial(t, srv.addr)
	require.Equal(t, "OK", a.ask("SET a 1"))
	require.Equal(t, "OK", b.ask("SET b 2"))

	c := dial(t, srv.addr)
	assert.Equal(t, "ERR too many connections", c.line())
	assert.True(t, c.closed())
	assert.Equal(t, "VALUE 2", a.ask("GET b"), "the others are unaffected")
	assert.Equal(t, int64(1), srv.stats.rejected.Load())

	require.Equal(t, "BYE quit", b.ask("QUIT"))
	assert.True(t, b.closed())
	d := dial(t, srv.addr) // b's place is free again once its session has closed
	for deadline := time.Now().Add(bound); d.ask("GET a") != "VALUE 1"; {
		require.True(t, time.Now().Before(deadline), "waited %v for b's place to be free", bound)
		d = dial(t, srv.addr) // b's session may still be closing: try again
	}
}

// startRun runs cfg as main does, on loopback, stopped by real signals: SIGUSR1
// stands in for SIGTERM, since Go ignores a stray one instead of dying.
func startRun(t *testing.T, cfg config) (*server, *strings.Builder, <-chan *outcome) {
	t.Helper()
	cfg.listen = "127.0.0.1:0"
	cfg.signals = []os.Signal{syscall.SIGUSR1}
	started := make(chan *server, 1)
	serving = func(s *server) { started <- s }
	t.Cleanup(func() { serving = nil })
	done := make(chan *outcome, 1)
	out := &strings.Builder{}
	go func() {
		o, _ := run(cfg, out)
		done <- o
	}()
	srv := recv(t, started, "the server to serve")
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(out.String()) // written by run: read once it has returned, or the test has failed anyway
		}
	})
	return srv, out, done
}

func signal(t *testing.T) {
	t.Helper()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
}

// A signal drains; a second one forces: a request that would take 10 s is cut
// short, told so before the BYE, and the run ends well before it.
func TestASecondSignalForcesTheShutdown(t *testing.T) {
	cfg := testConfig()
	cfg.drain = time.Minute
	srv, out, done := startRun(t, cfg)
	c := dial(t, srv.addr)
	require.Equal(t, "OK", c.ask("SET a 1"))
	c.send("SLOW 10000\n")
	recv(t, srv.stats.slowed, "the slow request to be worked on")
	signal(t) // drain waits for the slow request...
	waitFor(t, "the session's drain to report its one request in flight", func() bool {
		s, stopping := srv.mb.Snapshot()
		return stopping && s.Children != nil && s.Children.Total == 1
	})
	signal(t) // ...until the second signal forces it
	assert.Equal(t, "ERR shutting down: forced", c.line(), "the cut-short request is still answered, with the report's word")
	assert.Equal(t, "BYE parent stopping: shutdown: signal SIGUSR1", c.line(), "and then told BYE")
	c.hangUp()
	assert.True(t, c.closed())
	o := recv(t, done, "run to return")
	require.NotNil(t, o.tree)
	assert.Equal(t, lifecycle.SomeForced, o.tree.Verdict, "%s", o.tree)
	assert.Less(t, o.tree.Duration, 10*time.Second)
	assert.Contains(t, out.String(), "shutting down (signal SIGUSR1)")
	assert.Contains(t, out.String(), "signal SIGUSR1: forcing the shutdown")
	assert.Contains(t, out.String(), "  stopped in ")
	assert.Contains(t, out.String(), ": 0/1 in-flight requests answered, 1 cut short; forced")
	session := o.tree.Roots[0].Children[0]
	assert.Equal(t, lifecycle.Forced, session.Steps[0].Status, "drain was forced")
	assert.Equal(t, lifecycle.Completed, session.Steps[1].Status, "disconnect still ran")
	assert.Equal(t, lifecycle.Completed, session.Steps[2].Status, "close still ran")
}

// A drain that times out (issue 10): the pending request's ERR comes before the
// BYE on the wire, it says "timed out" as the report does, and the progress is one
// line, not ten a second.
func TestADrainThatTimesOutAnswersBeforeTheBYEWithTheReportsWord(t *testing.T) {
	cfg := testConfig()
	cfg.drain = 100 * time.Millisecond // and the request takes 10 s
	srv, out, done := startRun(t, cfg)
	c := dial(t, srv.addr)
	c.send("SLOW 10000\n")
	recv(t, srv.stats.slowed, "the slow request to be worked on")
	signal(t)
	assert.Equal(t, "ERR shutting down: timed out", c.line(), "the pending request's answer, first")
	assert.Equal(t, "BYE parent stopping: shutdown: signal SIGUSR1", c.line(), "then the BYE")
	c.hangUp()
	assert.True(t, c.closed())
	o := recv(t, done, "run to return")
	require.NotNil(t, o.tree)
	assert.Equal(t, lifecycle.SomeFailed, o.tree.Verdict, "%s", o.tree)
	drain := o.tree.Roots[0].Children[0].Steps[0]
	assert.Equal(t, lifecycle.TimedOut, drain.Status, "the report says timed out, as the client was told")
	require.NotNil(t, drain.Progress)
	assert.Equal(t, "in-flight requests answered (0/1)", drain.Progress.String())
	assert.Contains(t, o.tree.String(), "drain defer-flag timed out")
	text := out.String()
	assert.LessOrEqual(t, strings.Count(text, "  draining, "), int(o.tree.Duration/plainEvery), text)
	assert.Contains(t, text, ": 0/1 in-flight requests answered, 1 cut short\n")
}

// On a terminal the drain is one mpb bar, drawn from the listener's snapshot: the
// sessions' drain progress added up, and the end of the stop.
func TestTheBarShowsTheListenersSnapshot(t *testing.T) {
	srv, c, done := holdDrain(t, testConfig())
	var out syncBuffer
	refresh := make(chan any)
	v := newBarView(&out, mpb.WithManualRefresh(refresh), mpb.WithWidth(200))
	snap, _ := srv.mb.Snapshot()
	v.show(snap)
	within(t, "the bar to draw", func() bool { refresh <- nil; return true })
	waitFor(t, "the bar to show the drain", func() bool {
		return strings.Contains(out.String(), "draining [")
	})
	assert.Contains(t, out.String(), "] 0/1 answered, 1 session\n")

	require.NoError(t, qactor.Force(srv.sys, errors.New("test: enough"), srv.root))
	c.hangUp()
	recv(t, done, "the shutdown to end")
	final, _ := srv.mb.Snapshot()
	within(t, "the bar to end", func() bool { v.last(final); return true })
	assert.Regexp(t, `stopped +\[[^]]*\] 0/1 answered, in \d+m?s, forced`, out.String())
}

// A drain still under way when the grace period (-grace) runs out is forced: the
// pending request is told "forced", as the report says, before the BYE.
func TestTheGracePeriodForcesTheDrain(t *testing.T) {
	cfg := testConfig()
	cfg.drain, cfg.grace = time.Minute, 500*time.Millisecond // and the request takes 10 s
	srv, _, done := startRun(t, cfg)
	c := dial(t, srv.addr)
	c.send("SLOW 10000\n")
	recv(t, srv.stats.slowed, "the slow request to be worked on")
	signal(t)
	assert.Equal(t, "ERR shutting down: forced", c.line())
	assert.Equal(t, "BYE parent stopping: shutdown: signal SIGUSR1", c.line())
	c.hangUp()
	assert.True(t, c.closed())
	o := recv(t, done, "run to return")
	require.NotNil(t, o.tree)
	assert.Equal(t, lifecycle.SomeForced, o.tree.Verdict, "%s", o.tree)
	session := o.tree.Roots[0].Children[0]
	assert.Equal(t, lifecycle.Forced, session.Steps[0].Status, "%s", o.tree)
	assert.ErrorIs(t, session.Forced, mailbox.ErrDeadline, "the force says it came from the deadline")
}
