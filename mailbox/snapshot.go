package mailbox

import (
	"encoding/json"
	"time"

	"github.com/quiesce/quiesce/lifecycle"
)

// Snapshot is a stop as it stands, readable from any goroutine while it runs: what a
// readiness endpoint, an admin page or a progress bar shows of a drain under way.
// It marshals to JSON for people (durations as text, the reason as its message).
type Snapshot struct {
	lifecycle.Snapshot
	Phase      lifecycle.Phase
	BudgetLeft time.Duration // before the stop is forced; Unlimited under Infinity
	Drained    int           // messages handled by the drain so far
	Refused    int           // messages refused since the stop began
	// ChildrenStopping counts the children the Children step still waits for.
	ChildrenStopping int
	// Children adds up the last progress each child reported (Progressed), if any
	// did: the Done and Total of a tree under way.
	Children *lifecycle.Progress
}

// Snapshot returns the stop as it stands, and false if the actor is not stopping
// and has not stopped (it runs).
func (m *Mailbox) Snapshot() (Snapshot, bool) {
	if t := m.Ticket(); t != nil {
		return t.Snapshot(), true
	}
	return Snapshot{Snapshot: lifecycle.Snapshot{Actor: m.label()}, Phase: m.Phase()}, false
}

// Snapshot returns the stop as it stands.
func (t *Ticket) Snapshot() Snapshot {
	st, m := t.st, t.m
	s := Snapshot{Phase: m.Phase(), Drained: int(st.drainCount.Load()), ChildrenStopping: int(st.childrenLeft.Load())}
	m.mu.Lock()
	exec := st.exec
	s.BudgetLeft = st.budgetLeftLocked()
	forced := st.forced
	m.mu.Unlock()
	if exec != nil {
		s.Snapshot = exec.Snapshot()
	} else { // the actor's goroutine has not begun it yet
		s.Snapshot = lifecycle.Snapshot{ID: st.id, Actor: m.label(), Reason: st.reason, Start: st.began,
			Elapsed: time.Since(st.began), Forced: forced}
	}
	if rep := st.report.Load(); rep != nil {
		s.Elapsed, s.Refused, s.BudgetLeft = rep.Duration, rep.Refused, 0
	} else {
		// The stop lasts until protoactor has stopped the actor, its children
		// included, not only until its plan is over.
		s.Elapsed = time.Since(st.began)
		s.Refused = int(m.refused.Load() - st.refusedAt)
	}
	if w := st.children.Load(); w != nil {
		if sum := w.progressSum(); sum != nil {
			// The rate of the whole: what the children have done, over the time
			// the stop has run (their own rates would count the ones that are done).
			sum.Pace(s.Elapsed)
			s.Children = sum
		}
	}
	return s
}

// MarshalJSON writes the snapshot for people and machines alike: durations as text
// ("1.5s", "infinity"), the reason and the force as their messages.
func (s Snapshot) MarshalJSON() ([]byte, error) {
	type progress struct {
		Message string         `json:"message"`
		Phase   string         `json:"phase,omitempty"`
		Done    int            `json:"done"`
		Total   int            `json:"total,omitempty"`
		Rate    float64        `json:"rate,omitempty"`
		ETA     string         `json:"eta,omitempty"`
		Fields  map[string]any `json:"fields,omitempty"`
	}
	conv := func(p *lifecycle.Progress) *progress {
		if p == nil {
			return nil
		}
		out := &progress{Message: p.Message, Phase: p.Phase, Done: p.Done, Total: p.Total, Rate: p.Rate, Fields: p.Fields}
		if p.ETA > 0 {
			out.ETA = p.ETA.Round(time.Millisecond).String()
		}
		return out
	}
	out := struct {
		ID               lifecycle.StopID `json:"id"`
		Actor            string           `json:"actor"`
		Phase            lifecycle.Phase  `json:"phase"`
		Reason           string           `json:"reason,omitempty"`
		ReasonKind       string           `json:"reason_kind,omitempty"`
		Started          time.Time        `json:"started"`
		Elapsed          string           `json:"elapsed"`
		Finished         bool             `json:"finished"`
		Step             string           `json:"step,omitempty"`
		Policy           string           `json:"policy,omitempty"`
		StepElapsed      string           `json:"step_elapsed,omitempty"`
		StopRequests     int              `json:"stop_requests"`
		Deferred         int              `json:"deferred"`
		Progress         *progress        `json:"progress,omitempty"`
		BudgetLeft       string           `json:"budget_left,omitempty"`
		Forced           string           `json:"forced,omitempty"`
		Drained          int              `json:"drained"`
		Refused          int              `json:"refused"`
		ChildrenStopping int              `json:"children_stopping"`
		Children         *progress        `json:"children_progress,omitempty"`
	}{
		ID: s.ID, Actor: s.Actor, Phase: s.Phase, Started: s.Start, Elapsed: s.Elapsed.Round(time.Millisecond).String(),
		Finished: s.Finished, Step: s.Step, StopRequests: s.StopRequests, Deferred: s.Deferred,
		Progress: conv(s.Progress), Drained: s.Drained, Refused: s.Refused, ChildrenStopping: s.ChildrenStopping,
		Children: conv(s.Children),
	}
	if s.Reason != nil {
		out.Reason, out.ReasonKind = s.Reason.Error(), s.Reason.Kind.String()
	}
	if s.Step != "" {
		out.Policy, out.StepElapsed = s.Policy.String(), s.StepElapsed.Round(time.Millisecond).String()
	}
	switch {
	case s.BudgetLeft == Unlimited:
		out.BudgetLeft = "infinity"
	case !s.Finished:
		out.BudgetLeft = s.BudgetLeft.Round(time.Millisecond).String()
	}
	if s.Forced != nil {
		out.Forced = s.Forced.Error()
	}
	return json.Marshal(out)
}
