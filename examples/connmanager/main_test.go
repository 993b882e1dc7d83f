package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bound limits every wait in these tests: far longer than anything here takes,
// so that running out of it means a fault, reported as a failure that names what
// was awaited instead of a hang until the package timeout.
const bound = 10 * time.Second

// within runs f on a goroutine of its own and returns what it returned, or fails
// the test, saying what it waited for, when f takes longer than bound.
func within[T any](t testing.TB, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case v := <-done:
		return v
	case <-timer.C:
		t.Fatalf("waited %v for %s", bound, what)
		panic("unreachable")
	}
}

// recv returns the next value from ch, or fails the test saying what it waited for.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return within(t, what, func() T { return <-ch })
}

func testConfig() config {
	return config{maxConns: 100, drain: 5 * time.Second, grace: 30 * time.Second, idle: 30 * time.Second, maxLine: 64, clients: 50}
}

// The demo, end to end over real sockets: load, a shutdown midway, and every
// request answered or refused with the reason. Nothing lost.
func TestTheDemoLosesNoRequestWhenItShutsDownUnderLoad(t *testing.T) {
	var out strings.Builder
	type result struct {
		o   *outcome
		err error
	}
	r := within(t, "the demo to run", func() result {
		o, err := run(testConfig(), &out, nil)
		return result{o, err}
	})
	o, err := r.o, r.err
	require.NoError(t, err, out.String())

	l := o.ledger
	assert.Zero(t, l.lost.Load(), "lost")
	assert.Equal(t, l.sent.Load(), l.answered.Load()+l.refused.Load(), "every request answered or refused")
	assert.Positive(t, l.refused.Load(), "the shutdown came while clients were sending")
	assert.Equal(t, int64(50), l.byes.Load(), "every client was told BYE")
	assert.Equal(t, lifecycle.AllCompleted, o.tree.Verdict)
	total, _ := o.tree.Components()
	assert.Equal(t, 51, total, "the listener and its 50 sessions")
	assert.Contains(t, out.String(), "shutdown: all completed in")
	assert.Contains(t, out.String(), "0 lost")
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
		type result struct {
			tree *qactor.Tree
			err  error
		}
		r := within(t, "the server to shut down", func() result {
			tree, err := qactor.Shutdown(context.Background(), srv.sys, errors.New("test over"), srv.root)
			return result{tree, err}
		})
		tree, err := r.tree, r.err
		require.NoError(t, err)
		assert.Equal(t, lifecycle.AllCompleted, tree.Verdict, "%s", tree)
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

// SIGTERM drains; a second SIGTERM forces: a request that would take 10 s is cut
// short, and the run ends well before it.
func TestASecondSignalForcesTheShutdown(t *testing.T) {
	cfg := testConfig()
	cfg.listen = "127.0.0.1:0"
	cfg.drain = time.Minute
	signals := make(chan os.Signal, 2)
	started := make(chan *server, 1)
	serving = func(s *server) { started <- s }
	defer func() { serving = nil }()
	done := make(chan *outcome, 1)
	var out strings.Builder
	go func() {
		o, _ := run(cfg, &out, signals)
		done <- o
	}()
	srv := recv(t, started, "the server to serve")
	c := dial(t, srv.addr)
	require.Equal(t, "OK", c.ask("SET a 1"))
	c.send("SLOW 10000\n")
	require.Eventually(t, func() bool { return srv.stats.slow.Load() == 1 }, 10*time.Second, time.Millisecond,
		"the slow request is being worked on")
	signals <- syscall.SIGTERM // drain waits for the slow request...
	require.Eventually(t, func() bool {
		p, _ := qactor.PhaseOf(srv.sys, srv.root)
		return p == lifecycle.Stopping
	}, 10*time.Second, time.Millisecond)
	signals <- syscall.SIGTERM // ...until the second signal forces it
	assert.Equal(t, "ERR shutting down: forced", c.line(), "the cut-short request is still answered")
	o := recv(t, done, "run to return")
	require.NotNil(t, o.tree)
	defer func() {
		if t.Failed() {
			t.Logf("%s\n%+v", out.String(), o.tree.Roots[0])
		}
	}()
	assert.Equal(t, lifecycle.SomeForced, o.tree.Verdict, "%s", o.tree)
	assert.Less(t, o.tree.Duration, 10*time.Second)
	assert.Contains(t, out.String(), "terminated again: forcing")
	session := o.tree.Roots[0].Children[0]
	assert.Contains(t, []lifecycle.Status{lifecycle.Forced, lifecycle.Skipped}, session.Steps[0].Status,
		"drain was forced, or skipped if the force came first")
	assert.Equal(t, lifecycle.Completed, session.Steps[2].Status, "close still ran")
}
