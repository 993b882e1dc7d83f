package lifecycle_test

// The chaos test's checks: after every action, the Execution against the model.

import (
	"context"
	"errors"
	"slices"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// check compares the Execution with the model; it runs after every action.
func (m *model) check(t *rapid.T) {
	step, p, elapsed, ok := m.e.Running()
	if s := m.cur; s != nil && s.running {
		if !ok || step != s.spec.Name || p != s.spec.Policy || elapsed != time.Since(s.start) {
			t.Fatalf("Running() = %q %v %v %v, want %s for %v", step, p, elapsed, ok, s.spec.Name, time.Since(s.start))
		}
	} else if ok {
		t.Fatalf("Running() = %q, but no step runs", step)
	}
	if m.e.Finished() != (m.finished && m.settled()) {
		t.Fatalf("Finished() = %v, want %v", m.e.Finished(), m.finished)
	}
	if f := m.e.Forced(); (f == nil) != (m.forced == nil) || (f != nil && (!errors.Is(f, lifecycle.ErrForced) || !errors.Is(f, m.forced))) {
		t.Fatalf("Forced() = %v, want the first force (%v)", f, m.forced)
	}
	rep := m.e.Report()
	if m.finished && m.settled() {
		if m.final == nil {
			m.final = rep
			if rep.Duration != m.finishAt.Sub(m.begin) {
				t.Fatalf("the report's Duration %v, want %v", rep.Duration, m.finishAt.Sub(m.begin))
			}
		} else if rep != m.final {
			t.Fatalf("Report() changed after the plan was over")
		}
	}
	if rep.StopRequests != m.requestsBefore() {
		t.Fatalf("Report.Requests = %d, want %d", rep.StopRequests, m.requestsBefore())
	}
	if (rep.Forced == nil) != (m.forced == nil) {
		t.Fatalf("Report.Forced = %v, want %v", rep.Forced, m.forced)
	}
	for i, s := range m.steps {
		m.checkStep(rep.Steps[i], s, "in the report")
		if s.running && !s.body.returned.Load() {
			m.checkCtx(s)
		}
	}
	m.obs.mu.Lock()
	finished, abandoned := slices.Clone(m.obs.finished), slices.Clone(m.obs.abandoned)
	m.obs.mu.Unlock()
	if !slices.Equal(finished, m.observed) || !slices.Equal(abandoned, m.lost) {
		t.Fatalf("the Observer heard StepFinished %v and Abandoned %v, want %v and %v", finished, abandoned, m.observed, m.lost)
	}
	want := lifecycle.AllCompleted
	for i := range m.steps {
		switch rep.Steps[i].Status {
		case lifecycle.Failed, lifecycle.TimedOut:
			want = lifecycle.SomeFailed // a step that failed or timed out, nothing forced
		case lifecycle.Interrupted, lifecycle.Skipped:
			want = max(want, lifecycle.SomeCutShort) // a stop request cut the plan short
		}
	}
	if m.forced != nil {
		want = lifecycle.SomeForced
	}
	if len(m.lost) > 0 {
		want = lifecycle.SomeAbandoned
	}
	if v := rep.Verdict(); v != want {
		t.Fatalf("Verdict() = %v, want %v", v, want)
	}
}

// settled reports whether the RunNext that ends the plan has returned.
func (m *model) settled() bool {
	for _, c := range m.calls {
		if c.step == nil && c.res == nil {
			return false
		}
	}
	return true
}

// requestsBefore is the report's count: the requests made before the plan was over.
func (m *model) requestsBefore() int {
	if m.finished {
		return m.frozen
	}
	return m.requests
}

// checkStep compares one step's report with the model.
func (m *model) checkStep(r lifecycle.StepReport, s *mStep, where string) {
	t := m.t
	name := s.spec.Name
	if r.Name != name || r.Policy != s.spec.Policy {
		t.Fatalf("%s: step %q %v, want %s %v", where, r.Name, r.Policy, name, s.spec.Policy)
	}
	switch {
	case s.skipped:
		if r.Status != lifecycle.Skipped || !r.Start.IsZero() || r.Err == nil {
			t.Fatalf("%s: %s is %v (start %v, err %v), want skipped with a cause", where, name, r.Status, !r.Start.IsZero(), r.Err)
		}
		if s.skipCause != nil && (!errors.Is(r.Err, lifecycle.ErrForced) || !errors.Is(r.Err, s.skipCause)) {
			t.Fatalf("%s: %s skipped for %v, want the force (%v)", where, name, r.Err, s.skipCause)
		}
		return
	case s.running:
		if r.Status != lifecycle.Pending || r.Start != s.start {
			t.Fatalf("%s: the running %s is %v, started at %v, want pending since %v", where, name, r.Status, r.Start.Sub(m.begin), s.start.Sub(m.begin))
		}
		return
	case !s.returned && !s.abandoned:
		if r.Status != lifecycle.Pending || !r.Start.IsZero() {
			t.Fatalf("%s: %s has not run, yet it is %v", where, name, r.Status)
		}
		return
	}
	if r.Status != s.status {
		t.Fatalf("%s: %s is %v, want %v (its ctx: %s; requests %d, forced %v, under force %v)", where, name, r.Status, s.status,
			ctxCauseNames[s.ownDone], s.requests, s.forced, s.underForce)
	}
	if r.Start != s.start || r.Duration != s.end.Sub(s.start) {
		t.Fatalf("%s: %s ran from %v for %v, want from %v for %v", where, name, r.Start.Sub(m.begin), r.Duration, s.start.Sub(m.begin), s.end.Sub(s.start))
	}
	wantDeferred := 0
	if s.spec.Policy.Deferred() {
		wantDeferred = s.deferred
	}
	if r.StopRequests != s.requests || r.Deferred != wantDeferred {
		t.Fatalf("%s: %s counts %d requests, %d deferred, want %d and %d", where, name, r.StopRequests, r.Deferred, s.requests, wantDeferred)
	}
	if want := s.spec.Policy == policy.DeferReraise && s.requests > 0; s.status == lifecycle.Completed && r.Reraised != want {
		t.Fatalf("%s: %s completed with Reraised %v, want %v", where, name, r.Reraised, want)
	}
	if s.spec.Policy != policy.DeferReraise && r.Reraised {
		t.Fatalf("%s: the %v step %s says it re-raised", where, s.spec.Policy, name)
	}
	switch s.status {
	case lifecycle.Completed:
		if r.Err != nil {
			t.Fatalf("%s: %s completed with error %v", where, name, r.Err)
		}
	case lifecycle.Failed:
		var pe *policy.PanicError
		if !errors.Is(r.Err, errStep) && !errors.As(r.Err, &pe) {
			t.Fatalf("%s: %s failed with %v, want its own error or panic", where, name, r.Err)
		}
	case lifecycle.Interrupted:
		if !errors.Is(r.Err, s.ownCause) {
			t.Fatalf("%s: %s interrupted by %v, want the request %v", where, name, r.Err, s.ownCause)
		}
	case lifecycle.Forced:
		if !errors.Is(r.Err, lifecycle.ErrForced) || !errors.Is(r.Err, s.ownCause) {
			t.Fatalf("%s: %s forced with %v, want the force %v", where, name, r.Err, s.ownCause)
		}
	case lifecycle.TimedOut:
		if want := map[ctxCause]error{byTimeout: policy.ErrTimeout, byGrace: policy.ErrGraceExpired}[s.ownDone]; !errors.Is(r.Err, want) {
			t.Fatalf("%s: %s timed out with %v, want %v", where, name, r.Err, want)
		}
	case lifecycle.Abandoned:
		if !errors.Is(r.Err, lifecycle.ErrAbandoned) || r.Goroutine != policy.LabelKey+"="+name {
			t.Fatalf("%s: %s abandoned with %v, goroutine %q", where, name, r.Err, r.Goroutine)
		}
	}
}

// checkCtx checks what a running step's ctx says: done exactly when the model says,
// with the cause the model says, and carrying the stop's reason.
func (m *model) checkCtx(s *mStep) {
	ctx := s.body.context()
	if ctx == nil {
		m.t.Fatalf("%s runs, but its Run was not called", s.spec.Name)
	}
	if lifecycle.ReasonFrom(ctx) != reason {
		m.t.Fatalf("%s's ctx carries the reason %v, want %v", s.spec.Name, lifecycle.ReasonFrom(ctx), reason)
	}
	done := ctx.Err() != nil
	if done != (s.ownDone != notDone) {
		m.t.Fatalf("%s's ctx is done: %v; the model says %s", s.spec.Name, done, ctxCauseNames[s.ownDone])
	}
	if !done {
		return
	}
	cause := context.Cause(ctx)
	ok := false
	switch s.ownDone {
	case byRequest:
		ok = errors.Is(cause, s.ownCause)
	case byForce:
		ok = errors.Is(cause, lifecycle.ErrForced) && errors.Is(cause, s.ownCause)
	case byTimeout:
		ok = errors.Is(cause, policy.ErrTimeout)
	case byGrace:
		ok = errors.Is(cause, policy.ErrGraceExpired)
	}
	if !ok {
		m.t.Fatalf("%s's ctx was cancelled by %v, the model says by %s (%v)", s.spec.Name, cause, ctxCauseNames[s.ownDone], s.ownCause)
	}
}

// end lets every step return and runs the plan to its end, then checks the report
// once more: whatever happened, the plan ends and every goroutine with it.
func (m *model) end(t *rapid.T) {
	for range 4 * len(m.steps) {
		for _, s := range m.steps {
			if (s.running || s.abandoned) && !s.body.returned.Load() {
				s.body.tell <- returnNil
				if s.running {
					m.stepReturned(s, returnNil)
				}
			}
		}
		m.settle()
		if m.finished && m.settled() {
			break
		}
		busy := false
		for _, c := range m.calls {
			busy = busy || (c.res == nil && (c.step == nil || !c.step.abandoned))
		}
		if !busy {
			m.runNext(t)
		}
		m.check(t)
	}
	if !m.finished || !m.settled() {
		t.Fatalf("the plan did not end")
	}
	for _, c := range m.calls {
		if c.res == nil {
			t.Fatalf("a RunNext never returned")
		}
	}
	m.check(t)
	for _, s := range m.steps {
		if s.body.invoked.Load() > 1 {
			t.Fatalf("%s ran %d times", s.spec.Name, s.body.invoked.Load())
		}
	}
}

// release lets every step still blocked return, so that a failing case ends its
// bubble with no goroutine left and reports its own failure.
func (m *model) release() {
	for _, s := range m.steps {
		if s.body.invoked.Load() > 0 && !s.body.returned.Load() {
			select {
			case s.body.tell <- returnNil:
			default:
			}
		}
	}
	synctest.Wait()
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
