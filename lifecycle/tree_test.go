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
	assert.Equal(t, want, root.FoldedTree(), "no two children here ended alike: nothing folds")
	assert.Equal(t, "component [all completed 0s] no reason\n", (&lifecycle.Report{}).Tree(),
		"an empty report is one line")
}

// Report.FoldedTree prints children that ended alike once, the first in full, then a
// line with the count of the others and their range of durations; alike is decided
// on the whole subtree, so two pools of alike workers fold into one, and a pool with
// failed workers prints on its own, each failure with its own error in full.
// FoldedTrees does the same for roots.
func TestFoldedTreePrintsWhatEndedAlikeOnceAndWhatDidNotInFull(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	shutdown := lifecycle.NewReason(lifecycle.Shutdown, errors.New("SIGTERM"))
	parent := lifecycle.NewReason(lifecycle.ParentStopping, shutdown)
	worker := func(name string, d time.Duration, s lifecycle.Status, err error) *lifecycle.Report {
		return &lifecycle.Report{Actor: name, Reason: parent, Duration: d, Steps: []lifecycle.StepReport{
			{Name: "finish", Policy: policy.DeferFlag, Status: s, Err: err, Start: t0, Duration: d},
		}}
	}
	pool := func(name string, d time.Duration, ws ...*lifecycle.Report) *lifecycle.Report {
		return &lifecycle.Report{Actor: name, Reason: parent, Duration: d, Children: ws}
	}
	ok := lifecycle.Completed
	root := &lifecycle.Report{
		Actor: "sup", Reason: shutdown, Duration: 40 * time.Millisecond,
		Children: []*lifecycle.Report{
			pool("sup/p1", 10*time.Millisecond,
				worker("sup/p1/w1", time.Millisecond, ok, nil),
				worker("sup/p1/w2", 3*time.Millisecond, ok, nil),
				worker("sup/p1/w3", 2*time.Millisecond, ok, nil)),
			pool("sup/p2", 30*time.Millisecond,
				worker("sup/p2/w1", time.Millisecond, ok, nil),
				worker("sup/p2/w2", time.Millisecond, lifecycle.Failed, errors.New("disk full")),
				worker("sup/p2/w3", time.Millisecond, ok, nil),
				worker("sup/p2/w4", time.Millisecond, lifecycle.Failed, errors.New("peer gone"))),
			pool("sup/p3", 20*time.Millisecond,
				worker("sup/p3/w1", 5*time.Millisecond, ok, nil),
				worker("sup/p3/w2", 5*time.Millisecond, ok, nil),
				worker("sup/p3/w3", 5*time.Millisecond, ok, nil)),
		},
	}
	want := `sup [some failed 40ms] shutdown: SIGTERM
├── sup/p1 [all completed 10ms] parent stopping: shutdown: SIGTERM
│   ├── sup/p1/w1 [all completed 1ms] parent stopping: shutdown: SIGTERM
│   │   └── finish defer-flag completed 1ms
│   └── … and 2 more like sup/p1/w1 [all completed 1ms–3ms]
├── … and 1 more like sup/p1 [all completed 10ms–20ms]
└── sup/p2 [some failed 30ms] parent stopping: shutdown: SIGTERM
    ├── sup/p2/w1 [all completed 1ms] parent stopping: shutdown: SIGTERM
    │   └── finish defer-flag completed 1ms
    ├── … and 1 more like sup/p2/w1 [all completed 1ms]
    ├── sup/p2/w2 [some failed 1ms] parent stopping: shutdown: SIGTERM
    │   └── finish defer-flag failed 1ms (disk full)
    └── sup/p2/w4 [some failed 1ms] parent stopping: shutdown: SIGTERM
        └── finish defer-flag failed 1ms (peer gone)
`
	assert.Equal(t, want, root.FoldedTree())

	other := worker("w9", 7*time.Millisecond, ok, nil)
	assert.Equal(t, want+`… and 1 more like sup [some failed 40ms]
w9 [all completed 7ms] parent stopping: shutdown: SIGTERM
└── finish defer-flag completed 7ms
`, lifecycle.FoldedTrees([]*lifecycle.Report{root, root, other}), "roots fold as children do")
	assert.Empty(t, lifecycle.FoldedTrees(nil))
}
