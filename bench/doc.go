// Package bench measures Quiesce against protoactor-go and against a hand-written
// peer, in the same run, so that every figure is a ratio that holds on a noisy
// machine. Each benchmark runs a discarded warm-up round, then one round per
// iteration (-benchtime Nx is the number of rounds); a round measures the
// baseline and every subject in turn, in an order rotated each round, and every
// ratio is taken within a round. A benchmark reports the medians over the rounds,
// and each ratio's median with its smallest and largest (-lo, -hi). Rounds check
// that what they stopped did what it promises, so a broken stop fails instead of
// looking fast; TestBenchmarksRun runs every benchmark once, small, in CI.
//
//	go run ./bench/report                                      # every figure, judged, into docs/perf
//	go test -run '^$' -bench StopCost/N=10000 -benchtime 9x ./bench   # one benchmark
//	QUIESCE_BENCH_1M=1 go test -run '^$' -bench StopCost/N=1000000 -benchtime 3x -timeout 1h ./bench
//
// See each benchmark's comment for what it compares, and its target.
package bench
