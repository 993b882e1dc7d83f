package trigger

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ErrInvalid is what [Watch] returns, wrapped with a message that names the bad
// part, for a source it cannot watch: a nil source or context, a Signal without
// signals, a Condition without a name, function or positive interval, a combinator
// without parts.
var ErrInvalid = errors.New("trigger: invalid source")

// ErrStopped is the cause of a [Watcher]'s contexts when [Watcher.Stop] ended it
// before they fired.
var ErrStopped = errors.New("trigger: watcher stopped")

// Fired is why a stop starts: the source that fired, with what it saw. It is an error
// so that it can be the cause of a context and of a lifecycle.Reason
// (lifecycle.NewReason(lifecycle.Shutdown, fired) reads "shutdown: signal SIGTERM").
//
// Which fields are set depends on Kind; the others are zero. A Fired is never
// changed after it is published, and may be shared.
type Fired struct {
	Kind Kind

	// Signal is the signal that arrived (KindSignal).
	Signal os.Signal
	// Second is set on a Signal source's second signal, the one that escalates
	// (KindSignal): it reads "second signal SIGTERM".
	Second bool
	// After is the duration that passed, for a source made by [After] (KindTimeout).
	After time.Duration
	// Deadline is the time that came, for a source made by [At] (KindTimeout).
	Deadline time.Time
	// Name is the condition's name (KindCondition).
	Name string
	// Cause is the context's cause (KindManual), or a [*PanicError] when a
	// condition panicked (KindCondition). errors.Is and errors.As reach it.
	Cause error
	// Parts are what each part of an AllOf reported, in the order of its parts
	// (KindAllOf). errors.Is and errors.As reach into them.
	Parts []*Fired

	// Escalation is set on the Fired that escalated a stop (a second signal, the
	// force source of an [Escalate]): the one a [Watcher.ForceCause] returns.
	Escalation bool
	// Time is when the source fired (for an AllOf: when its last part fired).
	Time time.Time
}

// Error describes the source that fired: "signal SIGTERM" ("second signal SIGTERM"
// for the one that escalates a Signal), "timeout after 30s",
// "timeout at 2025-06-01T12:00:00Z", "condition memory above 90%",
// "manual: deploy v2", "all of (timeout after 1m0s, condition 1000 items done)".
// A nil *Fired reads "not fired".
func (f *Fired) Error() string {
	if f == nil {
		return "not fired"
	}
	switch f.Kind {
	case KindSignal:
		if f.Second {
			return "second signal " + signalName(f.Signal)
		}
		return "signal " + signalName(f.Signal)
	case KindTimeout:
		if !f.Deadline.IsZero() {
			return "timeout at " + f.Deadline.UTC().Format(time.RFC3339)
		}
		return "timeout after " + f.After.String()
	case KindCondition:
		if f.Cause != nil {
			return "condition " + f.Name + ": " + f.Cause.Error()
		}
		return "condition " + f.Name
	case KindManual:
		if f.Cause != nil {
			return "manual: " + f.Cause.Error()
		}
		return "manual"
	case KindAllOf:
		parts := make([]string, len(f.Parts))
		for i, p := range f.Parts {
			parts[i] = p.Error()
		}
		return "all of (" + strings.Join(parts, ", ") + ")"
	}
	return f.Kind.String()
}

// String is Error.
func (f *Fired) String() string { return f.Error() }

// Unwrap returns the Cause and the Parts, so that errors.Is and errors.As see a
// manual cause, a condition's panic, and everything under an AllOf.
func (f *Fired) Unwrap() []error {
	if f == nil {
		return nil
	}
	errs := make([]error, 0, len(f.Parts)+1)
	if f.Cause != nil {
		errs = append(errs, f.Cause)
	}
	for _, p := range f.Parts {
		errs = append(errs, p)
	}
	return errs
}

// PanicError is the Cause of a condition's Fired when the condition panicked: a
// watchdog that crashed can no longer watch, and a graceful stop that says why is
// better than the crash the panic would otherwise be.
type PanicError struct {
	Value any    // what the condition panicked with
	Stack []byte // the condition's goroutine stack at the panic
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
