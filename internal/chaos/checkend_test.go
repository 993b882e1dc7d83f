package chaos

// The checks at the end of a run: the steps left blocked, and what the blocking
// calls returned.

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

var labelLine = regexp.MustCompile(`"` + policy.LabelKey + `":"([^"]*)"`)

// checkAbandoned runs before the deaf steps are let go: each one still blocked was
// abandoned, its report says so and names its goroutine, and the goroutine profile
// has a goroutine under that label.
func (r *run) checkAbandoned() {
	r.mu.Lock()
	all := slices.Clone(r.instances)
	r.mu.Unlock()
	blocked := map[string]int{}
	for _, in := range all {
		in.mu.Lock()
		deaf, gone := slices.Clone(in.deaf), in.terminated
		fins := slices.Clone(in.finished)
		in.mu.Unlock()
		if !gone {
			continue
		}
		for _, step := range deaf {
			blocked[step]++
			named := false
			for _, f := range fins {
				for _, s := range finishedReport(f).Steps {
					named = named || (s.Name == step && s.Status == lifecycle.Abandoned && s.Goroutine == policy.LabelKey+"="+step)
				}
			}
			if !named {
				r.violate(invAbandoned, in, "step %q is still blocked after the actor terminated, and no report names it abandoned", step)
			}
		}
	}
	if len(blocked) == 0 {
		return
	}
	labelled := goroutineLabels()
	for step, n := range blocked {
		if labelled[step] < n {
			r.violate(invAbandoned, nil, "%d steps %q left blocked, but %d goroutines labelled %s=%s", n, step, labelled[step], policy.LabelKey, step)
		}
	}
}

// goroutineLabels counts the goroutines by their op label.
func goroutineLabels() map[string]int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	out := map[string]int{}
	count := 0
	for line := range bytes.Lines(b.Bytes()) {
		if f := bytes.Fields(line); len(f) > 1 && string(f[1]) == "@" {
			count, _ = strconv.Atoi(string(f[0]))
			continue
		}
		if m := labelLine.FindSubmatch(line); m != nil {
			out[string(m[1])] += count
		}
	}
	return out
}

// checkCalls: what Stop, Shutdown and the futures returned.
func (r *run) checkCalls(hung bool) {
	r.mu.Lock()
	stops, shutdowns, futures := slices.Clone(r.stops), slices.Clone(r.shutdowns), slices.Clone(r.futures)
	r.mu.Unlock()
	final := func(in *instance) *lifecycle.Report {
		in.mu.Lock()
		defer in.mu.Unlock()
		if len(in.finished) == 0 {
			return nil
		}
		return finishedReport(in.finished[len(in.finished)-1])
	}
	for _, s := range stops {
		switch {
		case s.err == nil && (s.report == nil || s.report != final(s.in)):
			r.violate(invCalls, s.in, "qactor.Stop returned no error and a report (%v) that is not its last", reasonOf(s.report))
		case s.err != nil && !errors.Is(s.err, context.DeadlineExceeded) && !errors.Is(s.err, context.Canceled) &&
			!errors.Is(s.err, qactor.ErrNotComponent) && !hung:
			r.violate(invCalls, s.in, "qactor.Stop: %v", s.err)
		}
	}
	for _, f := range futures {
		if f.err != nil && !hung {
			r.violate(invCalls, f.in, "%v's future: %v", f.kind, f.err)
		}
	}
	for _, s := range shutdowns {
		if s.tree == nil {
			r.violate(invCalls, nil, "qactor.Shutdown returned no tree (%v)", s.err)
			continue
		}
		for _, rep := range s.tree.Roots {
			for _, in := range s.roots {
				if rep.Actor == in.name && rep != final(in) {
					r.violate(invCalls, in, "qactor.Shutdown (second call %v) returned its report for %v, not its last: it went on after the Shutdown",
						s.again, reasonOf(rep))
				}
			}
		}
	}
}

func reasonOf(rep *lifecycle.Report) any {
	if rep == nil {
		return "none"
	}
	return rep.Reason
}
