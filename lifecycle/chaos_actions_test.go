package lifecycle_test

// The chaos test's actions, and the model's rules for each: what RunNext, Cancel,
// Force, a step's return and the clock do to the Execution, as the package doc says.

import (
	"slices"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// settle lets every goroutine in the bubble run until it blocks, then brings the
// model up to date with what the clock did meanwhile, and takes in what the RunNext
// calls returned.
func (m *model) settle() {
	synctest.Wait()
	for _, c := range m.calls {
		if c.res != nil {
			continue
		}
		select {
		case r := <-c.done:
			c.res = &r
			m.returnedCall(c)
		default:
		}
	}
}

// returnedCall checks what a RunNext call returned against the model.
func (m *model) returnedCall(c *nextCall) {
	if c.step == nil {
		if c.res.more {
			m.t.Fatalf("RunNext returned more = true with no step due")
		}
		return
	}
	s := c.step
	if !c.res.more {
		m.t.Fatalf("RunNext running %s returned more = false", s.spec.Name)
	}
	switch {
	case s.abandoned:
		if !s.body.returned.Load() {
			m.t.Fatalf("RunNext for the abandoned %s returned before its Run did", s.spec.Name)
		}
		if c.res.r.Status != lifecycle.Abandoned {
			m.t.Fatalf("RunNext for the abandoned %s returned %v, want abandoned: a step that returns after its abandonment changes nothing", s.spec.Name, c.res.r.Status)
		}
	case !s.returned:
		m.t.Fatalf("RunNext returned %s (%v) while the model has it running", s.spec.Name, c.res.r)
	default:
		m.checkStep(c.res.r, s, "as RunNext returned it")
	}
}

// advance moves the clock by d, and the model with it: the running step's timers
// fire in time order (its timeout, its grace, its abandonment).
func (m *model) advance(d time.Duration) {
	end := time.Now().Add(d)
	for s := m.cur; s != nil && s.running; s = m.cur {
		at, what := m.nextTimer(s)
		if at.IsZero() || at.After(end) {
			break
		}
		time.Sleep(time.Until(at))
		switch what {
		case byTimeout, byGrace:
			m.ctxDone(s, what, nil)
		case notDone: // the abandonment, due in [abandonLo, abandonHi]
			m.settle()
			if s.body.returned.Load() {
				m.t.Fatalf("%s returned without being told, at %v", s.spec.Name, m.now())
			}
			i := slices.Index(m.steps, s)
			if m.e.Report().Steps[i].Status != lifecycle.Abandoned && at.Before(s.abandonHi) {
				s.abandonLo = s.abandonHi // not yet: the later of the two readings
				continue
			}
			s.running, s.abandoned, s.status, s.end = false, true, lifecycle.Abandoned, at
			m.cur = nil
			m.lost = append(m.lost, s.spec.Name)
		}
		m.settle()
	}
	time.Sleep(time.Until(end))
	m.settle()
}

// nextTimer returns the running step's next timer and what it does.
func (m *model) nextTimer(s *mStep) (time.Time, ctxCause) {
	var at time.Time
	what := notDone
	consider := func(t time.Time, w ctxCause) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at, what = t, w
		}
	}
	if s.ownDone == notDone {
		consider(s.timeoutAt, byTimeout)
		if s.spec.Policy.Deferred() && s.spec.Grace > 0 && !s.firstRequest.IsZero() {
			consider(s.firstRequest.Add(s.spec.Grace), byGrace)
		}
	}
	if !s.abandonLo.IsZero() {
		consider(s.abandonLo, notDone)
	}
	return at, what
}

func (m *model) now() time.Duration { return time.Since(m.begin) }

// ctxDone records that s's own ctx was cancelled now, for why; a step that honours
// its ctx returns at once.
func (m *model) ctxDone(s *mStep, why ctxCause, cause error) {
	if s.ownDone != notDone {
		return
	}
	s.ownDone, s.ownCause = why, cause
	if s.body.honour {
		m.stepReturned(s, returnLate)
	}
}

// stepReturned moves the model past the return of s's Run with outcome o.
func (m *model) stepReturned(s *mStep, o outcome) {
	s.running, s.returned, s.end = false, true, time.Now()
	m.cur = nil
	if o == returnLate && s.ownDone == notDone {
		o = returnNil // ctx.Err() is nil
	}
	switch o {
	case returnNil:
		s.status = lifecycle.Completed
	case returnErr, returnPanic:
		s.status = lifecycle.Failed
	case returnLate:
		switch s.ownDone {
		case byRequest:
			s.status = lifecycle.Interrupted
		case byForce:
			s.status = lifecycle.Forced
		default:
			s.status = lifecycle.TimedOut
		}
	}
	if s.spec.Policy == policy.DeferReraise && s.deferred > 0 && (s.status == lifecycle.Completed || !s.forced) {
		m.reraised = true
	}
	m.observed = append(m.observed, s.spec.Name)
}

func (m *model) runNext(t *rapid.T) {
	for _, c := range m.calls {
		if c.res == nil && (c.step == nil || !c.step.abandoned) {
			t.Skip("a RunNext is under way")
		}
	}
	c := &nextCall{done: make(chan nextResult, 1)}
	for m.next < len(m.steps) {
		s := m.steps[m.next]
		m.next++
		if !s.spec.Always && (m.forced != nil || m.reraised) {
			s.skipped, s.status = true, lifecycle.Skipped
			s.skipCause = m.forced
			m.observed = append(m.observed, s.spec.Name)
			continue
		}
		c.step = s
		m.start(s)
		break
	}
	if c.step == nil && !m.finished {
		m.finished, m.finishAt, m.frozen = true, time.Now(), m.requests
	}
	m.calls = append(m.calls, c)
	go func() {
		r, more := m.e.RunNext()
		c.done <- nextResult{r, more}
	}()
	m.settle()
	if c.step == nil && c.res == nil {
		t.Fatalf("RunNext with no step due did not return")
	}
	if c.step != nil && c.step.body.invoked.Load() != 1 {
		t.Fatalf("RunNext did not run %s's Run exactly once (%d)", c.step.spec.Name, c.step.body.invoked.Load())
	}
}

// start begins s in the model: held requests are delivered, a force before it
// bounds its Timeout by the AbandonAfter and arms its abandonment.
func (m *model) start(s *mStep) {
	s.running, s.start = true, time.Now()
	m.cur = s
	if s.spec.Timeout > 0 {
		s.timeoutAt = s.start.Add(s.spec.Timeout)
	}
	if m.forced != nil {
		s.underForce = true
		if s.spec.Timeout == 0 || s.spec.Timeout > chaosForce {
			s.timeoutAt = s.start.Add(chaosForce)
		}
		s.abandonLo, s.abandonHi = s.start.Add(2*chaosForce), s.start.Add(2*chaosForce)
	}
	if m.pending > 0 {
		s.requests += m.pending
		if s.spec.Policy.Deferred() {
			s.deferred += m.pending
			s.firstRequest = s.start
		} else {
			m.ctxDone(s, byRequest, m.pendCaus)
		}
		m.pending, m.pendCaus = 0, nil
	}
}

func (m *model) cancel(t *rapid.T) {
	cause := m.cause("request")
	rc := m.e.Cancel(cause)
	m.requests++
	if rc.StopRequests != m.requests {
		t.Fatalf("Receipt.Requests %d, want %d", rc.StopRequests, m.requests)
	}
	s := m.cur
	switch {
	case s != nil && s.running:
		s.requests++
		if rc.Step != s.spec.Name || rc.Policy != s.spec.Policy || rc.Held {
			t.Fatalf("the request reached %q (%v, held %v), but %s runs", rc.Step, rc.Policy, rc.Held, s.spec.Name)
		}
		if rc.Deferred != s.spec.Policy.Deferred() || rc.Interrupted() == s.spec.Policy.Deferred() {
			t.Fatalf("a request to the %v step %s: deferred %v, interrupted %v", s.spec.Policy, s.spec.Name, rc.Deferred, rc.Interrupted())
		}
		if rc.Elapsed != time.Since(s.start) {
			t.Fatalf("Receipt.Elapsed %v, want %v", rc.Elapsed, time.Since(s.start))
		}
		if s.spec.Policy.Deferred() {
			s.deferred++
			if s.firstRequest.IsZero() {
				s.firstRequest = time.Now()
			}
		} else {
			m.ctxDone(s, byRequest, cause)
		}
	case !m.finished:
		if rc.Step != "" || !rc.Held || rc.Deferred {
			t.Fatalf("a request between steps: %+v, want it held", rc)
		}
		if m.pending++; m.pending == 1 {
			m.pendCaus = cause
		}
	default:
		if rc.Step != "" || rc.Held || rc.Deferred {
			t.Fatalf("a request after the plan is over: %+v", rc)
		}
	}
	m.settle()
}

func (m *model) force(t *rapid.T) {
	if rapid.IntRange(0, 2).Draw(t, "force now") != 0 {
		t.Skip("not this time: a force ends most of the plan, so it comes less often")
	}
	cause := m.cause("force")
	m.e.Force(cause) // what it returns is not the model's business
	if m.finished {
		m.settle()
		return
	}
	if m.forced == nil {
		m.forced = cause
	}
	if s := m.cur; s != nil && s.running && !s.forced {
		s.forced = true
		at := time.Now().Add(chaosForce)
		if s.underForce {
			// Forced again: the doc's two rules (AbandonAfter after its force, and
			// after its Timeout) disagree here; either is accepted.
			s.abandonLo, s.abandonHi = minT(s.abandonLo, at), maxT(s.abandonHi, at)
		} else {
			s.abandonLo, s.abandonHi = at, at
		}
		m.ctxDone(s, byForce, cause)
	}
	m.settle()
}

func (m *model) finish(t *rapid.T) {
	var waiting []*mStep
	for _, s := range m.steps {
		if (s.running || s.abandoned) && !s.body.returned.Load() {
			waiting = append(waiting, s)
		}
	}
	if len(waiting) == 0 {
		t.Skip("no step waits to be told")
	}
	s := waiting[rapid.IntRange(0, len(waiting)-1).Draw(t, "which")]
	o := outcome(rapid.IntRange(0, len(outcomeNames)-1).Draw(t, "outcome"))
	s.body.tell <- o
	if s.running {
		m.stepReturned(s, o)
	}
	m.settle()
	if !s.body.returned.Load() {
		t.Fatalf("%s did not return when told to (%v)", s.spec.Name, outcomeNames[o])
	}
}

func (m *model) tick(t *rapid.T) {
	m.advance(time.Duration(rapid.IntRange(1, 5).Draw(t, "ticks")) * chaosTick)
}
