package main

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == "server" { // this test binary, started again by run
		if err := serve(os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	// As remote shuts down, protoactor sends its own EndpointTerminatedEvent to
	// endpoint actors it has just stopped: dead letters, which its log throttle
	// follows with a goroutine that sleeps the throttle's interval (1 s by default)
	// and then ends.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
}

// ran: protoactor's remote.Start writes gRPC's global logger, a data race with the
// gRPC goroutines of an earlier run in the same process (see internal/testnode):
// one run per test binary (go test -count 2 skips the second).
var ran atomic.Bool

func TestTheExampleStopsAComponentOnAnotherProcess(t *testing.T) {
	if ran.Swap(true) {
		t.Skip("remote starts once per process")
	}
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")) // for the server
	var out strings.Builder
	assert.NoError(t, run(&out))
	for _, want := range []string{
		"server: a second process, listening on 127.0.0.1:",
		"orders is running",
		"/orders refused a message of type *wrapperspb.StringValue: stopping (stop requested: deploy v2)",
		"errors.Is(err, mailbox.ErrStopping): true",
		"queued before the stop: done job 3",
		"watcher: flush flushing (0/3)",
		"watcher: flush flushed (3/3)",
		"watcher: finished, all completed",
		"orders stopped in",
		"(stop requested: deploy v2): all completed",
		"flush       defer-flag  completed",
		"close       plain       completed",
		"orders is gone",
	} {
		assert.Contains(t, out.String(), want)
	}
	// The first job may be in Receive already when the stop begins: the drain is what
	// was queued then.
	assert.Regexp(t, `messages: [23] drained, 1 refused`, out.String())
}
