package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
)

// BenchmarkShutdownTree: a tree over 3 levels (1 root, 100 mids, 1000 leaves each:
// 100k actors), stopped from its root, in one loop that stops one tree of each kind
// per round: raw protoactor (StopFuture), the hand-written peer (byHand at every
// level, StopFuture), and Quiesce (mixed: threeSteps at every level) by
// qactor.Shutdown, checked to give one completed report per actor. Reports each
// kind's median time (<kind>-ms) and the ratios mixed/raw and mixed/handwritten,
// taken within a round, with their spread. Target: mixed/raw at most 2.0.
func BenchmarkShutdownTree(b *testing.B) {
	mids, leaves := sizes.mids, sizes.leaves
	sys := newSystem()
	r := alternate(b, []string{raw, handwritten, mixed}, func(b *testing.B, kind string) map[string]float64 {
		b.StopTimer()
		defer b.StartTimer()
		pid, t := tree(sys, kind, mids, leaves)
		runtime.GC()
		b.StartTimer()
		t0 := time.Now()
		var rep *lifecycle.Report
		var err error
		if graceful(kind) {
			var tr *qactor.Tree
			tr, err = qactor.Shutdown(context.Background(), sys, nil, pid)
			if err == nil && len(tr.Roots) == 1 {
				rep = tr.Roots[0]
				if n, _ := tr.Components(); n != actors(mids, leaves) {
					err = fmt.Errorf("%d reports, want %d", n, actors(mids, leaves))
				}
			}
		} else {
			err = stopFuture(sys, pid).Wait()
		}
		took := time.Since(t0)
		b.StopTimer()
		check(b, err)
		check(b, verify(kind, t, rep, mids, leaves))
		return map[string]float64{"wall": float64(took.Nanoseconds()) / 1e6}
	})
	r.report(b, "wall", "ms")
	r.ratio(b, mixed, raw, "wall", "")
	r.ratio(b, mixed, handwritten, "wall", "")
}
