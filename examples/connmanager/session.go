package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// session is one connection's actor. Its reader goroutine reads requests and hands
// each to the actor with a RequestFuture, then writes the answer: so while the
// actor stops, its mailbox's refusal is the answer ("ERR shutting down: <reason>"),
// and no request goes unanswered.
type session struct {
	conn   net.Conn
	out    *lineWriter
	store  *store
	stats  *stats
	cfg    *config
	busy   busy           // requests read and not yet answered
	slow   sync.WaitGroup // SLOW timers: the session owns them
	quit   chan struct{}  // closed by close: pending SLOW timers answer at once
	reader chan struct{}  // closed when the reader goroutine has returned

	started    atomic.Bool // the reader runs (a session stopped before its start has none)
	stopping   atomic.Bool // the plan has begun: the reader's stops would be requests
	clientGone atomic.Bool // the client closed: nobody to say BYE to
	saidBye    atomic.Bool
}

var (
	errIdle         = errors.New("idle")
	errClientClosed = errors.New("client closed")
	errQuit         = errors.New("client quit")
)

// sessionComponent declares a session for conn: its plan, which every way of
// stopping it runs (the listener's Children step, an idle client, QUIT).
func sessionComponent(conn net.Conn, st *store, stats *stats, cfg *config) qactor.Component[*session] {
	return qactor.Component[*session]{
		New: func() *session {
			return &session{conn: conn, out: &lineWriter{w: conn}, store: st, stats: stats, cfg: cfg,
				quit: make(chan struct{}), reader: make(chan struct{})}
		},
		Start: []func(*session, actor.Context) error{(*session).start},
		Steps: []qactor.Step[*session]{
			// In-flight requests get their answers; new ones are refused by the mailbox.
			{Name: "drain", Policy: policy.DeferFlag, Timeout: cfg.drain, Run: (*session).drain},
			{Name: "disconnect", Policy: policy.Plain, Timeout: time.Second, Run: (*session).disconnect},
			{Name: "close", Policy: policy.Plain, Timeout: time.Second, Always: true, Run: (*session).close},
		},
	}
}

func (s *session) Receive(c actor.Context) {
	req, ok := c.Message().(request)
	if !ok {
		return
	}
	r, delay := answer(s.store, req.line)
	if delay == 0 {
		c.Respond(r)
		return
	}
	// A slow request: its answer comes later, from a timer the session owns; the
	// actor goes on meanwhile, and drain waits for the answer to be written.
	sender, sys := c.Sender(), c.ActorSystem()
	s.slow.Add(1)
	s.stats.slow.Add(1)
	go func() {
		defer s.slow.Done()
		defer s.stats.slow.Add(-1)
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			sys.Root.Send(sender, r)
		case <-s.quit: // forced: the connection closes before the work is done
			sys.Root.Send(sender, reply{text: "ERR shutting down: forced"})
		}
	}()
}

func (s *session) start(c actor.Context) error {
	s.started.Store(true)
	go s.read(c.ActorSystem(), c.Self())
	return nil
}

// read is the session's reader goroutine.
func (s *session) read(sys *actor.ActorSystem, self *actor.PID) {
	defer close(s.reader)
	r := bufio.NewReaderSize(s.conn, s.cfg.maxLine)
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(s.cfg.idle))
		line, err := readLine(r)
		switch {
		case errors.Is(err, errTooLong):
			s.stats.badInput.Add(1)
			_ = s.out.writeLine("ERR line too long")
			continue
		case isTimeout(err):
			s.stop(sys, self, errIdle)
			return
		case err != nil:
			s.clientGone.Store(true)
			s.stop(sys, self, errClientClosed)
			return
		}
		s.busy.add()
		s.stats.inflight.Add(1)
		res, err := qactor.Result(sys.Root.RequestFuture(self, request{line}, maxSlow+5*time.Second))
		r, _ := res.(reply)
		switch {
		case err == nil && strings.HasPrefix(r.text, "ERR shutting down"): // cut short by a force
			_ = s.out.writeLine("%s", r.text)
			s.stats.refused.Add(1)
		case err != nil:
			var refused *mailbox.Refused
			if errors.As(err, &refused) && refused.Reason != nil {
				_ = s.out.writeLine("ERR shutting down: %v", refused.Reason)
			} else {
				_ = s.out.writeLine("ERR shutting down")
			}
			s.stats.refused.Add(1)
		case r.text == "ERR unknown command":
			s.stats.badInput.Add(1)
			_ = s.out.writeLine("%s", r.text)
		default:
			_ = s.out.writeLine("%s", r.text)
			s.stats.answered.Add(1)
		}
		s.stats.inflight.Add(-1)
		s.busy.done()
		if r.quit {
			s.saidBye.Store(true)
			s.stop(sys, self, errQuit)
			return
		}
	}
}

// stop asks the session to stop for cause, unless it is stopping already: then the
// request would only be a cancellation of its running step.
func (s *session) stop(sys *actor.ActorSystem, self *actor.PID, cause error) {
	if s.stopping.Load() {
		return
	}
	if mb := mailbox.Of(sys, self); mb != nil {
		mb.Request(lifecycle.NewReason(lifecycle.Requested, cause), nil)
	}
}

func (s *session) drain(ctx context.Context) error {
	s.stopping.Store(true)
	return s.busy.wait(ctx)
}

func (s *session) disconnect(ctx context.Context) error {
	if s.clientGone.Load() || s.saidBye.Swap(true) {
		return nil
	}
	s.stats.byes.Add(1)
	return s.out.writeLine("BYE %v", lifecycle.ReasonFrom(ctx))
}

// close answers what is still pending at once (only a forced stop leaves anything:
// drain waited otherwise), gives the client its chance to read the BYE and close
// first (the reader answers what it still sends), then closes the socket and waits
// for the reader.
func (s *session) close(ctx context.Context) error {
	defer s.stats.open.Add(-1) // counted by the listener when it accepted the connection
	close(s.quit)
	if !s.started.Load() {
		return s.conn.Close()
	}
	select {
	case <-s.reader:
	case <-ctx.Done():
	}
	err := s.conn.Close()
	<-s.reader
	s.slow.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// busy counts the requests between their read and their answer's write.
type busy struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to zero, while somebody waits
}

func (b *busy) add() {
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
}

func (b *busy) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n--; b.n == 0 && b.idle != nil {
		close(b.idle)
		b.idle = nil
	}
}

func (b *busy) wait(ctx context.Context) error {
	b.mu.Lock()
	if b.n == 0 {
		b.mu.Unlock()
		return nil
	}
	if b.idle == nil {
		b.idle = make(chan struct{})
	}
	idle := b.idle
	b.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
