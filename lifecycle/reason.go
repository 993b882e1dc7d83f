package lifecycle

import (
	"context"
)

// ReasonKind says why a stop began.
type ReasonKind uint8

const (
	// Requested: somebody asked: ctx.Stop, StopFuture, a Stop directive, a graceful stop call.
	Requested ReasonKind = iota + 1
	// Poisoned: a PoisonPill reached the front of the mailbox.
	Poisoned
	// Restarting: a Restart directive; a new incarnation starts after the plan.
	Restarting
	// ParentStopping: the parent is stopping; the Cause is the parent's reason.
	ParentStopping
	// StartFailed: a start hook returned an error, the Cause.
	StartFailed
	// Shutdown: a whole tree or system is being shut down.
	Shutdown
)

var reasonNames = [...]string{
	Requested:      "stop requested",
	Poisoned:       "poisoned",
	Restarting:     "restart",
	ParentStopping: "parent stopping",
	StartFailed:    "start failed",
	Shutdown:       "shutdown",
}

func (k ReasonKind) String() string { return enumString(reasonNames[:], int(k), "ReasonKind") }

// Reason is why a stop began, and what caused it. It is an error, so it can itself be
// the cause of a context or of a child's Reason: errors.Is and errors.As see through
// it to the Cause.
type Reason struct {
	Kind  ReasonKind
	Cause error // may be nil
}

// NewReason returns a Reason of kind k caused by cause.
func NewReason(k ReasonKind, cause error) *Reason { return &Reason{Kind: k, Cause: cause} }

// Error reads "<kind>: <cause>". A parent's stop reaches its children as
// ParentStopping caused by the parent's reason, and theirs as ParentStopping caused
// by that: the chain reads once, "parent stopping: shutdown: SIGTERM", however deep.
func (r *Reason) Error() string {
	if r == nil {
		return "no reason"
	}
	cause := r.Cause
	if r.Kind == ParentStopping {
		for {
			inner, ok := cause.(*Reason)
			if !ok || inner == nil || inner.Kind != ParentStopping {
				break
			}
			cause = inner.Cause
		}
	}
	if cause == nil {
		return r.Kind.String()
	}
	return r.Kind.String() + ": " + cause.Error()
}

// Unwrap returns the Cause.
func (r *Reason) Unwrap() error { return r.Cause }

type reasonKey struct{}

// WithReason returns a copy of ctx that carries r.
func WithReason(ctx context.Context, r *Reason) context.Context {
	return context.WithValue(ctx, reasonKey{}, r)
}
