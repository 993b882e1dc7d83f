package lifecycle

import (
	"fmt"
	"sync/atomic"
)

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

func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("Phase(%d)", uint32(p))
}

// MarshalText encodes p as its name.
func (p Phase) MarshalText() ([]byte, error) {
	if int(p) >= len(phaseNames) {
		return nil, fmt.Errorf("lifecycle: unknown phase %d", uint32(p))
	}
	return []byte(phaseNames[p]), nil
}

// UnmarshalText decodes a phase name.
func (p *Phase) UnmarshalText(text []byte) error {
	for i, name := range phaseNames {
		if string(text) == name {
			*p = Phase(i)
			return nil
		}
	}
	return fmt.Errorf("lifecycle: unknown phase %q (valid: starting, running, stopping, stopped)", text)
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
