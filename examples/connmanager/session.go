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
	reader chan struct{}  // closed when the reader goroutine has returned

	// cut is closed once the plan gives up waiting for the pending requests: their
	// SLOW timers answer at once, "ERR shutting down: <cutAs>", cutAs being the
	// drain's outcome as the report words it (timed out, forced).
	cut     chan struct{}
	cutOnce sync.Once
	cutAs   lifecycle.Status
	drainAs atomic.Uint32 // the drain's outcome, once its ctx ended before it could finish

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
				cut: make(chan struct{}), reader: make(chan struct{})}
		},
		Start: []func(*session, actor.Context) error{(*session).start},
		Steps: []qactor.Step[*session]{
			// In-flight requests get their answers; new ones are refused by the mailbox.
			{Name: "drain", Policy: policy.DeferFlag, Timeout: cfg.drain, Run: (*session).drain},
			// Always: a forced stop, too, answers what is pending and then says BYE.
			{Name: "disconnect", Policy: policy.Plain, Timeout: time.Second, Always: true, Run: (*session).disconnect},
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
	select {
	case s.stats.slowed <- struct{}{}:
	default:
	}
	go func() {
		defer s.slow.Done()
		defer s.stats.slow.Add(-1)
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			sys.Root.Send(sender, r)
		case <-s.cut: // the drain ended before the work was done
			sys.Root.Send(sender, reply{text: "ERR shutting down: " + s.cutAs.String()})
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
		case err == nil && strings.HasPrefix(r.text, "ERR shutting down"): // cut short
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
		s.busy.finish()
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
		mb.Stop(lifecycle.NewReason(lifecycle.Requested, cause), nil)
	}
}

// drain waits until every request read before the stop has been answered, and
// reports how far it has got: the requests in flight when it began, and how many of
// them have been answered (a line read meanwhile is refused at once: drain waits for
// that answer too, but does not count it). If its ctx ends first, it notes how (its
// own timeout, a force), so that what is cut short is told the word the report uses.
func (s *session) drain(ctx context.Context) error {
	s.stopping.Store(true)
	inFlight, base, changed := s.busy.state()
	if inFlight == 0 {
		return nil // a session with nothing in flight has no progress to report
	}
	report := func(answered int) {
		lifecycle.ReportProgressOf(ctx, lifecycle.Progress{Message: "in-flight requests answered",
			Done: min(answered-base, inFlight), Total: inFlight})
	}
	report(base)
	for pending := inFlight; pending > 0; {
		select {
		case <-changed:
		case <-ctx.Done():
			cause := context.Cause(ctx)
			switch {
			case errors.Is(cause, lifecycle.ErrForced):
				s.drainAs.Store(uint32(lifecycle.Forced))
			case errors.Is(cause, policy.ErrTimeout), errors.Is(cause, policy.ErrGraceExpired):
				s.drainAs.Store(uint32(lifecycle.TimedOut))
			}
			return cause
		}
		var answered int
		pending, answered, changed = s.busy.state()
		report(answered)
	}
	return nil
}

// answerPending makes every request still pending answer now, "ERR shutting down:
// <outcome>", with the drain's outcome (forced if the drain never ran: only a force
// skips it), and waits until those answers are on the wire.
func (s *session) answerPending(ctx context.Context) error {
	s.cutOnce.Do(func() {
		s.cutAs = lifecycle.Status(s.drainAs.Load())
		if s.cutAs == lifecycle.Pending {
			s.cutAs = lifecycle.Forced
		}
		close(s.cut)
	})
	return s.busy.idle(ctx)
}

// disconnect answers what the drain left pending, then says BYE: on the wire, every
// request's answer comes before it.
func (s *session) disconnect(ctx context.Context) error {
	if err := s.answerPending(ctx); err != nil {
		return err
	}
	if s.clientGone.Load() || s.saidBye.Swap(true) {
		return nil
	}
	s.stats.byes.Add(1)
	if d, ok := ctx.Deadline(); ok { // a client that reads nothing cannot hold the step
		_ = s.conn.SetWriteDeadline(d)
	}
	return s.out.writeLine("BYE %v", lifecycle.ReasonFrom(ctx))
}

// close gives the client its chance to read the BYE and close first (the reader
// answers what it still sends), then closes the socket and waits for the reader and
// the SLOW timers: disconnect had them answer, unless it was cut short itself.
func (s *session) close(ctx context.Context) error {
	defer s.stats.open.Add(-1) // counted by the listener when it accepted the connection
	if !s.started.Load() {
		return s.conn.Close()
	}
	_ = s.answerPending(ctx) // a backstop: disconnect did it
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
	mu       sync.Mutex
	pending  int
	answered int           // answers written, ever
	changed  chan struct{} // closed at the next change, while somebody waits for one
}

func (b *busy) add() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending++
	b.signal()
}

func (b *busy) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending--
	b.answered++
	b.signal()
}

func (b *busy) signal() {
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
}

// state returns the counts, and a channel closed at the next change.
func (b *busy) state() (pending, answered int, changed <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.pending, b.answered, b.changed
}

// idle waits until nothing is pending, or ctx ends.
func (b *busy) idle(ctx context.Context) error {
	for {
		pending, _, changed := b.state()
		if pending == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
