package lifecycle

import "fmt"

// Status is how a step ended.
type Status uint8

const (
	// Pending: the step has not run (yet).
	Pending Status = iota
	// Completed: Run returned nil.
	Completed
	// Failed: Run returned an error or panicked.
	Failed
	// Interrupted: a plain step's ctx was cancelled by a request and Run returned the cancellation.
	Interrupted
	// TimedOut: the step's Timeout or Grace ran out.
	TimedOut
	// Forced: a force cancelled the step's own ctx and Run returned.
	Forced
	// Skipped: the step did not run, because of a re-raised cancellation or a force.
	Skipped
	// Abandoned: the step did not return in time after a force; nobody waits for it any more.
	Abandoned
)

var statusNames = [...]string{
	Pending: "pending", Completed: "completed", Failed: "failed", Interrupted: "interrupted",
	TimedOut: "timed out", Forced: "forced", Skipped: "skipped", Abandoned: "abandoned",
}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// MarshalText encodes s as its name.
func (s Status) MarshalText() ([]byte, error) {
	if int(s) >= len(statusNames) {
		return nil, fmt.Errorf("lifecycle: unknown status %d", uint8(s))
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText decodes a status name.
func (s *Status) UnmarshalText(text []byte) error {
	for i, name := range statusNames {
		if string(text) == name {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("lifecycle: unknown status %q", text)
}

// Verdict sums up a stop, or a tree of stops, by its worst rung of escalation.
type Verdict uint8

const (
	// AllCompleted: no step was forced or abandoned (steps may still have failed).
	AllCompleted Verdict = iota
	// SomeForced: a force cut at least one stop short, and every step returned.
	SomeForced
	// SomeAbandoned: at least one step never returned and was left behind.
	SomeAbandoned
)

var verdictNames = [...]string{AllCompleted: "all completed", SomeForced: "some forced", SomeAbandoned: "some abandoned"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}
