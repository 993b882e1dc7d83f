package chaos

import (
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	seedFlag    = flag.Uint64("chaos.seed", 0, "replay one run: its seed (with -chaos.actors and -chaos.levels); 0: the CI plan")
	actorsFlag  = flag.Int("chaos.actors", 50, "with -chaos.seed: the run's actors")
	levelsFlag  = flag.Int("chaos.levels", 4, "with -chaos.seed: the run's levels")
	baseFlag    = flag.Uint64("chaos.base", 0, "the CI plan's base seed, from which each run's seed derives; 0: a fresh one")
	knownFlag   = flag.String("chaos.known", "", "invariants (comma-separated) whose violations are logged but fail nothing, to see past known faults (or QUIESCE_CHAOS_KNOWN)")
	longFlag    = flag.Duration("chaos.long", 0, "the long mode: run for this long, with trees up to 100k actors (or QUIESCE_CHAOS=2h)")
	maxFailFlag = flag.Int("chaos.maxfail", 0, "stop after this many failing runs (0: run them all)")
	maxHungFlag = flag.Int("chaos.maxhung", 2, "stop after this many runs that hung (each costs its whole bound)")
	budgetFlag  = flag.Duration("chaos.budget", 55*time.Second, "the CI plan starts no run whose bound could take it past this (a safety net: the plan takes about 20s when every run passes)")
)

// ciPlan is what one CI invocation runs: a fixed number of runs, sized so that the
// package takes well under a minute on 2 cores under -race. -short runs the first
// ciShort of them.
var ciPlan = func() []Params {
	var p []Params
	for i := range 30 {
		p = append(p, Params{Actors: 3 + i*2, Levels: 1 + i%4})
	}
	for i := range 6 {
		p = append(p, Params{Actors: 250, Levels: 2 + i%3})
	}
	return append(p, Params{Actors: 2000, Levels: 4}, Params{Actors: 2000, Levels: 3})
}()

const ciShort = 12

// runSeed derives the seed of run i from a base seed (splitmix64).
func runSeed(base uint64, i int) uint64 {
	z := base + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func freshSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// replay is the command that runs one scenario again.
func replay(sc *Scenario) string {
	return fmt.Sprintf("go test -race ./internal/chaos -run 'TestChaos$' -chaos.seed=%#x -chaos.actors=%d -chaos.levels=%d -count=10 -v",
		sc.Seed, sc.Params.Actors, sc.Params.Levels)
}

// suite plays scenarios and reports each failing one with its replay command.
type suite struct {
	t        *testing.T
	known    map[string]bool
	runs     int
	failed   int
	hung     int
	found    map[string]int // invariant: runs that broke it
	started  time.Time
	explored int // instances spawned, over all runs
	messages int
	stops    int // stops scheduled (every event but the bursts)
}

func newSuite(t *testing.T) *suite {
	s := &suite{t: t, known: map[string]bool{}, found: map[string]int{}, started: time.Now()}
	known := *knownFlag
	if known == "" {
		known = os.Getenv("QUIESCE_CHAOS_KNOWN")
	}
	for _, k := range strings.Split(known, ",") {
		if k = strings.TrimSpace(k); k != "" {
			s.known[k] = true
		}
	}
	return s
}

// play runs one scenario and reports what it broke; it returns false once the suite
// has seen enough failing runs.
func (s *suite) play(sc *Scenario) bool {
	out := Run(sc)
	s.runs++
	s.explored += out.Instances
	s.messages += out.Messages
	for _, e := range append(slices.Clone(sc.Events), sc.Final...) {
		if e.Kind != Burst {
			s.stops++
		}
	}
	broken := map[string]int{}
	fatal := false
	for _, v := range out.Violations {
		broken[v.Invariant]++
		fatal = fatal || !s.known[v.Invariant]
	}
	for inv := range broken {
		s.found[inv]++
	}
	if len(out.Violations) == 0 {
		s.t.Logf("run %d ok in %v: seed %#x (%v): %s", s.runs, out.Took.Round(time.Millisecond), sc.Seed, sc.Params, sc.Summary())
		return true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "run %d broke %s in %v\n  seed %#x (%v): %s\n", s.runs, invariants(broken), out.Took.Round(time.Millisecond),
		sc.Seed, sc.Params, sc.Summary())
	shown := map[string]int{}
	for _, v := range out.Violations {
		if shown[v.Invariant]++; shown[v.Invariant] <= 7 {
			fmt.Fprintf(&b, "  %v\n", v)
		} else if shown[v.Invariant] == 8 {
			fmt.Fprintf(&b, "  [%s] ... %d more\n", v.Invariant, broken[v.Invariant]-7)
		}
	}
	fmt.Fprintf(&b, "  replay: %s", replay(sc))
	if !fatal {
		s.t.Logf("known faults only: %s", b.String())
		return true
	}
	s.failed++
	s.t.Error(b.String())
	if out.Hung {
		// A hang costs the run's whole bound: a few are enough to tell.
		if s.hung++; s.hung >= *maxHungFlag {
			s.t.Logf("chaos: stopping after %d runs that hung (-chaos.maxhung)", s.hung)
			return false
		}
	}
	return *maxFailFlag == 0 || s.failed < *maxFailFlag
}

func invariants(m map[string]int) string {
	var names []string
	for k, n := range m {
		names = append(names, fmt.Sprintf("%s (%d)", k, n))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func (s *suite) summary() {
	var found []string
	for inv, n := range s.found {
		found = append(found, fmt.Sprintf("%s in %d", inv, n))
	}
	slices.Sort(found)
	if len(found) == 0 {
		found = []string{"none"}
	}
	s.t.Logf("chaos: %d runs, %d instances, %d messages, %d stops scheduled, in %v; invariants broken: %s",
		s.runs, s.explored, s.messages, s.stops, time.Since(s.started).Round(time.Millisecond), strings.Join(found, ", "))
}

// TestChaos plays generated scenarios (see the package doc) and checks every
// invariant on each. By default it runs the CI plan; -chaos.seed replays one run;
// -chaos.long (or QUIESCE_CHAOS=2h) runs for hours with larger trees.
func TestChaos(t *testing.T) {
	s := newSuite(t)
	defer s.summary()
	long := *longFlag
	if env := os.Getenv("QUIESCE_CHAOS"); env != "" && long == 0 {
		d, err := time.ParseDuration(env)
		if err != nil {
			t.Fatalf("QUIESCE_CHAOS=%q: want a duration, such as 2h", env)
		}
		long = d
	}
	switch {
	case *seedFlag != 0:
		s.play(Generate(*seedFlag, Params{Actors: *actorsFlag, Levels: *levelsFlag}))
	case long > 0:
		s.long(long)
	default:
		base := *baseFlag
		if base == 0 {
			base = freshSeed()
		}
		plan := ciPlan
		if testing.Short() {
			plan = plan[:ciShort]
		}
		t.Logf("chaos: %d runs from base seed %#x (-chaos.base=%#x replays them all)", len(plan), base, base)
		for i, p := range plan {
			sc := Generate(runSeed(base, i), p)
			if time.Since(s.started)+sc.Bound() > *budgetFlag {
				t.Errorf("chaos: %d of %d runs done: the next could hang past the suite's time budget (-chaos.budget=%v)", i, len(plan), *budgetFlag)
				return
			}
			if !s.play(sc) {
				return
			}
		}
	}
}

// long runs scenarios until d has passed (or the test's deadline nears): mostly
// medium and large trees, one in twenty of 100k actors.
func (s *suite) long(d time.Duration) {
	end := time.Now().Add(d)
	if dl, ok := s.t.Deadline(); ok && dl.Add(-5*time.Minute).Before(end) {
		end = dl.Add(-5 * time.Minute)
		s.t.Logf("chaos: the test deadline cuts the long mode to %v (pass -timeout 0 or more than %v)", time.Until(end).Round(time.Second), d)
	}
	base := *baseFlag
	if base == 0 {
		base = freshSeed()
	}
	s.t.Logf("chaos: long mode until %v, base seed %#x", end.Format(time.TimeOnly), base)
	for i := 0; time.Now().Before(end); i++ {
		p := Params{Actors: 10 + int(runSeed(base, -i-1)%2000), Levels: 4}
		switch {
		case i%20 == 19:
			p.Actors = 100_000
		case i%5 == 4:
			p.Actors = 10_000
		}
		if !s.play(Generate(runSeed(base, i), p)) {
			return
		}
	}
}
