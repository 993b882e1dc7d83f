// Command cleanup shows what each cancellation policy does to an operation that is
// cancelled half-way.
//
// A pretend transport has two operations that matter at shutdown: Disconnect (say
// goodbye, wait for the peer's ack) and Cleanup (remove what the session left
// behind). Each scene starts one of them under a policy, gives up half-way as the
// caller, and prints what came back:
//
//	go run ./examples/cleanup
//
// The scenes are ordered by channels, not by sleeps, so the output is always the
// same. Only the Timeout and Grace scenes wait for a clock, 50ms each.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/quiesce/quiesce/policy"
)

func main() {
	run(os.Stdout)
}

// errReset is the transport's own failure: the peer dropped the connection.
var errReset = errors.New("connection reset by peer")

// errShutdown is why the caller gives up.
var errShutdown = errors.New("shutting down")

// peer says how the other side answers once the operation is half-way.
type peer int

const (
	acks   peer = iota // answers: the operation finishes
	resets             // drops the connection: the operation fails on its own
	hangs              // never answers: only op's ctx can end the wait
)

// transport is the pretend connection. halfway is closed when an operation has
// done its first half; answer is closed when the peer answers.
type transport struct {
	peer    peer
	halfway chan struct{}
	answer  chan struct{}
}

// wait is the second half of every operation: wait for the peer, or for ctx.
func (t *transport) wait(ctx context.Context) error {
	close(t.halfway)
	select {
	case <-t.answer:
		if t.peer == resets {
			return errReset
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the peer: %w", context.Cause(ctx))
	}
}

// Disconnect sends goodbye and waits for the ack.
func (t *transport) Disconnect(ctx context.Context) (string, error) {
	if err := t.wait(ctx); err != nil {
		return "no ack", err
	}
	return "ack received", nil
}

// Cleanup removes the session's files, then confirms with the peer.
func (t *transport) Cleanup(ctx context.Context) (int, error) {
	return 3, t.wait(ctx) // 3 files removed, whatever the peer says
}

// scene is one run: an operation under a policy, and what the caller and the
// peer do once it is half-way.
type scene struct {
	title         string
	p             policy.Policy
	op            string // "disconnect" or "cleanup"
	opts          []policy.Option
	callerCancels bool
	peer          peer
}

var scenes = []scene{
	{"the flag", policy.DeferFlag, "disconnect", nil, true, acks},
	{"the re-raise", policy.DeferReraise, "cleanup", nil, true, acks},
	{"a core error, not masked", policy.DeferFlag, "disconnect", nil, true, resets},
	{"a timeout", policy.DeferReraise, "disconnect", []policy.Option{policy.Timeout(50 * time.Millisecond)}, false, hangs},
	{"a grace expiry", policy.DeferFlag, "cleanup", []policy.Option{policy.Grace(50 * time.Millisecond)}, true, hangs},
	{"the plain interruption", policy.Plain, "disconnect", nil, true, hangs},
}

// run plays every scene and writes what happened to w.
func run(w io.Writer) {
	for i, s := range scenes {
		fmt.Fprintf(w, "%d. %s: %s under %s\n", i+1, s.title, s.op, s.p)
		play(w, s)
	}
}

func play(w io.Writer, s scene) {
	t := &transport{peer: s.peer, halfway: make(chan struct{}), answer: make(chan struct{})}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)

	// The caller's other half: once the operation is half-way, give up (maybe),
	// then let the peer answer (unless it hangs). Run waits for the operation,
	// and we wait for this goroutine, so nothing is left running.
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-t.halfway
		if s.callerCancels {
			cancel(errShutdown)
			fmt.Fprintln(w, "   caller gives up half-way:", errShutdown)
		}
		if s.peer != hangs {
			close(t.answer)
		}
	}()

	var (
		value string
		out   policy.Outcome[int]
		err   error
	)
	if s.op == "disconnect" {
		var o policy.Outcome[string]
		o, err = policy.Run(ctx, s.p, s.op, t.Disconnect, s.opts...)
		value, out.CancelRequested = o.Value, o.CancelRequested
	} else {
		out, err = policy.Run(ctx, s.p, s.op, t.Cleanup, s.opts...)
		value = fmt.Sprintf("%d files removed", out.Value)
	}
	<-done
	fmt.Fprintf(w, "   %s returned %q, cancel requested: %v\n", s.op, value, out.CancelRequested)
	fmt.Fprintf(w, "   %s\n", explain(err))
}

// explain says what kind of error came back, the way a caller would ask.
func explain(err error) string {
	var ce *policy.CancelError
	switch {
	case err == nil:
		return "no error"
	case errors.Is(err, errReset):
		return "the transport's own error, as it was: " + err.Error()
	case !errors.As(err, &ce):
		return "unexpected: " + err.Error()
	case ce.Deferred:
		return "finished, then re-raised the caller's cancellation (cause: " + ce.Cause.Error() + ")"
	case errors.Is(err, policy.ErrCallerCanceled):
		return "interrupted by the caller (cause: " + ce.Cause.Error() + ")"
	case errors.Is(err, policy.ErrTimeout):
		return "cancelled at the core: its Timeout ran out"
	case errors.Is(err, policy.ErrGraceExpired):
		return "cancelled at the core: the Grace after the caller's cancellation ran out"
	}
	return "cancelled at the core (cause: " + ce.Cause.Error() + ")"
}
