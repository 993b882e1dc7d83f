package policy

import (
	"context"
	"errors"
	"fmt"
)

// Sentinels, checked with errors.Is.
var (
	// ErrCallerCanceled matches a [*CancelError] whose Origin is Caller: the caller's
	// own ctx was cancelled.
	ErrCallerCanceled = errors.New("canceled by the caller")
	// ErrCoreCanceled matches a [*CancelError] whose Origin is Core: op's own ctx was
	// cancelled (Timeout, Grace, Abort), or op returned the cancellation of something
	// it waited for.
	ErrCoreCanceled = errors.New("canceled at the core")
	// ErrTimeout is the cause of op's ctx when its [Timeout] runs out.
	ErrTimeout = errors.New("policy: timeout")
	// ErrGraceExpired is the cause of op's ctx when its [Grace] runs out.
	ErrGraceExpired = errors.New("policy: grace period expired")
	// ErrUnknownPolicy matches the error for a policy name or value that is not one
	// of plain, defer-flag, defer-reraise.
	ErrUnknownPolicy = errors.New("policy: unknown policy")
)

// Origin says whose context a cancellation came from.
type Origin uint8

const (
	// Caller: the caller's ctx.
	Caller Origin = iota + 1
	// Core: op's own ctx, or something op waited for.
	Core
)

// String returns "caller" or "core".
func (o Origin) String() string {
	switch o {
	case Caller:
		return "caller"
	case Core:
		return "core"
	}
	return fmt.Sprintf("Origin(%d)", uint8(o))
}

// CancelError reports that an operation run by [Run] ended in a cancellation.
//
// It satisfies errors.Is with context.Canceled or context.DeadlineExceeded (whichever
// the cancelled context reported), with [ErrCallerCanceled] or [ErrCoreCanceled] (by
// Origin), and with Cause and everything Cause wraps; those four errors answer for
// this error alone, not for another cancellation inside its Cause.
type CancelError struct {
	Op       string // the name given to Run
	Origin   Origin
	Deferred bool  // the cancellation was held back until op finished (DeferReraise)
	Cause    error // context.Cause of the context that was cancelled

	ctxErr error // context.Canceled or context.DeadlineExceeded
}

func (e *CancelError) Error() string {
	switch {
	case e.Deferred:
		return fmt.Sprintf("%s: finished, then re-raised the caller's cancellation: %v", opName(e.Op), e.Cause)
	case e.Origin == Caller:
		return fmt.Sprintf("%s: %v: %v", opName(e.Op), ErrCallerCanceled, e.Cause)
	default:
		return fmt.Sprintf("%s: %v: %v", opName(e.Op), ErrCoreCanceled, e.Cause)
	}
}

// Is matches the origin sentinel and the context error; Unwrap reaches the Cause.
func (e *CancelError) Is(target error) bool {
	switch target {
	case ErrCallerCanceled:
		return e.Origin == Caller
	case ErrCoreCanceled:
		return e.Origin == Core
	case context.Canceled, context.DeadlineExceeded:
		return e.ctxErr == target
	}
	return false
}

// Unwrap returns the Cause, seen through a view that errors.Is and errors.As search
// as they would the Cause itself, except that it never matches [ErrCallerCanceled],
// [ErrCoreCanceled], context.Canceled or context.DeadlineExceeded. Those answer for
// this error alone (its Origin, its context's error): an op that returns a nested
// Run's caller cancellation, or a caller whose cause is itself a *CancelError, must
// not make one error read as both "I was cancelled" and "what I waited for was
// cancelled".
func (e *CancelError) Unwrap() error {
	if e.Cause == nil {
		return nil
	}
	return causeView{e.Cause}
}

// causeView is a CancelError's Cause with the classifying errors hidden.
type causeView struct{ err error }

func (v causeView) Error() string { return v.err.Error() }

func (v causeView) Is(target error) bool {
	switch target {
	case ErrCallerCanceled, ErrCoreCanceled, context.Canceled, context.DeadlineExceeded:
		return false
	}
	return errors.Is(v.err, target)
}

func (v causeView) As(target any) bool { return errors.As(v.err, target) }

// PanicError is what a deferred policy panics with, in the caller's goroutine, when
// op panicked in its own.
type PanicError struct {
	Op    string
	Value any    // the value op panicked with
	Stack []byte // op's stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("%s: panic: %v", opName(e.Op), e.Value)
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func opName(name string) string {
	if name == "" {
		name = "unknown"
	}
	return fmt.Sprintf("policy: %q", name)
}
