// Package clusternode starts protoactor cluster members and clients on loopback,
// with Quiesce's graceful leave installed, for Quiesce's tests and examples: several
// in one process without the data race of protoactor's remote.Start (see
// internal/testnode), and automanaged providers whose health endpoint listens on
// 127.0.0.1 rather than 0.0.0.0.
package clusternode

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/labstack/echo"

	qcluster "github.com/quiesce/quiesce/cluster"
	"github.com/quiesce/quiesce/internal/testnode"
	qremote "github.com/quiesce/quiesce/remote"
)

// Spec is one member or client to start.
type Spec struct {
	Name     string // the cluster's name; "" for the one Start is given
	System   *actor.ActorSystem
	Provider cluster.ClusterProvider
	Kinds    []*cluster.Kind
	Client   bool // StartClient rather than StartMember
	Plain    bool // no cluster: protoactor remote and Quiesce's remote Node only
	Port     int  // remote's port; 0: a free one
	Config   qcluster.Config
	Options  []cluster.ConfigOption
}

// Node is a started member or client, or a plain remote node.
type Node struct {
	Cluster *cluster.Cluster
	Member  *qcluster.Member
	// A plain node's.
	Remote *remote.Remote
	Node   *qremote.Node
	sys    *actor.ActorSystem
	once   sync.Once
}

// System returns the node's actor system.
func (n *Node) System() *actor.ActorSystem { return n.sys }

// Shutdown shuts a plain node down, once.
func (n *Node) Shutdown() { n.once.Do(n.shutdown) }

func (n *Node) shutdown() {
	n.Node.Close()
	qremote.StopRemote(n.sys, n.Remote)
	n.sys.Shutdown()
}

// Start starts the members and clients of specs, in cluster name, each with a
// Member installed before it starts. Remotes start one after the other (gated as
// internal/testnode does); protoactor's StartMember, which sleeps a second once its
// member has joined (cluster.go:111), runs for all of them at once.
func Start(name string, specs []Spec) ([]*Node, error) { return StartWith(name, specs, nil) }

// StartWith is Start, calling made with each node's cluster before it starts (to
// attach a Health, say).
func StartWith(name string, specs []Spec, made func(i int, c *cluster.Cluster)) ([]*Node, error) {
	gates := testnode.NewGates()
	defer gates.Release()
	nodes := make([]*Node, len(specs))
	var wg sync.WaitGroup
	var errs []error
	for i, s := range specs {
		opt, await := gates.Next()
		if s.Plain {
			r := remote.NewRemote(s.System, remote.Configure("127.0.0.1", s.Port, opt))
			n, err := qremote.Install(s.System, qremote.Config{})
			if err != nil {
				errs = append(errs, err)
				break
			}
			r.Start()
			nodes[i] = &Node{Remote: r, Node: n, sys: s.System}
			if err := await(s.System.Address()); err != nil {
				errs = append(errs, err)
				break
			}
			continue
		}
		hook := &started{ClusterProvider: s.Provider, ch: make(chan struct{})}
		opts := append([]cluster.ConfigOption{cluster.WithKinds(s.Kinds...)}, s.Options...)
		cname := name
		if s.Name != "" {
			cname = s.Name
		}
		cfg := cluster.Configure(cname, hook, disthash.New(), remote.Configure("127.0.0.1", s.Port, opt), opts...)
		c := cluster.New(s.System, cfg)
		if made != nil {
			made(i, c)
		}
		m, err := qcluster.Install(c, s.Config)
		if err != nil {
			errs = append(errs, err)
			break
		}
		nodes[i] = &Node{Cluster: c, Member: m, sys: s.System}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.Client {
				c.StartClient()
			} else {
				c.StartMember()
			}
		}()
		select {
		case <-hook.ch:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("clusternode: node %d: remote did not start within 10s", i))
		}
		if len(errs) > 0 {
			break
		}
		if err := await(c.ActorSystem.Address()); err != nil {
			errs = append(errs, err)
			break
		}
	}
	gates.Release()
	wg.Wait()
	return nodes, errors.Join(errs...)
}

// started tells when protoactor's StartMember or StartClient reaches the provider,
// which it does once remote has started.
type started struct {
	cluster.ClusterProvider
	ch   chan struct{}
	once sync.Once
}

func (s *started) StartMember(c *cluster.Cluster) error {
	s.once.Do(func() { close(s.ch) })
	return s.ClusterProvider.StartMember(c)
}

func (s *started) StartClient(c *cluster.Cluster) error {
	s.once.Do(func() { close(s.ch) })
	return s.ClusterProvider.StartClient(c)
}

// Health is the health endpoint of an automanaged provider, on loopback.
type Health struct {
	Port int
	e    *echo.Echo
	c    atomic.Pointer[cluster.Cluster]
}

// Attach makes the endpoint describe c's member.
func (h *Health) Attach(c *cluster.Cluster) { h.c.Store(c) }

// Automanaged returns an automanaged provider that polls hosts every refresh, and
// whose own health endpoint listens on 127.0.0.1:port (protoactor's binds
// 0.0.0.0, automanaged.go:181; given a listener, echo uses it). Attach the member's
// cluster to the Health before it starts. For a client, the endpoint never serves.
func Automanaged(refresh time.Duration, port int, hosts ...string) (*automanaged.AutoManagedProvider, *Health, error) {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, nil, err
	}
	h := &Health{Port: l.Addr().(*net.TCPAddr).Port, e: echo.New()}
	h.e.HideBanner, h.e.HidePort = true, true
	h.e.Listener = l
	h.e.GET("/_health", func(ec echo.Context) error {
		c := h.c.Load()
		if c == nil {
			return ec.NoContent(http.StatusServiceUnavailable)
		}
		host, p, err := c.ActorSystem.GetHostPort()
		if err != nil {
			return ec.NoContent(http.StatusServiceUnavailable)
		}
		return ec.JSON(http.StatusOK, automanaged.NewNode(c.Config.Name, c.ActorSystem.ID, host, p, h.Port, c.GetClusterKinds()))
	})
	return automanaged.NewWithTesting(refresh, h.Port, h.e, hosts...), h, nil
}

// AutomanagedClient returns an automanaged provider for a cluster client, which
// polls hosts every refresh and serves no health endpoint.
func AutomanagedClient(refresh time.Duration, hosts ...string) *automanaged.AutoManagedProvider {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	return automanaged.NewWithTesting(refresh, 0, e, hosts...)
}

// FreePorts returns n free loopback ports.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// StopRemote shuts c's remote and actor system down as Member.Leave's last step
// does (see remote.StopRemote for why not remote.Shutdown(true)).
func StopRemote(c *cluster.Cluster) {
	qremote.StopRemote(c.ActorSystem, c.Remote)
	c.ActorSystem.Shutdown()
}

// QuietGossip is the cluster option of members that share a process: protoactor's
// gossip informer shuffles with one math/rand.Rand for the whole process, without a
// lock (cluster/informer.go:25 and 122), a data race between two members' gossip
// actors. Their gossip loop then ticks once an hour: no state is sent, the gossip
// actor still takes SetState.
func QuietGossip(c *cluster.Config) { c.GossipInterval = time.Hour }
