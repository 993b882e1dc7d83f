package lifecycle_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/policy"
)

// Report.Tree renders a stop and its children's the way the tree command renders
// directories: a line per component (who, verdict, duration, reason), its force if
// it was forced, its steps and then its children under it, each level's last entry
// closing its branch, at any depth. Checked character by character on a three-level
// tree.
func TestTreeRendersEveryLevelLikeTheTreeCommand(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	shutdown := lifecycle.NewReason(lifecycle.Shutdown, errors.New("SIGTERM"))
	parent := lifecycle.NewReason(lifecycle.ParentStopping, shutdown)
	ran := func(name string, p policy.Policy, s lifecycle.Status, d time.Duration) lifecycle.StepReport {
		return lifecycle.StepReport{Name: name, Policy: p, Status: s, Start: t0, Duration: d}
	}
	forced := fmt.Errorf("%w: budget", lifecycle.ErrForced)
	brutal := fmt.Errorf("%w: brutal", lifecycle.ErrForced)

	flush := ran("flush", policy.DeferReraise, lifecycle.Completed, 1500*time.Microsecond)
	flush.StopRequests, flush.Deferred, flush.Reraised = 2, 1, true
	children := ran("children", policy.DeferFlag, lifecycle.Completed, 3*time.Second+1234*time.Nanosecond)
	children.Progress = &lifecycle.Progress{Message: "children stopped", Done: 2, Total: 2}
	hang := ran("hang", policy.DeferFlag, lifecycle.Abandoned, 2*time.Second)
	hang.Err = lifecycle.ErrAbandoned
	root := &lifecycle.Report{
		Actor: "sup", Reason: shutdown, Duration: 3 * time.Second,
		Steps: []lifecycle.StepReport{children, flush},
		Children: []*lifecycle.Report{
			{
				Actor: "sup/pool", Reason: parent, Duration: 3 * time.Second, Forced: forced,
				Steps: []lifecycle.StepReport{
					ran("children", policy.DeferFlag, lifecycle.Forced, time.Second),
					{Name: "drain", Policy: policy.Plain, Status: lifecycle.Skipped, Err: forced},
				},
				Children: []*lifecycle.Report{
					{Actor: "sup/pool/w1", Reason: parent, Duration: time.Second,
						Steps: []lifecycle.StepReport{ran("close", policy.Plain, lifecycle.Completed, 3*time.Microsecond)}},
					{Reason: parent, Duration: 2 * time.Second, Forced: forced,
						Steps: []lifecycle.StepReport{hang}},
				},
			},
			{Actor: "sup/log", Reason: parent, Duration: 4 * time.Microsecond, Forced: brutal},
		},
	}

	want := `sup [some abandoned 3s] shutdown: SIGTERM
├── children defer-flag completed 3.000001s [children stopped (2/2)]
├── flush defer-reraise completed 1.5ms (2 stop requests, 1 deferred; re-raised after finishing)
├── sup/pool [some abandoned 3s] parent stopping: shutdown: SIGTERM
│   │   forced: lifecycle: forced: budget
│   ├── children defer-flag forced 1s
│   ├── drain plain skipped (lifecycle: forced: budget)
│   ├── sup/pool/w1 [all completed 1s] parent stopping: shutdown: SIGTERM
│   │   └── close plain completed 3µs
│   └── component [some abandoned 2s] parent stopping: shutdown: SIGTERM
│       │   forced: lifecycle: forced: budget
│       └── hang defer-flag abandoned 2s (` + lifecycle.ErrAbandoned.Error() + `)
└── sup/log [some forced 4µs] parent stopping: shutdown: SIGTERM
        forced: lifecycle: forced: brutal
`
	assert.Equal(t, want, root.Tree())
	assert.Equal(t, "component [all completed 0s] no reason\n", (&lifecycle.Report{}).Tree(),
		"an empty report is one line")
}
