package mailbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
)

// Events published on the actor system's EventStream, besides the notices, when the
// system's Settings.Events is on.
type (
	// PhaseChanged says an incarnation moved to a new phase.
	PhaseChanged struct {
		Actor    *actor.PID
		Stop     lifecycle.StopID // the stop the move is part of; zero for Starting and Running
		From, To lifecycle.Phase
		Reason   *lifecycle.Reason // why, when the move is to Stopping or Stopped
	}
	// StepFinished says a step of a stopping actor has run, or been skipped.
	StepFinished struct {
		Actor *actor.PID
		Stop  lifecycle.StopID
		Step  lifecycle.StepReport
	}
	// StepProgress says a running step reported progress.
	StepProgress struct {
		Actor    *actor.PID
		Stop     lifecycle.StopID
		Step     string
		Progress lifecycle.Progress
	}
)

// observer is the mailbox as the lifecycle.Observer of its executions, and the one
// place that logs and publishes lifecycle events.
type observer Mailbox

func (o *observer) m() *Mailbox { return (*Mailbox)(o) }

func (o *observer) StepFinished(r lifecycle.StepReport) {
	m := o.m()
	level := slog.LevelDebug
	switch r.Status {
	case lifecycle.Failed, lifecycle.TimedOut, lifecycle.Forced, lifecycle.Abandoned:
		level = slog.LevelWarn
	}
	st := m.stop.Load()
	m.metrics.step(&r)
	if l := m.logger(level); l != nil {
		logStep(l, level, m.self(), st.id, &r)
	}
	if m.publishing() {
		m.publish(&StepFinished{Actor: m.self(), Stop: st.id, Step: r})
	}
}

// logStep and logPhase build their records in frames of their own: the attributes
// are large, and a mailbox goroutine that outgrows its stack pays for a copy.
//
//go:noinline
func logStep(l *slog.Logger, level slog.Level, self *actor.PID, stop lifecycle.StopID, r *lifecycle.StepReport) {
	l.LogAttrs(context.Background(), level, "quiesce: step "+r.Status.String(),
		slog.String("actor", PIDText(self)), slog.String("stop", stop.String()), slog.String("step", r.Name),
		slog.String("policy", r.Policy.String()), slog.Duration("took", r.Duration), slog.Int("requests", r.StopRequests),
		slog.Any("error", r.Err))
}

//go:noinline
func logPhase(l *slog.Logger, self *actor.PID, stop lifecycle.StopID, from, to lifecycle.Phase, reason *lifecycle.Reason) {
	attrs := []slog.Attr{slog.String("actor", PIDText(self)), slog.String("from", from.String())}
	if stop != 0 {
		attrs = append(attrs, slog.String("stop", stop.String()), slog.Any("reason", reason))
	}
	l.LogAttrs(context.Background(), slog.LevelDebug, "quiesce: phase "+to.String(), attrs...)
}

func (o *observer) Progress(step string, p lifecycle.Progress) {
	m := o.m()
	st := m.stop.Load()
	if m.publishing() {
		m.publish(&StepProgress{Actor: m.self(), Stop: st.id, Step: step, Progress: p})
	}
	m.progressed(st, &Progressed{Actor: m.self(), Stop: st.id, Step: step, Progress: p})
}

// progressed tells the parent of a step's progress, at most once per
// Config.ProgressEvery: a report within the interval waits for its end, and only
// the last one of an interval goes.
func (m *Mailbox) progressed(st *stopState, n *Progressed) {
	every := m.cfg.ProgressEvery
	if c := m.actx(); every < 0 || c == nil || (c.Parent() == nil && m.watchers.Load() == nil && !m.publishing()) {
		return // nobody to tell
	}
	if every == 0 {
		every = DefaultProgressEvery
	}
	st.progressMu.Lock()
	defer st.progressMu.Unlock()
	now := time.Now()
	if wait := st.progressSent.Add(every).Sub(now); wait > 0 {
		st.progressNext = n
		if st.progressTick == nil {
			st.progressTick = time.AfterFunc(wait, func() { m.flushProgress(st) })
		}
		return
	}
	// Sent now: one that waited for this interval is older, and goes no more.
	st.progressSent, st.progressNext = now, nil
	if st.progressTick != nil {
		st.progressTick.Stop()
		st.progressTick = nil
	}
	m.tell(st, n)
}

// flushProgress sends the progress notice that waits for its interval, if any.
func (m *Mailbox) flushProgress(st *stopState) {
	st.progressMu.Lock()
	defer st.progressMu.Unlock()
	if st.progressTick != nil {
		st.progressTick.Stop()
		st.progressTick = nil
	}
	if n := st.progressNext; n != nil {
		st.progressNext, st.progressSent = nil, time.Now()
		m.tell(st, n)
	}
}

// DefaultProgressEvery is Config.ProgressEvery's zero value: ten a second.
const DefaultProgressEvery = 100 * time.Millisecond

// Abandoned is called on a timer's goroutine, while the goroutine that ran the step
// is stuck in it: a new goroutine takes the mailbox over and goes on with the plan.
// The stuck one finds the generation changed when (if) the step returns, and leaves.
func (o *observer) Abandoned(r lifecycle.StepReport) {
	m := o.m()
	if l := m.logger(slog.LevelWarn); l != nil {
		l.LogAttrs(context.Background(), slog.LevelWarn, "quiesce: step abandoned",
			slog.String("actor", PIDText(m.self())), slog.String("step", r.Name), slog.String("goroutine", r.Goroutine))
	}
	m.metrics.abandoned(r.Name)
	m.metrics.step(&r)
	if st := m.stop.Load(); st != nil {
		m.tell(st, &Abandoned{Actor: m.self(), Stop: st.id, Step: r.Name, Goroutine: r.Goroutine})
	}
	m.gen.Add(1)
	m.sys.push(ctlStep, 0)
	m.sysCount.Add(1)
	m.dispatcher.Schedule(m.processFn)
}

func (o *observer) phaseChanged(st *stopState, from, to lifecycle.Phase) {
	m := o.m()
	var id lifecycle.StopID
	var reason *lifecycle.Reason
	if st != nil {
		id, reason = st.id, st.reason
	}
	if l := m.logger(slog.LevelDebug); l != nil {
		logPhase(l, m.self(), id, from, to, reason)
	}
	if m.publishing() {
		m.publish(&PhaseChanged{Actor: m.self(), Stop: id, From: from, To: to, Reason: reason})
	}
}

// logger returns the logger to log at level with, or nil if it would drop the
// record: nothing is built for a record nobody keeps.
func (m *Mailbox) logger(level slog.Level) *slog.Logger {
	l := m.cfg.Logger
	if c := m.actx(); l == nil && c != nil {
		l = c.Logger()
	}
	if l != nil && l.Enabled(context.Background(), level) {
		return l
	}
	return nil
}

// publishing reports whether the system publishes events (Settings.Events).
func (m *Mailbox) publishing() bool { return m.settings.Events && m.actx() != nil }

func (m *Mailbox) publish(evt any) {
	if m.publishing() {
		m.actx().ActorSystem().EventStream.Publish(evt)
	}
}
