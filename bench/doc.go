// Package bench measures Quiesce against protoactor-go in the same run, so that every
// figure is a ratio that holds on a noisy machine:
//
//	go test -run '^$' -bench . -benchtime 1x ./bench     # quick
//	go test -run '^$' -bench . -count 5 ./bench          # for benchstat
//
// See each benchmark's comment for what it compares.
package bench
