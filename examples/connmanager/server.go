package main

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// stats are the server's live counters, for the progress display and the ledger.
type stats struct {
	open     atomic.Int64 // connections accepted and not yet closed
	accepted atomic.Int64
	inflight atomic.Int64  // requests read and not yet answered
	slow     atomic.Int64  // SLOW requests being worked on
	slowed   chan struct{} // a SLOW request began to be worked on (dropped when full): a sync point for tests
	rejected atomic.Int64  // over max connections, or after the listener began to stop
	answered atomic.Int64
	refused  atomic.Int64 // ERR shutting down
	badInput atomic.Int64 // ERR unknown command, ERR line too long
	byes     atomic.Int64
}

// listener is the server's root actor: it owns the listening socket, its accept
// goroutine, and one session child per connection.
type listener struct {
	ln       net.Listener
	store    *store
	stats    *stats
	cfg      *config
	accepted chan struct{} // closed when the accept goroutine has returned
}

// accepted is what the accept goroutine hands the listener for each connection.
type accepted struct{ conn net.Conn }

// listenerComponent declares the listener: its plan stops accepting, then stops
// every session (each drains, says BYE, closes), then closes the store.
func listenerComponent(ln net.Listener, st *stats, cfg *config) qactor.Component[*listener] {
	return qactor.Component[*listener]{
		New: func() *listener {
			return &listener{ln: ln, store: &store{m: map[string]string{}}, stats: st, cfg: cfg, accepted: make(chan struct{})}
		},
		Start: []func(*listener, actor.Context) error{(*listener).start},
		Steps: []qactor.Step[*listener]{
			// Always: even a forced shutdown stops accepting, and ends the accept goroutine.
			{Name: "unbind", Policy: policy.Plain, Timeout: time.Second, Always: true, Run: (*listener).unbind},
			qactor.Children[*listener](policy.DeferFlag, cfg.drain+3*time.Second),
			{Name: "close", Policy: policy.Plain, Always: true, Run: (*listener).close},
		},
		// A session that fails is stopped, gracefully, not restarted: its socket is gone.
		Options: []actor.PropsOption{actor.WithSupervisor(actor.NewOneForOneStrategy(0, time.Second,
			func(any) actor.Directive { return actor.StopDirective }))},
	}
}

func (l *listener) Receive(c actor.Context) {
	if a, ok := c.Message().(accepted); ok {
		c.SpawnPrefix(sessionComponent(a.conn, l.store, l.stats, l.cfg).MustProps(), "conn-")
		c.Respond(true)
	}
}

func (l *listener) start(c actor.Context) error {
	go l.accept(c.ActorSystem(), c.Self())
	return nil
}

// accept is the listener's accept goroutine. A connection over the limit, or one
// that arrives once the listener has begun to stop (its request is refused), is told
// so and closed: no connection is left hanging.
func (l *listener) accept(sys *actor.ActorSystem, self *actor.PID) {
	defer close(l.accepted)
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return // unbind closed the socket
		}
		if l.stats.open.Add(1) > int64(l.cfg.maxConns) {
			l.stats.open.Add(-1)
			l.reject(conn, "ERR too many connections")
			continue
		}
		if _, err := qactor.Result(sys.Root.RequestFuture(self, accepted{conn}, 5*time.Second)); err != nil {
			l.stats.open.Add(-1)
			l.reject(conn, "ERR shutting down")
			continue
		}
		l.stats.accepted.Add(1)
	}
}

func (l *listener) reject(conn net.Conn, why string) {
	l.stats.rejected.Add(1)
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = conn.Write([]byte(why + "\n"))
	_ = conn.Close()
}

func (l *listener) unbind(context.Context) error {
	err := l.ln.Close()
	<-l.accepted
	return err
}

func (l *listener) close(ctx context.Context) error {
	mailbox.ActorContext(ctx).Logger().Info("connmanager: store closed", "keys", l.store.len())
	return nil
}
