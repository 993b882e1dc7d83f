// Package testnode starts protoactor remote nodes on loopback for Quiesce's tests,
// examples and benchmarks, several in one process, without the data race that
// protoactor's remote.Start has with the servers already running.
//
// remote.Start sets gRPC's global logger (grpclog.SetLoggerV2) every time it is
// called, and every gRPC server already running reads that logger as it begins to
// serve: two nodes started one after the other in one process race on it. Start
// orders them: before it starts the next node, it waits until each server started
// so far has read the logger (a connection reaches the server's handshake hook,
// which runs after the read), and it lets those handshakes go on only once every
// node has started. Nothing else in gRPC writes the logger, so after Start returns,
// every read is ordered after the last write.
package testnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	qremote "github.com/quiesce/quiesce/remote"
)

// Node is an actor system with protoactor remote started on a loopback port.
type Node struct {
	System *actor.ActorSystem
	Remote *remote.Remote
}

// Address returns the node's host:port.
func (n *Node) Address() string { return n.System.Address() }

// Shutdown stops the node's remote with qremote.StopRemote (not
// remote.Shutdown(true): see there why), then its actor system.
func (n *Node) Shutdown() {
	qremote.StopRemote(n.System, n.Remote)
	n.System.Shutdown()
}

// Setup is called for each node once its system and remote exist, before remote
// starts: where a test registers kinds or installs Quiesce's remote support.
type Setup func(i int, sys *actor.ActorSystem, r *remote.Remote) error

// Start starts one node per system, in order, each on a free loopback port.
func Start(systems []*actor.ActorSystem, setup Setup, opts ...remote.ConfigOption) ([]*Node, error) {
	return StartOn(systems, 0, setup, opts...)
}

// StartOn is Start with the first node on port (0: a free one), the others on free ones.
func StartOn(systems []*actor.ActorSystem, port int, setup Setup, opts ...remote.ConfigOption) ([]*Node, error) {
	gs := NewGates()
	defer gs.Release()
	nodes := make([]*Node, 0, len(systems))
	for i, sys := range systems {
		gated, await := gs.Next()
		p := 0
		if i == 0 {
			p = port
		}
		cfg := remote.Configure("127.0.0.1", p, append([]remote.ConfigOption{gated}, opts...)...)
		r := remote.NewRemote(sys, cfg)
		if setup != nil {
			if err := setup(i, sys, r); err != nil {
				shutdown(nodes)
				return nil, err
			}
		}
		r.Start()
		n := &Node{System: sys, Remote: r}
		nodes = append(nodes, n)
		if err := await(n.Address()); err != nil {
			shutdown(nodes)
			return nil, err
		}
	}
	return nodes, nil
}

func shutdown(nodes []*Node) {
	for _, n := range nodes {
		n.Shutdown()
	}
}

// gate is the servers' transport credentials: no security, as protoactor's default
// insecure server, and a hook that runs on the connection's goroutine, which the
// server starts after it has read the logger.
type gate struct {
	release chan struct{}
	arrived chan struct{}
	once    sync.Once
}

// errWait ends await's own connection: gRPC does not log a connection that its
// handshake says was dispatched elsewhere, and leaves it to the hook, which closes it.
var errWait = credentials.ErrConnDispatched

// await connects to the server and waits until the hook has seen the connection.
func (g *gate) await(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("testnode: connect to %s: %w", addr, err)
	}
	defer c.Close()
	select {
	case <-g.arrived:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("testnode: %s: the server did not take a connection within 10s", addr)
	}
}

func (g *gate) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	first := false
	g.once.Do(func() { first = true })
	if first {
		g.arrived <- struct{}{}
		<-g.release
		c.Close()
		return nil, nil, errWait
	}
	<-g.release
	return c, authInfo{}, nil
}

func (*gate) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("testnode: server credentials only")
}

func (*gate) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "insecure"}
}
func (g *gate) Clone() credentials.TransportCredentials { return g }
func (*gate) OverrideServerName(string) error           { return nil }

type authInfo struct{}

func (authInfo) AuthType() string { return "insecure" }

// Gates orders the start of servers that another package starts, as Start does for
// its own: protoactor's cluster.StartMember makes and starts its own remote. Give
// each node's remote config the option Next returns, call its await once the node's
// remote has started (before the next node starts), and Release once every node
// has started: until then the servers hold every other connection in the handshake.
type Gates struct {
	release chan struct{}
	once    sync.Once
}

// NewGates returns the gates of one start.
func NewGates() *Gates { return &Gates{release: make(chan struct{})} }

// Next returns the remote config option of the next node, and the await to call
// with its address once its remote has started.
func (gs *Gates) Next() (remote.ConfigOption, func(addr string) error) {
	g := &gate{release: gs.release, arrived: make(chan struct{}, 1)}
	return remote.WithServerOptions(grpc.Creds(g)), g.await
}

// Release lets the held handshakes go on. It is safe to call twice.
func (gs *Gates) Release() { gs.once.Do(func() { close(gs.release) }) }
