package lifecycle

import "sync/atomic"

// Phase is where a component is in its life. Phases only move forward:
// Starting, Running, Stopping, Stopped. A component may go from Starting straight to
// Stopping when a stop arrives, or a start hook fails, before it runs.
type Phase uint32

const (
	Starting Phase = iota
	Running
	Stopping
	Stopped
)

var phaseNames = [...]string{Starting: "starting", Running: "running", Stopping: "stopping", Stopped: "stopped"}

func (p Phase) String() string { return enumString(phaseNames[:], int(p), "Phase") }

// MarshalText encodes p as its name.
func (p Phase) MarshalText() ([]byte, error) { return enumText(phaseNames[:], int(p), "Phase") }

// UnmarshalText decodes a phase name; an unknown one is an error that lists the valid ones.
func (p *Phase) UnmarshalText(text []byte) error {
	i, err := enumParse(phaseNames[:], text, "Phase")
	if err == nil {
		*p = Phase(i)
	}
	return err
}

// State holds the phase of one incarnation. Its zero value is Starting. Every method
// is safe to call from any goroutine.
type State struct{ phase atomic.Uint32 }

// Phase returns the current phase.
func (s *State) Phase() Phase { return Phase(s.phase.Load()) }

// Advance moves the phase forward to `to`. It reports the phase it left and whether
// this call made the move: each transition happens exactly once, so of two goroutines
// racing to Stopping only one gets ok, and a move backwards or in place never succeeds.
func (s *State) Advance(to Phase) (from Phase, ok bool) {
	for {
		cur := s.phase.Load()
		if Phase(cur) >= to || to > Stopped {
			return Phase(cur), false
		}
		if s.phase.CompareAndSwap(cur, uint32(to)) {
			return Phase(cur), true
		}
	}
}
