package main

import (
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if raw := os.Getenv(memberEnv); raw != "" {
		// This test binary, started again by the demo as one of its members.
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		os.Exit(memberMain(raw, stop))
	}
	goleak.VerifyTestMain(m)
}

// The demo, end to end: three member processes on loopback, a client's load, one
// member's SIGTERM and graceful leave. Every request is answered once, none times
// out, and every counter keeps its value across the leave.
func TestTheDemoLosesNothingWhenAMemberLeaves(t *testing.T) {
	var out strings.Builder
	races := t.TempDir()
	cfg := demoConfig{
		members: 3, identities: 12, workers: 16, work: 2 * time.Millisecond,
		warm: 2 * time.Second, after: time.Second, grace: 20 * time.Second,
		refresh: 200 * time.Millisecond, timeout: 10 * time.Second,
		command: func() *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			// The members run under the race detector too (when this test does), with
			// their reports in files: protoactor races with itself there (see below).
			cmd.Env = append(os.Environ(), "GORACE=exitcode=0 log_path="+filepath.Join(races, "race"))
			return cmd
		},
	}
	l, err := runDemo(cfg, &out)
	t.Log("\n" + out.String())
	checkRaces(t, races)
	if err != nil {
		t.Fatal(err)
	}
	if l.sent == 0 || l.during == 0 {
		t.Fatalf("no load during the leave: %v", l)
	}
	if l.sent != l.answered || l.lost != 0 || l.twice != 0 || l.timeouts != 0 || l.failed != 0 {
		t.Errorf("%v", l)
	}
	if l.kept != l.identities {
		t.Errorf("%d of %d counters kept their value", l.kept, l.identities)
	}
	if !strings.Contains(out.String(), "member 2 | left in") {
		t.Errorf("the leaving member did not report its leave:\n%s", out.String())
	}
}

// checkRaces fails the test for a data race that the member processes reported in
// dir, unless it is protoactor's own: its BlockList reads its set without the lock
// that Block takes (remote/blocklist.go:27-29, 42-45), and in a member process the
// gossip loop and the automanaged provider's poll use it at once.
func checkRaces(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "race*"))
	theirs := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, report := range strings.Split(string(b), "WARNING: DATA RACE")[1:] {
			// The accesses come first; the goroutines' creation after them.
			accesses, _, _ := strings.Cut(report, "\nGoroutine ")
			if strings.Contains(accesses, "github.com/quiesce/quiesce/") {
				t.Errorf("a member process reported a data race in Quiesce:%s", report)
				continue
			}
			if !strings.Contains(accesses, "remote.(*BlockList)") {
				t.Errorf("a member process reported a data race:%s", report)
				continue
			}
			theirs++
		}
	}
	if theirs > 0 {
		t.Logf("the members reported %d data races in protoactor's BlockList (remote/blocklist.go:27-29)", theirs)
	}
}
