//go:build unix

package trigger_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/trigger"
)

// The tests here send real signals to this process (SIGUSR1 and SIGUSR2, which Go
// ignores when nobody catches them, so a stray one cannot kill the test binary),
// and to a child process for what a third SIGTERM does. They never run in
// parallel: a signal reaches every watcher of the process.
//
// No test watches a Signal inside a synctest bubble: os/signal starts its
// process-wide goroutine on the first signal.Notify, and if that call is made in a
// bubble the runtime dies with "select on synctest channel from outside bubble".

// kill sends sig to the test process.
func kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, syscall.Kill(os.Getpid(), sig))
}

// Watch has registered the signal before it returns: were it not so, the SIGUSR1
// sent right after would be ignored and the wait would fail.
func TestASignalFiresOnTheFirstAndEscalatesOnTheSecond(t *testing.T) {
	w := watch(t, context.Background(), trigger.Signal(syscall.SIGUSR1))
	kill(t, syscall.SIGUSR1)
	waitDone(t, w.Context(), "the first SIGUSR1 to fire")
	f := w.Cause()
	require.NotNil(t, f)
	assert.Equal(t, trigger.KindSignal, f.Kind)
	assert.Equal(t, syscall.SIGUSR1, f.Signal)
	assert.False(t, f.Escalation)
	assert.Equal(t, "signal SIGUSR1", f.Error())
	assert.Equal(t, "shutdown: signal SIGUSR1", lifecycle.NewReason(lifecycle.Shutdown, f).Error())
	require.False(t, done(w.ForceContext()), "one signal must not escalate")

	kill(t, syscall.SIGUSR1)
	waitDone(t, w.ForceContext(), "the second SIGUSR1 to escalate")
	e := w.ForceCause()
	require.NotNil(t, e)
	assert.True(t, e.Escalation)
	assert.Equal(t, syscall.SIGUSR1, e.Signal)
	assert.Same(t, f, w.Cause(), "the escalation leaves the fire's cause alone")
}

func TestAnyListedSignalCountsTowardsTheSecond(t *testing.T) {
	w := watch(t, context.Background(), trigger.Signal(syscall.SIGUSR1, syscall.SIGUSR2))
	kill(t, syscall.SIGUSR2)
	waitDone(t, w.Context(), "SIGUSR2 to fire")
	assert.Equal(t, syscall.SIGUSR2, w.Cause().Signal)
	kill(t, syscall.SIGUSR1)
	waitDone(t, w.ForceContext(), "SIGUSR1 to escalate")
	assert.Equal(t, syscall.SIGUSR1, w.ForceCause().Signal)
}

// Each Signal counts its own signals: in AnyOf(Signal(USR1), Signal(USR2)), a USR1
// then a USR2 are each part's first, and only a second USR2 escalates.
func TestEachSignalPartCountsItsOwn(t *testing.T) {
	w := watch(t, context.Background(), trigger.AnyOf(trigger.Signal(syscall.SIGUSR1), trigger.Signal(syscall.SIGUSR2)))
	kill(t, syscall.SIGUSR1)
	waitDone(t, w.Context(), "SIGUSR1 to fire")

	// Learn when a SIGUSR2 has been delivered, to know the watcher had it too.
	seen := make(chan os.Signal, 1)
	signal.Notify(seen, syscall.SIGUSR2)
	defer signal.Stop(seen)
	kill(t, syscall.SIGUSR2)
	waitSignal(t, seen, "the first SIGUSR2's delivery")
	kill(t, syscall.SIGUSR2)
	waitDone(t, w.ForceContext(), "the second SIGUSR2 to escalate")
	assert.Equal(t, syscall.SIGUSR2, w.ForceCause().Signal)
	assert.Equal(t, syscall.SIGUSR1, w.Cause().Signal)
}

// After another part of an AnyOf fired, a Signal part keeps watching: its first
// signal is its own fire, and only its second escalates the AnyOf.
func TestAfterATimeoutFiredTwoSignalsEscalate(t *testing.T) {
	w := watch(t, context.Background(), trigger.AnyOf(trigger.After(0), trigger.Signal(syscall.SIGUSR1)))
	waitDone(t, w.Context(), "the timeout of 0 to fire")
	require.Equal(t, trigger.KindTimeout, w.Cause().Kind)

	seen := make(chan os.Signal, 1)
	signal.Notify(seen, syscall.SIGUSR1)
	defer signal.Stop(seen)
	kill(t, syscall.SIGUSR1)
	waitSignal(t, seen, "the first SIGUSR1's delivery")
	kill(t, syscall.SIGUSR1)
	waitDone(t, w.ForceContext(), "the second SIGUSR1 to escalate")
	assert.Equal(t, "second signal SIGUSR1", w.ForceCause().Error())
	assert.Equal(t, trigger.KindTimeout, w.Cause().Kind, "the escalation leaves the cause alone")
	waitSignal(t, seen, "the test's own copy of the second SIGUSR1")
}

// The force part of an Escalate catches its signal only from the fire on, and by
// the time Context is done it has.
func TestASignalAsForceIsCaughtFromTheFireOn(t *testing.T) {
	graceful, fire := manual()
	w := watch(t, context.Background(), trigger.Escalate(graceful, trigger.Signal(syscall.SIGUSR1)))

	seen := make(chan os.Signal, 1)
	signal.Notify(seen, syscall.SIGUSR1)
	defer signal.Stop(seen)
	kill(t, syscall.SIGUSR1)
	waitSignal(t, seen, "a SIGUSR1 before the fire to be delivered")

	fire(errDeploy)
	waitDone(t, w.Context(), "the manual fire")
	require.False(t, done(w.ForceContext()), "a signal before the fire escalated")
	kill(t, syscall.SIGUSR1)
	waitDone(t, w.ForceContext(), "a SIGUSR1 after the fire to escalate")
	e := w.ForceCause()
	assert.True(t, e.Escalation)
	assert.Equal(t, "signal SIGUSR1", e.Error())
	waitSignal(t, seen, "the test's own copy of the second SIGUSR1")
}

func waitSignal(t *testing.T, ch <-chan os.Signal, what string) {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		t.Fatalf("waited %v for %s", bound, what)
	}
}

func TestSignalsAreNamedAsPeopleKnowThem(t *testing.T) {
	for want, src := range map[string]trigger.Source{
		"signal SIGUSR1":                                 trigger.Signal(syscall.SIGUSR1),
		"signal SIGINT or SIGTERM":                       trigger.Signal(os.Interrupt, syscall.SIGTERM),
		"signal SIGHUP, SIGINT or SIGTERM":               trigger.Signal(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM),
		"signal SIGTERM, escalated by timeout after 25s": trigger.Escalate(trigger.Signal(syscall.SIGTERM), trigger.After(25*time.Second)),
		"signal SIGQUIT or SIGUSR2":                      trigger.Signal(syscall.SIGQUIT, syscall.SIGUSR2),
		"signal SIGWINCH or SIGPIPE":                     trigger.Signal(syscall.SIGWINCH, syscall.SIGPIPE),
		"signal bus error":                               trigger.Signal(syscall.SIGBUS),
	} {
		assert.Equal(t, want, src.String())
	}
	assert.Equal(t, "signal SIGTERM", (&trigger.Fired{Kind: trigger.KindSignal, Signal: syscall.SIGTERM}).Error())
}

func TestUncatchableSignalsAreRejected(t *testing.T) {
	for _, sig := range []os.Signal{os.Kill, syscall.SIGSTOP} {
		_, err := trigger.Watch(context.Background(), trigger.AnyOf(trigger.After(time.Hour), trigger.Signal(syscall.SIGTERM, sig)))
		require.ErrorIs(t, err, trigger.ErrInvalid)
		assert.Equal(t, fmt.Sprintf("trigger: invalid source: any of, part 2: %s cannot be caught", map[os.Signal]string{os.Kill: "SIGKILL", syscall.SIGSTOP: "SIGSTOP"}[sig]), err.Error())
	}
}

// After the escalation the watcher holds no signals, so a third SIGTERM ends the
// program the way Go ends one that never caught it. Tested in a child process,
// which the third SIGTERM kills.
func TestAThirdSignalGetsGosDefaultHandling(t *testing.T) {
	c := startChild(t, "third")
	c.expect("watching")
	c.signal(syscall.SIGTERM)
	c.expect("fired: signal SIGTERM")
	c.signal(syscall.SIGTERM)
	c.expect("escalated: second signal SIGTERM")
	c.signal(syscall.SIGTERM)
	c.killedBy(syscall.SIGTERM)
}

// Stop releases the signals: a SIGTERM after it ends the program.
func TestStopReleasesTheSignals(t *testing.T) {
	c := startChild(t, "stop")
	c.expect("stopped")
	c.signal(syscall.SIGTERM)
	c.killedBy(syscall.SIGTERM)
}

const childEnv = "QUIESCE_TRIGGER_TEST_CHILD"

// child is the child process's script; its exit code says what went wrong.
func child(mode string) int {
	w, err := trigger.Watch(context.Background(), trigger.Signal(syscall.SIGTERM))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	wait := func(ctx context.Context, what string) bool {
		select {
		case <-ctx.Done():
			return true
		case <-time.After(bound):
			fmt.Fprintf(os.Stderr, "child: waited %v for %s\n", bound, what)
			return false
		}
	}
	switch mode {
	case "third":
		fmt.Println("watching")
		if !wait(w.Context(), "the first SIGTERM") {
			return 3
		}
		fmt.Println("fired:", w.Cause())
		if !wait(w.ForceContext(), "the second SIGTERM") {
			return 3
		}
		fmt.Println("escalated:", w.ForceCause())
	case "stop":
		w.Stop()
		fmt.Println("stopped")
	default:
		return 2
	}
	time.Sleep(bound) // the parent's SIGTERM ends this wait, and the process
	fmt.Fprintln(os.Stderr, "child: still alive after the last SIGTERM")
	return 4
}

// childProc is a running child process and its output, line by line.
type childProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
}

func startChild(t *testing.T, mode string) *childProc {
	t.Helper()
	c := &childProc{t: t, lines: make(chan string)}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), childEnv+"="+mode)
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.cmd.Start())
	go func(r io.Reader) { // ends at the child's exit; killedBy waits for it
		s := bufio.NewScanner(r)
		for s.Scan() {
			c.lines <- s.Text()
		}
		close(c.lines)
	}(out)
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil { // the test failed before killedBy
			_ = c.cmd.Process.Kill()
			for range c.lines { //nolint:revive // drain until the reader ends
			}
			_ = c.cmd.Wait()
		}
	})
	return c
}

func (c *childProc) expect(line string) {
	c.t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case got, ok := <-c.lines:
		require.True(c.t, ok, "child exited while the test waited for %q; stderr: %s", line, &c.stderr)
		require.Equal(c.t, line, got)
	case <-timer.C:
		c.t.Fatalf("waited %v for the child to print %q", bound, line)
	}
}

func (c *childProc) signal(sig syscall.Signal) {
	c.t.Helper()
	require.NoError(c.t, c.cmd.Process.Signal(sig))
}

// killedBy waits for the child to end, and checks sig killed it.
func (c *childProc) killedBy(sig syscall.Signal) {
	c.t.Helper()
	timer := time.NewTimer(2 * bound)
	defer timer.Stop()
	for open := true; open; {
		select {
		case line, ok := <-c.lines:
			open = ok
			if ok {
				c.t.Errorf("child printed %q after its last line", line)
			}
		case <-timer.C:
			c.t.Fatalf("waited %v for the child to end", 2*bound)
		}
	}
	_ = c.cmd.Wait()
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(c.t, ok)
	require.True(c.t, ws.Signaled(), "the child was not killed by a signal: %v; stderr: %s", c.cmd.ProcessState, &c.stderr)
	assert.Equal(c.t, sig, ws.Signal())
}
