package mailbox

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/quiesce/quiesce/lifecycle"
)

// Events published on the actor system's EventStream, besides the notices, when the
// system's Settings.Events is on.
type (
	// PhaseChanged says an incarnation moved to a new phase.
	PhaseChanged struct {
		Actor    *actor.PID
		From, To lifecycle.Phase
		Reason   *lifecycle.Reason // why, when the move is to Stopping or Stopped
	}
	// StepFinished says a step of a stopping actor has run, or been skipped.
	StepFinished struct {
		Actor *actor.PID
		Step  lifecycle.StepReport
	}
	// StepProgress says a running step reported progress.
	StepProgress struct {
		Actor    *actor.PID
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
	if l := m.logger(level); l != nil {
		logStep(l, level, m.self(), &r)
	}
	if m.publishing() {
		m.publish(&StepFinished{Actor: m.self(), Step: r})
	}
}

// logStep and logPhase build their records in frames of their own: the attributes
// are large, and a mailbox goroutine that outgrows its stack pays for a copy.
//
//go:noinline
func logStep(l *slog.Logger, level slog.Level, self *actor.PID, r *lifecycle.StepReport) {
	l.LogAttrs(context.Background(), level, "quiesce: step "+r.Status.String(),
		slog.String("actor", PIDText(self)), slog.String("step", r.Name), slog.String("policy", r.Policy.String()),
		slog.Duration("took", r.Duration), slog.Int("requests", r.Requests), slog.Any("error", r.Err))
}

//go:noinline
func logPhase(l *slog.Logger, self *actor.PID, from, to lifecycle.Phase, reason *lifecycle.Reason) {
	l.LogAttrs(context.Background(), slog.LevelDebug, "quiesce: phase "+to.String(),
		slog.String("actor", PIDText(self)), slog.String("from", from.String()), slog.Any("reason", reason))
}

func (o *observer) Progress(step string, p lifecycle.Progress) {
	if m := o.m(); m.publishing() {
		m.publish(&StepProgress{Actor: m.self(), Step: step, Progress: p})
	}
}

// Abandoned is called on a timer's goroutine, while the goroutine that ran the step
// is stuck in it: a new goroutine takes the mailbox over and goes on with the plan.
// The stuck one finds the generation changed when (if) the step returns, and leaves.
func (o *observer) Abandoned(r lifecycle.StepReport) {
	m := o.m()
	if l := m.logger(slog.LevelWarn); l != nil {
		l.LogAttrs(context.Background(), slog.LevelWarn, "quiesce: step abandoned",
			slog.String("actor", PIDText(m.self())), slog.String("step", r.Name), slog.String("goroutine", r.Goroutine))
	}
	if st := m.stop.Load(); st != nil {
		m.tell(st, &Abandoned{Child: m.self(), Step: r.Name, Goroutine: r.Goroutine})
	}
	m.gen.Add(1)
	m.sys.push(ctlStep, 0)
	m.sysCount.Add(1)
	m.dispatcher.Schedule(m.processFn)
}

func (o *observer) phaseChanged(from, to lifecycle.Phase, reason *lifecycle.Reason) {
	m := o.m()
	if l := m.logger(slog.LevelDebug); l != nil {
		logPhase(l, m.self(), from, to, reason)
	}
	if m.publishing() {
		m.publish(&PhaseChanged{Actor: m.self(), From: from, To: to, Reason: reason})
	}
}

// logger returns the logger to log at level with, or nil if it would drop the
// record: nothing is built for a record nobody keeps.
func (m *Mailbox) logger(level slog.Level) *slog.Logger {
	l := m.cfg.Logger
	if l == nil && m.ctx != nil {
		l = m.ctx.Logger()
	}
	if l != nil && l.Enabled(context.Background(), level) {
		return l
	}
	return nil
}

// publishing reports whether the system publishes events (Settings.Events).
func (m *Mailbox) publishing() bool { return m.settings.Events && m.ctx != nil }

func (m *Mailbox) publish(evt any) {
	if m.publishing() {
		m.ctx.ActorSystem().EventStream.Publish(evt)
	}
}
