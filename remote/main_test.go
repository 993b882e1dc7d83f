package remote_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/internal/testnode"
	"github.com/quiesce/quiesce/internal/testsys"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
	qremote "github.com/quiesce/quiesce/remote"
)

// The nodes every test uses, started once: protoactor's remote.Start writes gRPC's
// global logger each time it is called, a data race with every gRPC goroutine that
// has run before (see internal/testnode), so a test binary starts its nodes once.
//
//	alpha, beta: Quiesce's remote support installed
//	plain:       protoactor remote only, as a node that has never heard of Quiesce
var (
	alpha, beta, plain *testnode.Node
	qa, qb             *qremote.Node
	betaLog            = &recorder{}
	plainLog           = &recorder{}
)

// quickKind is a component kind that beta registers for protoactor's remote spawn;
// each one tells quickParents who its parent is.
const quickKind = "quick"

var quickParents = make(chan *actor.PID, 16)

// benchComponent is a component with three plain steps, for BenchmarkRemoteStop.
var benchComponent = qactor.Component[*silent]{
	New: func() *silent { return &silent{} },
	Steps: []qactor.Step[*silent]{
		{Name: "flush", Policy: policy.Plain, Timeout: time.Second, Run: (*silent).step},
		{Name: "deregister", Policy: policy.Plain, Timeout: time.Second, Run: (*silent).step},
		{Name: "close", Policy: policy.Plain, Timeout: time.Second, Always: true, Run: (*silent).step},
	},
}.MustProps()

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	systems := []*actor.ActorSystem{
		testsys.New(),
		testsys.New(actor.WithLoggerFactory(betaLog.factory)),
		testsys.New(actor.WithLoggerFactory(plainLog.factory)),
	}
	quick := qactor.Component[*silent]{
		New: func() *silent { return &silent{} },
		Start: []func(*silent, actor.Context) error{func(_ *silent, c actor.Context) error {
			quickParents <- c.Parent()
			return nil
		}},
		Steps: []qactor.Step[*silent]{{Name: "close", Policy: policy.Plain, Timeout: time.Second, Run: (*silent).step}},
	}.MustProps()
	nodes, err := testnode.Start(systems, func(i int, sys *actor.ActorSystem, r *remote.Remote) error {
		var err error
		switch i {
		case 0:
			qa, err = qremote.Install(sys, qremote.Config{})
		case 1:
			r.Register(quickKind, quick)
			r.Register(rawKind, actor.PropsFromProducer(func() actor.Actor { return rawActor{} }))
			r.Register(componentKind, benchComponent)
			qb, err = qremote.Install(sys, qremote.Config{})
		}
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	alpha, beta, plain = nodes[0], nodes[1], nodes[2]
	code := m.Run()
	qa.Close()
	qb.Close()
	for _, n := range nodes {
		n.Shutdown()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// recorder keeps the messages an actor system logs at Warn and above.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) factory(*actor.ActorSystem) *slog.Logger { return slog.New(r) }

func (*recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	return nil
}

func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// matching returns the lines that contain s.
func (r *recorder) matching(s string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

type silent struct{}

func (*silent) Receive(actor.Context)      {}
func (*silent) step(context.Context) error { return nil }

// staged is a component whose steps say when they begin, and wait for the test.
// Running, it answers a StringValue with "echo: " and the value.
type staged struct {
	began chan string // each step's name as it begins
}

func (*staged) Receive(c actor.Context) {
	if v, ok := c.Message().(*wrapperspb.StringValue); ok {
		c.Respond(wrapperspb.String("echo: " + v.Value))
	}
}

// hold is a step that begins, then waits for release, or for its ctx if plain.
func hold(name string, p policy.Policy, release <-chan struct{}) qactor.Step[*staged] {
	return qactor.Step[*staged]{Name: name, Policy: p, Run: func(s *staged, ctx context.Context) error {
		s.began <- name
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}}
}

// deaf is a step that begins, then waits for release whatever its ctx says.
func deaf(name string, release <-chan struct{}) qactor.Step[*staged] {
	return qactor.Step[*staged]{Name: name, Policy: policy.DeferFlag, Run: func(s *staged, ctx context.Context) error {
		s.began <- name
		<-release
		return nil
	}}
}

// spawnStaged spawns a staged component with steps on sys.
func spawnStaged(t *testing.T, sys *actor.ActorSystem, c qactor.Component[*staged]) (*actor.PID, chan string) {
	t.Helper()
	began := make(chan string, 16)
	c.New = func() *staged { return &staged{began: began} }
	props, err := c.Props()
	if err != nil {
		t.Fatal(err)
	}
	return sys.Root.Spawn(props), began
}

// spawnListener spawns an actor on sys that passes on every notice, progress and
// DeadLetterResponse it receives.
func spawnListener(sys *actor.ActorSystem) (*actor.PID, chan any) {
	ch := make(chan any, 64)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case mailbox.Notice, *mailbox.StepProgress, *actor.DeadLetterResponse, *mailbox.Refused:
			ch <- m
		}
	}))
	return pid, ch
}

// wait waits for ch, at most d, and fails the test saying what it waited for.
func wait[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited %v for %s", d, what)
		var zero T
		return zero
	}
}
