package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	qcluster "github.com/quiesce/quiesce/cluster"
	"github.com/quiesce/quiesce/internal/clusternode"
)

// memberEnv carries a member process's configuration, as JSON: a member is this
// program (or its test binary) started again with it set.
const memberEnv = "QUIESCE_CLUSTER_EXAMPLE_MEMBER"

// memberConfig is one member of the demo's cluster.
type memberConfig struct {
	Name    string        // the cluster's
	Port    int           // protoactor remote's, on 127.0.0.1
	Health  int           // the automanaged health endpoint's, on 127.0.0.1
	Hosts   []string      // every member's health endpoint
	Refresh time.Duration // how often automanaged polls them
	Work    time.Duration // each request's work in a grain
	Grace   time.Duration // the leave's deadline, from SIGTERM
	Quiet   time.Duration // qcluster.Config.Quiet
	Verbose bool
	// Protoactor leaves with protoactor's own Cluster.Shutdown(true), for comparison.
	Protoactor bool
}

// runMember runs one member until a signal comes on stop, then leaves the cluster
// gracefully and prints the leave's report on out.
func runMember(cfg memberConfig, out io.Writer, stop <-chan os.Signal) error {
	level := slog.LevelError + 4 // protoactor logs errors for a peer that has gone, as it should
	if cfg.Verbose {
		level = slog.LevelInfo
	}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}))
	prov, health, err := clusternode.Automanaged(cfg.Refresh, cfg.Health, cfg.Hosts...)
	if err != nil {
		return err
	}
	nodes, err := clusternode.StartWith(cfg.Name, []clusternode.Spec{{
		System: sys, Provider: prov, Kinds: []*cluster.Kind{counterKind(cfg.Work)}, Port: cfg.Port,
		Config: qcluster.Config{Quiet: cfg.Quiet},
	}}, func(_ int, c *cluster.Cluster) { health.Attach(c) })
	if err != nil {
		return err
	}
	node := nodes[0]
	fmt.Fprintf(out, "ready %s\n", sys.Address())
	<-stop
	start := time.Now()
	if cfg.Protoactor {
		fmt.Fprintln(out, "SIGTERM: protoactor's Cluster.Shutdown(true)")
		node.Member.Close()
		node.Cluster.Shutdown(true)
		fmt.Fprintf(out, "left in %v\n", time.Since(start).Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(out, "SIGTERM: leaving the cluster (deadline %v)\n", cfg.Grace)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Grace)
	defer cancel()
	rep, err := node.Member.Leave(ctx)
	if rep != nil {
		fmt.Fprint(out, strings.TrimRight(rep.String(), "\n")+"\n")
		if rep.Tree != nil {
			drained, refused := 0, 0
			for _, r := range rep.Tree.Roots {
				drained += r.Drained
				refused += r.Refused
			}
			fmt.Fprintf(out, "grains: %d messages drained (queued when the drain began), %d refused as the member leaving, sent again elsewhere by the client\n", drained, refused)
		}
	}
	fmt.Fprintf(out, "left in %v\n", time.Since(start).Round(time.Millisecond))
	return err
}

// memberMain is main for a member process: its configuration is in memberEnv.
func memberMain(raw string, stop <-chan os.Signal) int {
	var cfg memberConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "member:", err)
		return 2
	}
	if err := runMember(cfg, os.Stdout, stop); err != nil {
		fmt.Fprintln(os.Stdout, "leave:", err)
	}
	return 0
}
