package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const sample = `goos: linux
goarch: amd64
pkg: github.com/quiesce/quiesce/bench
cpu: AMD EPYC
BenchmarkStopCost/N=10000-2   	      15	 272018905 ns/op	         0.9680 mixed/handwritten	         1.211 mixed/handwritten-hi	         0.8989 mixed/handwritten-lo	      6441 mixed-ns/child
policy: the contract tests again, through Inline
BenchmarkPolicy-2   	      31	  93632433 ns/op	         3.934 plain-direct-ns	        10.97 quiesce-p99-µs
BenchmarkMessages
PASS
ok  	github.com/quiesce/quiesce/bench	4.054s
`

func TestParseReadsEveryBenchmarkLineAndDropsTheProcsSuffix(t *testing.T) {
	res := results{}
	n, err := parse(strings.NewReader(sample), res)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, 0.968, res["StopCost/N=10000"]["mixed/handwritten"])
	assert.Equal(t, 6441.0, res["StopCost/N=10000"]["mixed-ns/child"])
	assert.Equal(t, 272018905.0, res["StopCost/N=10000"]["ns/op"])
	assert.Equal(t, 10.97, res["Policy"]["quiesce-p99-µs"])
	assert.NotContains(t, res, "Messages", "a name alone on its line is not a result")
}

func TestParseRejectsAMangledLine(t *testing.T) {
	_, err := parse(strings.NewReader("BenchmarkX-2 3 1.0 ns/op 2.0\n"), results{})
	assert.Error(t, err)
	_, err = parse(strings.NewReader("BenchmarkX-2 3 one ns/op\n"), results{})
	assert.Error(t, err)
}

// stopResults are StopCost's metrics for one N with every ratio and figure at v.
func stopResults(v float64) map[string]float64 {
	m := map[string]float64{}
	for _, k := range kinds {
		for _, u := range []string{"-ns/child", "-cpu-ns/child", "-allocs/child"} {
			m[k+u] = v
		}
		for _, base := range []string{"raw", "handwritten"} {
			for _, s := range []string{"", "-lo", "-hi", "-cpu", "-cpu-lo", "-cpu-hi"} {
				m[k+"/"+base+s] = v
			}
		}
	}
	return m
}

func TestTargetsJudgeTheMedianAgainstTheIssuesLimits(t *testing.T) {
	l := &lookup{res: results{stopBench(10_000): stopResults(1.0), stopBench(100_000): stopResults(1.01)}}
	rows := targets(l, []int{10_000, 100_000}, false)
	assert.Empty(t, l.missing)
	verdicts := map[string]string{}
	for _, r := range rows {
		verdicts[r.figure] = r.verdict
	}
	assert.Equal(t, "met", verdicts["1. 3-step stop vs the hand-written peer, 10k children (per child)"], "1.0x meets at most 1.0x")
	assert.Equal(t, "**missed**", verdicts["1. 3-step stop vs the hand-written peer, 100k children (per child)"])
	assert.Equal(t, "met", verdicts["3. allocations per child, 3-step stop, 100k children"])
	assert.Equal(t, notRun+" (`-1m`)", verdicts["4. 3-step stop per child, 1M vs 10k children"], "a target not measured is not met")
}

func TestAStopIsJudgedOnWallTimeWithTheCPUVerdictBesideIt(t *testing.T) {
	m := stopResults(1.2)
	m["mixed/handwritten-cpu"] = 0.9
	l := &lookup{res: results{stopBench(10_000): m}}
	for _, r := range targets(l, []int{10_000}, false) {
		if strings.HasPrefix(r.figure, "1. ") {
			assert.Equal(t, "**missed** (CPU: met)", r.verdict)
			return
		}
	}
	t.Fatal("no row for target 1")
}

func TestAMissingMetricIsNamed(t *testing.T) {
	l := &lookup{res: results{"IdleHeap": {"raw-B/actor": 600}}}
	targets(l, nil, false)
	assert.Contains(t, l.missing, "IdleHeap quiesce/raw")
}
