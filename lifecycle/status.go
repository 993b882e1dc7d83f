package lifecycle

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

func (s Status) String() string { return enumString(statusNames[:], int(s), "Status") }

// MarshalText encodes s as its name.
func (s Status) MarshalText() ([]byte, error) { return enumText(statusNames[:], int(s), "Status") }

// UnmarshalText decodes a status name; an unknown one is an error that lists the valid ones.
func (s *Status) UnmarshalText(text []byte) error {
	i, err := enumParse(statusNames[:], text, "Status")
	if err == nil {
		*s = Status(i)
	}
	return err
}

// Verdict sums up a stop, or a tree of stops, by the worst thing that happened in
// it: a step cut short by a stop request, a step that failed or timed out, a force,
// a step left behind.
type Verdict uint8

const (
	// AllCompleted: every step completed, and nothing was forced.
	AllCompleted Verdict = iota
	// SomeCutShort: a stop request interrupted a step (Plain) or skipped the steps
	// after a re-raise (DeferReraise), as the plan's policies say; nothing failed,
	// and nothing was forced.
	SomeCutShort
	// SomeFailed: a step failed or timed out, and nothing was forced: cleanup went
	// on past it, but did not all succeed.
	SomeFailed
	// SomeForced: a force cut at least one stop short, and every step returned.
	SomeForced
	// SomeAbandoned: at least one step never returned and was left behind.
	SomeAbandoned
)

var verdictNames = [...]string{AllCompleted: "all completed", SomeCutShort: "some cut short", SomeFailed: "some failed",
	SomeForced: "some forced", SomeAbandoned: "some abandoned"}

func (v Verdict) String() string { return enumString(verdictNames[:], int(v), "Verdict") }

// MarshalText encodes v as its name.
func (v Verdict) MarshalText() ([]byte, error) { return enumText(verdictNames[:], int(v), "Verdict") }

// UnmarshalText decodes a verdict name; an unknown one is an error that lists the valid ones.
func (v *Verdict) UnmarshalText(text []byte) error {
	i, err := enumParse(verdictNames[:], text, "Verdict")
	if err == nil {
		*v = Verdict(i)
	}
	return err
}
