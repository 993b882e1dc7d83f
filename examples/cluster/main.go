// Command cluster is a protoactor cluster of three members, each its own OS process
// on loopback (automanaged: health checks over HTTP), whose counter grains are
// Quiesce components. A client loads them through qcluster's Caller; one member
// gets SIGTERM and leaves gracefully (qcluster.Member.Leave): it leaves membership
// but serves until its peers route around it, drains its grains, hands each
// counter's value to the counter's new owner, and only then shuts down. The client
// prints a ledger: requests sent, answered, lost, served twice, timeouts; the
// leave's duration and the p99 latency during it; the counters that kept their
// value.
//
//	go run ./examples/cluster
//	go run ./examples/cluster -workers 64 -work 5ms -v
//	go run ./examples/cluster -protoactor -default-context   # protoactor's own, to compare
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if raw := os.Getenv(memberEnv); raw != "" {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		os.Exit(memberMain(raw, stop))
	}
	cfg := demoConfig{}
	flag.IntVar(&cfg.members, "members", 3, "members, each its own process")
	flag.IntVar(&cfg.identities, "counters", 12, "counter grains")
	flag.IntVar(&cfg.workers, "workers", 32, "the client's concurrent requests")
	flag.DurationVar(&cfg.work, "work", 2*time.Millisecond, "each request's work in a grain")
	flag.DurationVar(&cfg.warm, "warm", 3*time.Second, "load before the SIGTERM")
	flag.DurationVar(&cfg.after, "after", 2*time.Second, "load after the member has exited")
	flag.DurationVar(&cfg.grace, "grace", 30*time.Second, "the leave's deadline, from SIGTERM")
	flag.DurationVar(&cfg.refresh, "refresh", 200*time.Millisecond, "automanaged's health poll")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "each request's total deadline")
	flag.BoolVar(&cfg.verbose, "v", false, "every member's output, and protoactor's log")
	flag.BoolVar(&cfg.protoactor, "protoactor", false, "the member leaves with protoactor's Cluster.Shutdown(true) instead, for comparison")
	flag.BoolVar(&cfg.defaultCtx, "default-context", false, "the client sends with protoactor's DefaultContext instead of qcluster's Caller")
	flag.Parse()
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg.command = func() *exec.Cmd { return exec.Command(exe) }
	l, err := runDemo(cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if l.lost != 0 || l.twice != 0 || l.timeouts != 0 || l.failed != 0 || l.sent != l.answered || l.kept != l.identities {
		os.Exit(1)
	}
}
