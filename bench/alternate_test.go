package bench

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// rounds is what an alternating benchmark measured: for each kind, each metric's
// value in each round, rounds in step across kinds, so that a ratio is always
// taken between two figures of the same round.
type rounds struct {
	kinds []string
	vals  map[string]map[string][]float64 // kind, metric: one value per round
}

// alternate runs one warm-up round, discarded, then one round per b.Loop
// iteration. A round calls measure once for each kind, beginning one kind later
// each round, so that no kind always runs first (after the warm-up's garbage, on
// the coldest caches) or always right after the same other kind. measure returns
// what it measured, by metric; it may stop and start b's timer, and must leave it
// running. b's ns/op is a whole round, setup included: read the metrics.
func alternate(b *testing.B, kinds []string, measure func(b *testing.B, kind string) map[string]float64) *rounds {
	r := &rounds{kinds: kinds, vals: make(map[string]map[string][]float64)}
	for _, k := range kinds {
		r.vals[k] = make(map[string][]float64)
		measure(b, k)
	}
	i := 0
	for b.Loop() {
		for j := range kinds {
			k := kinds[(i+j)%len(kinds)]
			for m, v := range measure(b, k) {
				r.vals[k][m] = append(r.vals[k][m], v)
			}
		}
		i++
	}
	return r
}

// ratios returns num's metric over den's, one per round.
func (r *rounds) ratios(num, den, metric string) []float64 {
	a, z := r.vals[num][metric], r.vals[den][metric]
	out := make([]float64, 0, len(a))
	for i := range min(len(a), len(z)) {
		if z[i] != 0 {
			out = append(out, a[i]/z[i])
		}
	}
	return out
}

// report reports, for every kind, the median of its metric as "<kind>-<unit>".
func (r *rounds) report(b *testing.B, metric, unit string) {
	for _, k := range r.kinds {
		if v := r.vals[k][metric]; len(v) > 0 {
			reportMetric(b, median(v), k+"-"+unit)
		}
	}
}

// ratio reports num's metric over den's, taken in each round, as
// "<num>/<den><suffix>" (the median over the rounds), with its spread: the same
// name with "-lo" and "-hi", the smallest and the largest.
func (r *rounds) ratio(b *testing.B, num, den, metric, suffix string) {
	spread(b, num+"/"+den+suffix, r.ratios(num, den, metric))
}

// spread reports the median of vs as name, and its smallest and largest as
// name-lo and name-hi.
func spread(b *testing.B, name string, vs []float64) {
	if len(vs) == 0 {
		return
	}
	reportMetric(b, median(vs), name)
	reportMetric(b, slices.Min(vs), name+"-lo")
	reportMetric(b, slices.Max(vs), name+"-hi")
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// ledger, while TestBenchmarksRun runs, records what the benchmark reported and
// why it failed, which testing.Benchmark would otherwise discard.
var ledger struct {
	sync.Mutex
	on       bool
	metrics  []string
	failures []string
}

func reportMetric(b *testing.B, v float64, unit string) {
	b.ReportMetric(v, unit)
	ledger.Lock()
	defer ledger.Unlock()
	if ledger.on {
		ledger.metrics = append(ledger.metrics, unit)
	}
}

// check fails b if err is not nil: a round that did not do what it promises must
// not count as fast.
func check(b *testing.B, err error) {
	if err == nil {
		return
	}
	ledger.Lock()
	if ledger.on {
		ledger.failures = append(ledger.failures, err.Error())
	}
	ledger.Unlock()
	b.Fatal(err)
}

// checkf is check with a formatted error, when cond is false.
func checkf(b *testing.B, cond bool, format string, args ...any) {
	if !cond {
		check(b, fmt.Errorf(format, args...))
	}
}
