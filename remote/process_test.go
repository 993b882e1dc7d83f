package remote_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/internal/testnode"
	"github.com/quiesce/quiesce/internal/testsys"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
	qremote "github.com/quiesce/quiesce/remote"
)

// childEnv makes the test binary a node of its own: "quiesce" installs Quiesce's
// remote support, "plain" does not. childPort is the port it listens on.
const (
	childEnv  = "QUIESCE_REMOTE_TEST_CHILD"
	childPort = "QUIESCE_REMOTE_TEST_PORT"
)

// child runs a node in this process: a component named "worker" with two steps. It
// prints its address, and stops when its standard input closes.
func child(mode string) int {
	port, _ := strconv.Atoi(os.Getenv(childPort))
	sys := testsys.New()
	var node *qremote.Node
	nodes, err := testnode.StartOn([]*actor.ActorSystem{sys}, port, func(_ int, sys *actor.ActorSystem, _ *remote.Remote) error {
		if mode != "quiesce" {
			return nil
		}
		var err error
		node, err = qremote.Install(sys, qremote.Config{})
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	worker := qactor.Component[*silent]{
		New: func() *silent { return &silent{} },
		Steps: []qactor.Step[*silent]{
			{Name: "drain", Policy: policy.DeferFlag, Timeout: time.Second, Run: (*silent).step},
			{Name: "close", Policy: policy.Plain, Timeout: time.Second, Always: true, Run: (*silent).step},
		},
	}.MustProps()
	if _, err := sys.Root.SpawnNamed(worker, "worker"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("ADDR %s\n", sys.Address())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if node != nil {
		node.Close()
	}
	nodes[0].Shutdown()
	return 0
}

// runChild starts the test binary as a node, and returns its address and a function
// that stops it and waits for it to exit.
func runChild(t *testing.T, mode string, port int) (string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// A -race binary sleeps a second as it exits, for goroutines to report races:
	// the child's goroutines are all waited for, so it need not.
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childPort+"="+strconv.Itoa(port),
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := make(chan string, 1)
	go func() { // ends when the child exits and its stdout closes
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
				lines <- addr
			}
		}
		close(lines)
	}()
	exited := make(chan error, 1)
	stop := func() {
		_ = stdin.Close()
		go func() { exited <- cmd.Wait() }()
		if err := wait(t, exited, long, "the child node to exit"); err != nil {
			t.Errorf("child node: %v", err)
		}
	}
	addr, ok := <-lines
	if !ok {
		stop()
		t.Fatal("the child node printed no address")
	}
	return addr, stop
}

// A node in another process: a remote stop with its report, the phase; then the
// process goes, and a program without Quiesce comes back at the same address: it is
// probed again, found plain, and sent no wire type.
func TestANodeInAnotherProcess(t *testing.T) {
	addr, stop := runChild(t, "quiesce", 0)
	worker := actor.NewPID(addr, "worker")
	phase, ok := qactor.PhaseOf(alpha.System, worker)
	require.True(t, ok)
	assert.Equal(t, lifecycle.Running, phase)

	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	rep, err := qactor.Stop(ctx, alpha.System, worker, errors.New("deploy v2"))
	require.NoError(t, err)
	assert.Equal(t, "stop requested: deploy v2", rep.Reason.Error())
	require.Len(t, rep.Steps, 2)
	assert.Equal(t, lifecycle.Completed, rep.Steps[1].Status)

	terminated := make(chan struct{}, 1)
	sub := alpha.System.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*remote.EndpointTerminatedEvent); ok && e.Address == addr {
			select {
			case terminated <- struct{}{}:
			default:
			}
		}
	})
	defer alpha.System.EventStream.Unsubscribe(sub)
	stop()
	wait(t, terminated, long, "alpha to learn that the child's endpoint terminated")

	_, port, err := splitPort(addr)
	require.NoError(t, err)
	again, stopAgain := runChild(t, "plain", port)
	defer stopAgain()
	require.Equal(t, addr, again)
	assert.ErrorIs(t, qa.Speaks(ctx, addr), qremote.ErrPlainNode, "probed again, and found plain")
	_, err = qactor.Stop(ctx, alpha.System, worker, nil)
	assert.ErrorIs(t, err, qremote.ErrPlainNode)
}

func splitPort(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("no port in %q", addr)
	}
	p, err := strconv.Atoi(addr[i+1:])
	return addr[:i], p, err
}
