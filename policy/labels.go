package policy

import (
	"context"
	"runtime/pprof"
	"sync"
	"sync/atomic"
)

// LabelKey is the pprof label that names the operation a deferred policy's goroutine
// runs: a goroutine profile (go tool pprof -tagfocus op=drain) shows it.
const LabelKey = "op"

// labelCacheSize bounds the cache of label sets. Names beyond it are labelled
// without the cache, at the cost of three small allocations.
const labelCacheSize = 1024

// labels caches one labelled context per name: building a label set allocates,
// and most programs run a few names many times.
var labels struct {
	cache sync.Map // string -> context.Context
	size  atomic.Int32
}

// setLabel labels the calling goroutine op=name ("unknown" when name is empty).
func setLabel(name string) {
	if name == "" {
		name = "unknown"
	}
	if ctx, ok := labels.cache.Load(name); ok {
		pprof.SetGoroutineLabels(ctx.(context.Context))
		return
	}
	ctx := pprof.WithLabels(context.Background(), pprof.Labels(LabelKey, name))
	if labels.size.Load() < labelCacheSize {
		if _, loaded := labels.cache.LoadOrStore(name, ctx); !loaded {
			labels.size.Add(1)
		}
	}
	pprof.SetGoroutineLabels(ctx)
}

// Label labels the calling goroutine op=name, as Run labels the goroutine of a
// deferred op, and returns the func that removes the goroutine's labels again. It is
// for a plain op, which runs on its caller's goroutine: defer policy.Label(name)().
func Label(name string) func() {
	setLabel(name)
	return unlabel
}

func unlabel() { pprof.SetGoroutineLabels(context.Background()) }
