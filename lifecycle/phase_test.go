package lifecycle_test

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
)

func TestPhaseNamesRoundTripAsText(t *testing.T) {
	for _, tc := range []struct {
		phase lifecycle.Phase
		name  string
	}{
		{lifecycle.Starting, "starting"},
		{lifecycle.Running, "running"},
		{lifecycle.Stopping, "stopping"},
		{lifecycle.Stopped, "stopped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.name, tc.phase.String())
			text, err := tc.phase.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.name, string(text))

			var back lifecycle.Phase = 99
			require.NoError(t, back.UnmarshalText(text))
			assert.Equal(t, tc.phase, back)
		})
	}
}

func TestPhaseOutOfRangeIsNamedButNotMarshalled(t *testing.T) {
	p := lifecycle.Phase(7)
	assert.Equal(t, "Phase(7)", p.String())
	_, err := p.MarshalText()
	assert.ErrorContains(t, err, "unknown phase 7")
}

func TestPhaseUnknownNameIsRejectedAndLeavesThePhaseAlone(t *testing.T) {
	for _, text := range []string{"", "Running", "stop", "stopped "} {
		t.Run(text, func(t *testing.T) {
			p := lifecycle.Stopping
			err := p.UnmarshalText([]byte(text))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "valid: starting, running, stopping, stopped")
			assert.Equal(t, lifecycle.Stopping, p, "a rejected name must not change the phase")
		})
	}
}

func TestPhaseEncodesAsJSONString(t *testing.T) {
	out, err := json.Marshal(map[string]lifecycle.Phase{"phase": lifecycle.Stopping})
	require.NoError(t, err)
	assert.JSONEq(t, `{"phase":"stopping"}`, string(out))

	var back map[string]lifecycle.Phase
	require.NoError(t, json.Unmarshal(out, &back))
	assert.Equal(t, lifecycle.Stopping, back["phase"])
}

func TestStateZeroValueIsStarting(t *testing.T) {
	var s lifecycle.State
	assert.Equal(t, lifecycle.Starting, s.Phase())
}

func TestStateAdvancesForwardOnly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to lifecycle.Phase
		ok       bool
	}{
		{"starting moves to running", lifecycle.Starting, lifecycle.Running, true},
		{"starting may skip straight to stopping", lifecycle.Starting, lifecycle.Stopping, true},
		{"running moves to stopping", lifecycle.Running, lifecycle.Stopping, true},
		{"stopping moves to stopped", lifecycle.Stopping, lifecycle.Stopped, true},
		{"a move in place is refused", lifecycle.Running, lifecycle.Running, false},
		{"starting never moves to starting", lifecycle.Starting, lifecycle.Starting, false},
		{"stopping never goes back to running", lifecycle.Stopping, lifecycle.Running, false},
		{"stopped never goes back to starting", lifecycle.Stopped, lifecycle.Starting, false},
		{"stopped stays stopped", lifecycle.Stopped, lifecycle.Stopped, false},
		{"no move past stopped", lifecycle.Stopping, lifecycle.Phase(4), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s lifecycle.State
			if tc.from != lifecycle.Starting {
				_, moved := s.Advance(tc.from)
				require.True(t, moved)
			}
			from, moved := s.Advance(tc.to)
			assert.Equal(t, tc.ok, moved)
			assert.Equal(t, tc.from, from, "Advance reports the phase it found")
			want := tc.from
			if tc.ok {
				want = tc.to
			}
			assert.Equal(t, want, s.Phase())
		})
	}
}

// TestStateEachTransitionHappensExactlyOnce races many goroutines through the same
// transitions, released together by a barrier, while readers watch the phase.
func TestStateEachTransitionHappensExactlyOnce(t *testing.T) {
	const racers, readers = 32, 4
	targets := []lifecycle.Phase{lifecycle.Running, lifecycle.Stopping, lifecycle.Stopped}

	var (
		s       lifecycle.State
		start   = make(chan struct{})
		done    = make(chan struct{})
		mu      sync.Mutex
		winners = map[lifecycle.Phase][]lifecycle.Phase{} // target -> the from of each winner
		racing  sync.WaitGroup
		reading sync.WaitGroup
	)
	for range racers {
		racing.Go(func() {
			<-start
			for _, to := range targets {
				if from, moved := s.Advance(to); moved {
					mu.Lock()
					winners[to] = append(winners[to], from)
					mu.Unlock()
				}
			}
		})
	}
	backwards := make(chan string, readers)
	for range readers {
		reading.Go(func() {
			<-start
			last := s.Phase()
			for {
				p := s.Phase()
				if p < last {
					backwards <- p.String() + " after " + last.String()
					return
				}
				last = p
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	close(start)
	waitAll(t, &racing, "the racers")
	close(done)
	waitAll(t, &reading, "the readers")
	close(backwards)

	for _, to := range targets {
		assert.Len(t, winners[to], 1, "exactly one goroutine moves to %v", to)
	}
	assert.Equal(t, []lifecycle.Phase{lifecycle.Starting}, winners[lifecycle.Running])
	assert.Equal(t, []lifecycle.Phase{lifecycle.Running}, winners[lifecycle.Stopping])
	assert.Equal(t, []lifecycle.Phase{lifecycle.Stopping}, winners[lifecycle.Stopped])
	assert.Equal(t, lifecycle.Stopped, s.Phase())
	for b := range backwards {
		t.Errorf("a reader saw the phase go backwards: %s", b)
	}
}

// TestStateOneWinnerOfAStopRace is the case a mailbox meets: a second stop racing the
// first must find the component already stopping.
func TestStateOneWinnerOfAStopRace(t *testing.T) {
	var s lifecycle.State
	_, _ = s.Advance(lifecycle.Running)
	const racers = 16
	var (
		start  = make(chan struct{})
		wg     sync.WaitGroup
		mu     sync.Mutex
		wins   int
		losers []lifecycle.Phase
	)
	for range racers {
		wg.Go(func() {
			<-start
			from, moved := s.Advance(lifecycle.Stopping)
			mu.Lock()
			defer mu.Unlock()
			if moved {
				wins++
			} else {
				losers = append(losers, from)
			}
		})
	}
	close(start)
	waitAll(t, &wg, "the racers")
	assert.Equal(t, 1, wins)
	require.Len(t, losers, racers-1)
	for _, from := range losers {
		assert.Equal(t, lifecycle.Stopping, from, "a loser sees the phase the winner set")
	}
}
