package trigger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// A Source describes what starts a stop. It does nothing by itself: [Watch] starts
// watching it. A Source is immutable, so one value may be watched many times, at
// once, and appear in several combinators.
//
// The set of sources is closed: they are made by [Signal], [After], [At],
// [Condition], [HeapAbove], [Context], [AnyOf], [AllOf] and [Escalate]. A constructor
// never fails or panics; a source built from bad input is reported by [Watch], as an
// error that wraps [ErrInvalid] and names every bad part.
type Source interface {
	// String describes the source: "any of (signal SIGINT or SIGTERM, timeout after 5m0s)".
	String() string
	spec() *spec
}

// op is what a spec does.
type op uint8

const (
	opSignal op = iota + 1
	opAfter
	opAt
	opCondition
	opContext
	opAnyOf
	opAllOf
	opEscalate
)

// spec is the one implementation of Source: the constructor's arguments, checked
// by validate when the source is watched.
type spec struct {
	op    op
	sigs  []os.Signal     // opSignal
	after time.Duration   // opAfter
	at    time.Time       // opAt
	name  string          // opCondition
	every time.Duration   // opCondition
	cond  func() bool     // opCondition
	ctx   context.Context // opContext
	parts []Source        // opAnyOf, opAllOf; opEscalate: graceful, force
	bad   string          // a constructor's complaint, reported by Watch
}

func (s *spec) spec() *spec { return s }

// Signal fires when one of sigs arrives, and escalates when a second one (of any of
// sigs) arrives. Once it has escalated, or its watcher has stopped, it no longer
// holds the signals (signal.Stop), so a third gets Go's default handling: SIGINT,
// SIGTERM and SIGHUP end the program at once, as if it had never caught them
// (unless other code still catches them with signal.Notify).
//
// The signals are caught from the moment [Watch] returns (or, as the force part of
// an [Escalate], from the moment its graceful part fires). At least one signal is
// required; SIGKILL and SIGSTOP cannot be caught and are rejected.
//
// Do not watch a Signal inside a testing/synctest bubble: if it makes the process's
// first signal.Notify call, os/signal's process-wide goroutine joins the bubble and
// the runtime dies ("select on synctest channel from outside bubble"). Test with
// [Context] sources standing in for signals.
func Signal(sigs ...os.Signal) Source {
	return &spec{op: opSignal, sigs: append([]os.Signal(nil), sigs...)}
}

// After fires once d has passed since it started: since [Watch], or, as the force
// part of an [Escalate], since its graceful part fired. A d of zero or less fires at
// once, as context.WithTimeout does. It never escalates.
func After(d time.Duration) Source { return &spec{op: opAfter, after: d} }

// At fires at t (at once if t has passed). It never escalates. The zero time is
// rejected: it is an unset time far more often than a deadline.
func At(t time.Time) Source { return &spec{op: opAt, at: t} }

// Condition fires when cond returns true. It calls cond once when it starts, then
// every interval, always from the same goroutine, and never again once it has fired
// or its watcher has stopped. If cond panics, the condition fires with a
// [*PanicError] as its Cause. It never escalates.
//
// The name says what it watches ("memory above 90%") and becomes the Fired's Name.
// An empty name, a nil cond and an interval of zero or less are rejected.
func Condition(name string, interval time.Duration, cond func() bool) Source {
	return &spec{op: opCondition, name: name, every: interval, cond: cond}
}

// Context fires when ctx is done, with context.Cause(ctx) as the Fired's Cause: the
// manual source, that any code holding ctx's cancel function can fire, with a
// reason. It never escalates (see [Escalate] for a manual force).
func Context(ctx context.Context) Source { return &spec{op: opContext, ctx: ctx} }

// AnyOf fires when any part fires, with that part's Fired (the first, if several
// fire together). It escalates when any part escalates, with that part's escalation.
//
// Once an AnyOf has fired, its parts that can no longer matter are stopped: those
// that cannot escalate (timeouts, conditions, contexts) stop waiting and polling.
// Parts that can escalate keep watching: in AnyOf(After(t), Signal(SIGTERM)), after
// the timeout fired, two SIGTERMs escalate (the first is the signal part's own fire).
func AnyOf(parts ...Source) Source {
	return &spec{op: opAnyOf, parts: append([]Source(nil), parts...)}
}

// AllOf fires when every part has fired, in any order, at the moment the last one
// does. Its Fired has Kind [KindAllOf], and Parts holds what each part reported, in
// the order of the parts. A part that has fired and cannot escalate stops; the
// others keep watching.
//
// An AllOf escalates once it has fired and any part has escalated, with the
// escalation that came first: a part that escalated before the AllOf fired (a second
// signal during a minimum run time) escalates it at the moment it fires, never
// before. An AllOf is a gate: nothing gets through it early.
func AllOf(parts ...Source) Source {
	return &spec{op: opAllOf, parts: append([]Source(nil), parts...)}
}

// Escalate fires when graceful fires, with its Fired, and then starts force: it
// escalates when force fires (or when graceful itself escalates, whichever comes
// first), with force's Fired marked as an Escalation. A timeout in force counts from
// graceful's fire, a signal in force is caught only from then on, and a force that
// is already done then (a cancelled [Context]) escalates at once:
//
//	// Drain on SIGTERM; force if still draining 25 s later, or on a second SIGTERM.
//	trigger.Escalate(trigger.Signal(syscall.SIGTERM), trigger.After(25*time.Second))
//
// With two [Context] sources it is a manual graceful-then-force switch.
func Escalate(graceful, force Source) Source {
	return &spec{op: opEscalate, parts: []Source{graceful, force}}
}

// String describes the source. It never fails, even for a source Watch would reject.
func (s *spec) String() string {
	switch s.op {
	case opSignal:
		names := make([]string, len(s.sigs))
		for i, sig := range s.sigs {
			names[i] = signalName(sig)
		}
		switch len(names) {
		case 0:
			return "signal (none)"
		case 1:
			return "signal " + names[0]
		}
		return "signal " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	case opAfter:
		return "timeout after " + s.after.String()
	case opAt:
		return "timeout at " + s.at.UTC().Format(time.RFC3339)
	case opCondition:
		return fmt.Sprintf("condition %s (every %v)", s.name, s.every)
	case opContext:
		return "manual"
	case opAnyOf:
		return "any of (" + describe(s.parts) + ")"
	case opAllOf:
		return "all of (" + describe(s.parts) + ")"
	case opEscalate:
		return describeOne(s.parts[0]) + ", escalated by " + describeOne(s.parts[1])
	}
	return "unknown source"
}

func describe(parts []Source) string {
	ds := make([]string, len(parts))
	for i, p := range parts {
		ds[i] = describeOne(p)
	}
	return strings.Join(ds, ", ")
}

func describeOne(p Source) string {
	if isNil(p) {
		return "<nil>"
	}
	return p.String()
}

// isNil reports whether p is nil, or a nil *spec inside a Source.
func isNil(p Source) bool { return p == nil || p.spec() == nil }

func orNone(s os.Signal) string {
	if s == nil {
		return "<nil>"
	}
	return s.String()
}

// validate checks a source and all its parts, and reports every bad one: one error
// per problem, joined (errors.Join), each wrapping ErrInvalid and naming where it
// sits in the tree (path), so one run of a program shows all there is to fix.
func validate(src Source, path string) error {
	var errs []error
	bad := func(msg string) { errs = append(errs, invalid(path, msg)) }
	if isNil(src) {
		bad("nil source")
		return errors.Join(errs...)
	}
	s := src.spec()
	if s.bad != "" {
		bad(s.bad)
		return errors.Join(errs...)
	}
	here := path
	if here != "" {
		here += ": "
	}
	switch s.op {
	case opSignal:
		if len(s.sigs) == 0 {
			bad("signal: no signals given")
		}
		for i, sig := range s.sigs {
			if sig == nil {
				bad(fmt.Sprintf("signal %d is nil", i+1))
			} else if uncatchable(sig) {
				bad(signalName(sig) + " cannot be caught")
			}
		}
	case opAfter:
	case opAt:
		if s.at.IsZero() {
			bad("timeout at the zero time")
		}
	case opCondition:
		if s.name == "" {
			bad("condition without a name")
		}
		if s.cond == nil {
			bad(fmt.Sprintf("condition %q: nil function", s.name))
		}
		if s.every <= 0 {
			bad(fmt.Sprintf("condition %q: interval %v is not positive", s.name, s.every))
		}
	case opContext:
		if s.ctx == nil {
			bad("manual: nil context")
		}
	case opAnyOf, opAllOf:
		what := "any of"
		if s.op == opAllOf {
			what = "all of"
		}
		if len(s.parts) == 0 {
			bad(what + " without parts")
		}
		for i, p := range s.parts {
			errs = append(errs, validate(p, fmt.Sprintf("%s%s, part %d", here, what, i+1)))
		}
	case opEscalate:
		for i, what := range []string{"graceful", "force"} {
			errs = append(errs, validate(s.parts[i], here+"escalate, "+what))
		}
	default:
		bad("unknown source")
	}
	return errors.Join(errs...)
}

func invalid(path, msg string) error {
	if path != "" {
		msg = path + ": " + msg
	}
	return fmt.Errorf("%w: %s", ErrInvalid, msg)
}
