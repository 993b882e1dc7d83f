package actor_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
	"github.com/quiesce/quiesce/trigger"
)

// spawner spawns one child of props child when it starts, and hands its PID over.
type spawner struct {
	child *actor.Props
	kid   chan *actor.PID
}

func (s *spawner) Receive(c actor.Context) {
	if _, ok := c.Message().(*actor.Started); ok {
		s.kid <- c.Spawn(s.child)
	}
}

// family spawns: a component from the root with a component child; a plain actor
// with a component child; and a plain actor alone.
func topFamily(t *testing.T, sys *actor.ActorSystem) (top, kid, plainKid, plain *actor.PID) {
	t.Helper()
	leaf := mustProps(t, qactor.Component[*worker]{New: func() *worker { return &worker{trail: &trail{}} },
		Steps: []qactor.Step[*worker]{step("close", 0, nil, false)}})
	s1 := &spawner{child: leaf, kid: make(chan *actor.PID, 1)}
	top = sys.Root.Spawn(qactor.Component[*spawner]{New: func() *spawner { return s1 }}.MustProps())
	kid = recv(t, s1.kid, "the component's child")
	s2 := &spawner{child: leaf, kid: make(chan *actor.PID, 1)}
	plain = sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return s2 }))
	plainKid = recv(t, s2.kid, "the plain actor's child")
	return top, kid, plainKid, plain
}

func TestTopLevelIsWhatNoOtherComponentStops(t *testing.T) {
	sys := newSystem()
	top, kid, plainKid, plain := topFamily(t, sys)
	roots := qactor.TopLevel(sys)
	var ids []string
	for _, pid := range roots {
		ids = append(ids, pid.Id)
	}
	assert.ElementsMatch(t, []string{top.Id, plainKid.Id}, ids, "not %s (its parent stops it), nor %s (no component)", kid.Id, plain.Id)
	_, err := qactor.ShutdownSystem(context.Background(), sys, nil)
	require.NoError(t, err)
}

// The graceful form of `defer system.Shutdown()`: every plan runs, one tree report,
// then protoactor's system is shut down.
func TestShutdownSystemRunsEveryPlanThenShutsTheSystemDown(t *testing.T) {
	sys := newSystem()
	topFamily(t, sys)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tree, err := qactor.ShutdownSystem(ctx, sys, errors.New("deploy v2"))
	require.NoError(t, err)
	total, by := tree.Components()
	assert.Equal(t, 3, total, "the two top-level components and the child of the first")
	assert.Equal(t, 3, by[lifecycle.AllCompleted])
	for _, r := range tree.Roots {
		assert.Equal(t, "shutdown: deploy v2", r.Reason.Error())
	}
	assert.True(t, sys.IsStopped())
	assert.Empty(t, qactor.TopLevel(sys))
}

// What fired is the reason; an escalation forces.
func TestShutdownWhenATriggerFiresAndForcesWhenItEscalates(t *testing.T) {
	sys := newSystem()
	hold, running := make(chan struct{}), make(chan struct{})
	defer close(hold)
	flush := qactor.Step[*worker]{Name: "flush", Policy: policy.DeferFlag, Run: func(_ *worker, ctx context.Context) error {
		close(running)
		select { // deaf to requests (defer-flag), but it honours a force
		case <-hold:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}}
	sys.Root.Spawn(mustProps(t, qactor.Component[*worker]{New: func() *worker { return &worker{trail: &trail{}} },
		Steps: []qactor.Step[*worker]{flush}}))
	drain, drainNow := context.WithCancelCause(context.Background())
	force, forceNow := context.WithCancelCause(context.Background())
	w, err := trigger.Watch(context.Background(), trigger.Escalate(trigger.Context(drain), trigger.Context(force)))
	require.NoError(t, err)
	defer w.Stop()
	done := make(chan *qactor.Tree, 1)
	go func() {
		tree, err := qactor.ShutdownWhen(context.Background(), sys, w, time.Minute)
		assert.NoError(t, err, "forced, the step returns, and the stop ends: complete")
		done <- tree
	}()
	drainNow(errors.New("deploy v2"))
	recv(t, running, "flush to run") // a force before it would skip it
	forceNow(errors.New("second SIGTERM"))
	tree := recv(t, done, "the shutdown")
	require.Len(t, tree.Roots, 1)
	rep := tree.Roots[0]
	assert.Equal(t, "shutdown: manual: deploy v2", rep.Reason.Error())
	assert.Equal(t, lifecycle.Forced, rep.Steps[0].Status)
	assert.ErrorContains(t, rep.Forced, "second SIGTERM")
}

// The one-liner, for real: a child process runs RunUntilSignal, gets SIGTERM, and
// prints its tree report.
func TestRunUntilSignalDrainsOnSIGTERM(t *testing.T) {
	if os.Getenv("QUIESCE_RUN_UNTIL_SIGNAL") == "1" {
		runUntilSignalChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunUntilSignalDrainsOnSIGTERM$")
	cmd.Env = append(os.Environ(), "QUIESCE_RUN_UNTIL_SIGNAL=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(out)
	require.True(t, lines.Scan(), "the child's first line")
	require.Equal(t, "ready", lines.Text())
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	require.NoError(t, cmd.Wait())
	text := strings.Join(rest, "\n")
	assert.Contains(t, text, "shutdown: all completed")
	assert.Contains(t, text, "shutdown: signal SIGTERM")
	assert.Contains(t, text, "close plain completed")
}

func runUntilSignalChild() {
	sys := newSystem()
	sys.Root.Spawn(qactor.Component[*worker]{New: func() *worker { return &worker{trail: &trail{}} },
		Steps: []qactor.Step[*worker]{{Name: "close", Run: func(*worker, context.Context) error { return nil }}}}.MustProps())
	tree, err := qactor.RunUntilSignalWatching(sys, 10*time.Second, func() { fmt.Println("ready") })
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Print(tree)
}
