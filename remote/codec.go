package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
	"github.com/quiesce/quiesce/remote/wirepb"
)

// Errors cross as text, with the codes of the sentinels they match, so that the
// receiving node restores those sentinels and errors.Is works there as here. The
// sentinels of Quiesce's packages, of context and of protoactor's futures are
// registered; RegisterError adds a program's own, under the same code on every node.
var sentinels = struct {
	sync.RWMutex
	byCode map[string]error
	order  []string // registration order: the order codes are tried and sent in
}{byCode: map[string]error{}}

func init() {
	for _, s := range []struct {
		code string
		err  error
	}{
		{"mailbox.refused", mailbox.ErrRefused},
		{"mailbox.stopping", mailbox.ErrStopping},
		{"mailbox.stopped", mailbox.ErrStopped},
		{"mailbox.full", mailbox.ErrFull},
		{"mailbox.budget-expired", mailbox.ErrBudgetExpired},
		{"mailbox.brutal", mailbox.ErrBrutal},
		{"mailbox.deadline", mailbox.ErrDeadline},
		{"lifecycle.forced", lifecycle.ErrForced},
		{"lifecycle.abandoned", lifecycle.ErrAbandoned},
		{"policy.caller-canceled", policy.ErrCallerCanceled},
		{"policy.core-canceled", policy.ErrCoreCanceled},
		{"policy.timeout", policy.ErrTimeout},
		{"policy.grace-expired", policy.ErrGraceExpired},
		{"actor.not-component", qactor.ErrNotComponent},
		{"actor.incomplete", qactor.ErrIncomplete},
		{"context.canceled", context.Canceled},
		{"context.deadline-exceeded", context.DeadlineExceeded},
		{"protoactor.timeout", actor.ErrTimeout},
		{"protoactor.dead-letter", actor.ErrDeadLetter},
		{"remote.closed", ErrClosed},
	} {
		if err := RegisterError(s.code, s.err); err != nil {
			panic(err)
		}
	}
}

// ErrCode matches the errors of RegisterError.
var ErrCode = errors.New("quiesce/remote: error code")

// RegisterError registers err, a sentinel, under code, so that an error that
// matches err (errors.Is) on one node matches it on the other, once it has crossed.
// Register the same code for the same sentinel on every node, before remote
// traffic, typically in an init function. A code registered twice is an error,
// unless for the same sentinel.
func RegisterError(code string, err error) error {
	if code == "" || err == nil {
		return fmt.Errorf("%w: empty code or nil error", ErrCode)
	}
	sentinels.Lock()
	defer sentinels.Unlock()
	if had, ok := sentinels.byCode[code]; ok {
		if had == err {
			return nil
		}
		return fmt.Errorf("%w %q: already registered for %q", ErrCode, code, had)
	}
	sentinels.byCode[code] = err
	sentinels.order = append(sentinels.order, code)
	return nil
}

// RemoteError is an error that crossed from another node: its text there, and what
// it matched there that this node knows: the registered sentinels and its
// lifecycle.Reason. errors.Is and errors.As see them through Unwrap.
type RemoteError struct {
	Text   string
	Codes  []string          // the codes of the sentinels it matched, known here or not
	Reason *lifecycle.Reason // the Reason in it, if any
	known  []error
}

func (e *RemoteError) Error() string { return e.Text }

// Unwrap returns the sentinels known on this node, and the Reason.
func (e *RemoteError) Unwrap() []error {
	if e.Reason == nil {
		return e.known
	}
	return append(e.known[:len(e.known):len(e.known)], e.Reason)
}

func encodeError(err error) *wirepb.Error {
	if err == nil {
		return nil
	}
	if r, ok := err.(*lifecycle.Reason); ok {
		return &wirepb.Error{Text: r.Error(), Reason: encodeReason(r)}
	}
	if e, ok := err.(*RemoteError); ok {
		// Crossed once already: send on what it carries, sentinels unknown here included.
		return &wirepb.Error{Text: e.Text, Codes: e.Codes, Reason: encodeReason(e.Reason)}
	}
	w := &wirepb.Error{Text: err.Error()}
	var r *lifecycle.Reason
	if errors.As(err, &r) {
		w.Reason = encodeReason(r)
	}
	sentinels.RLock()
	for _, code := range sentinels.order {
		if errors.Is(err, sentinels.byCode[code]) {
			w.Codes = append(w.Codes, code)
		}
	}
	sentinels.RUnlock()
	return w
}

// decodeError restores an error: a registered sentinel itself when the error was
// exactly that sentinel, a *lifecycle.Reason when it was one, a *RemoteError else.
func decodeError(w *wirepb.Error) error {
	if w == nil {
		return nil
	}
	var reason *lifecycle.Reason
	if w.Reason != nil {
		reason = decodeReason(w.Reason)
		if len(w.Codes) == 0 && reason.Error() == w.Text {
			return reason
		}
	}
	e := &RemoteError{Text: w.Text, Codes: w.Codes, Reason: reason}
	sentinels.RLock()
	for _, code := range w.Codes {
		if s, ok := sentinels.byCode[code]; ok {
			if s.Error() == w.Text && reason == nil {
				sentinels.RUnlock()
				return s
			}
			e.known = append(e.known, s)
		}
	}
	sentinels.RUnlock()
	return e
}

func encodeReason(r *lifecycle.Reason) *wirepb.Reason {
	if r == nil {
		return nil
	}
	return &wirepb.Reason{Kind: wirepb.ReasonKind(r.Kind), Cause: encodeError(r.Cause)}
}

func decodeReason(w *wirepb.Reason) *lifecycle.Reason {
	if w == nil {
		return nil
	}
	return lifecycle.NewReason(lifecycle.ReasonKind(w.Kind), decodeError(w.Cause))
}

func encodePID(p *actor.PID) *wirepb.Pid {
	if p == nil {
		return nil
	}
	return &wirepb.Pid{Address: p.Address, Id: p.Id, RequestId: p.RequestId}
}

func decodePID(w *wirepb.Pid) *actor.PID {
	if w == nil {
		return nil
	}
	return &actor.PID{Address: w.Address, Id: w.Id, RequestId: w.RequestId}
}

// A zero time crosses as 0: its UnixNano is not defined.
func encodeTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func decodeTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func encodeProgress(p *lifecycle.Progress) *wirepb.Progress {
	if p == nil {
		return nil
	}
	w := &wirepb.Progress{Message: p.Message, Done: int64(p.Done), Total: int64(p.Total), AtUnixNs: encodeTime(p.At),
		Phase: p.Phase, Rate: p.Rate, EtaNs: int64(p.ETA)}
	if len(p.Fields) > 0 {
		w.Fields = make(map[string]string, len(p.Fields))
		for k, v := range p.Fields {
			w.Fields[k] = fmt.Sprint(v)
		}
	}
	return w
}

func decodeProgress(w *wirepb.Progress) *lifecycle.Progress {
	if w == nil {
		return nil
	}
	p := &lifecycle.Progress{Message: w.Message, Done: int(w.Done), Total: int(w.Total), At: decodeTime(w.AtUnixNs),
		Phase: w.Phase, Rate: w.Rate, ETA: time.Duration(w.EtaNs)}
	if len(w.Fields) > 0 {
		p.Fields = make(map[string]any, len(w.Fields))
		for k, v := range w.Fields {
			p.Fields[k] = v
		}
	}
	return p
}

// partialText is a partial result as it crosses: its text.
func partialText(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func partialValue(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func encodeReport(r *lifecycle.Report) *wirepb.Report {
	if r == nil {
		return nil
	}
	w := &wirepb.Report{
		Actor: r.Actor, Reason: encodeReason(r.Reason), StartUnixNs: encodeTime(r.Start),
		DurationNs: int64(r.Duration), StopRequests: int64(r.StopRequests), Forced: encodeError(r.Forced),
		Drained: int64(r.Drained), Refused: int64(r.Refused), Id: uint64(r.ID), Parent: uint64(r.Parent),
	}
	for _, s := range r.Steps {
		w.Steps = append(w.Steps, &wirepb.StepReport{
			Name: s.Name, Policy: wirepb.Policy(s.Policy), Status: wirepb.Status(s.Status),
			StopRequests: int64(s.StopRequests), Deferred: int64(s.Deferred), Reraised: s.Reraised,
			Err: encodeError(s.Err), StartUnixNs: encodeTime(s.Start), DurationNs: int64(s.Duration),
			Progress: encodeProgress(s.Progress), Goroutine: s.Goroutine, Partial: partialText(s.Partial),
		})
	}
	for _, c := range r.Children {
		w.Children = append(w.Children, encodeReport(c))
	}
	return w
}

func decodeReport(w *wirepb.Report) *lifecycle.Report {
	if w == nil {
		return nil
	}
	r := &lifecycle.Report{
		Actor: w.Actor, Reason: decodeReason(w.Reason), Start: decodeTime(w.StartUnixNs),
		Duration: time.Duration(w.DurationNs), StopRequests: int(w.StopRequests), Forced: decodeError(w.Forced),
		Drained: int(w.Drained), Refused: int(w.Refused), ID: lifecycle.StopID(w.Id), Parent: lifecycle.StopID(w.Parent),
	}
	for _, s := range w.Steps {
		r.Steps = append(r.Steps, lifecycle.StepReport{
			Name: s.Name, Policy: policy.Policy(s.Policy), Status: lifecycle.Status(s.Status),
			StopRequests: int(s.StopRequests), Deferred: int(s.Deferred), Reraised: s.Reraised,
			Err: decodeError(s.Err), Start: decodeTime(s.StartUnixNs), Duration: time.Duration(s.DurationNs),
			Progress: decodeProgress(s.Progress), Goroutine: s.Goroutine, Partial: partialValue(s.Partial),
		})
	}
	for _, c := range w.Children {
		r.Children = append(r.Children, decodeReport(c))
	}
	return r
}

// Opaque stands for a refused message that was not protobuf, so did not cross:
// only its Go type's name did.
type Opaque struct{ Type string }

func (o Opaque) String() string { return o.Type }

// encode turns what a mailbox delivers (a *mailbox.Refused, a Notice, a
// *mailbox.StepProgress) into its wire form, addressed to target. It returns nil for
// anything else.
func encode(target *actor.PID, msg any) *wirepb.Envelope {
	env := &wirepb.Envelope{Target: encodePID(target)}
	switch m := msg.(type) {
	case *mailbox.Refused:
		w := &wirepb.Refused{Actor: encodePID(m.Actor), Reason: encodeReason(m.Reason), Err: encodeError(m.Err)}
		if pm, ok := m.Message.(proto.Message); ok {
			if a, err := anypb.New(pm); err == nil {
				w.Message = a
			}
		}
		if w.Message == nil && m.Message != nil {
			w.MessageType = fmt.Sprintf("%T", m.Message)
		}
		env.Body = &wirepb.Envelope_Refused{Refused: w}
	case *mailbox.DeferredCancel:
		env.Body = &wirepb.Envelope_DeferredCancel{DeferredCancel: &wirepb.DeferredCancel{
			Actor: encodePID(m.Actor), Step: m.Step, Policy: wirepb.Policy(m.Policy), Cause: encodeError(m.Cause),
			StopRequests: int64(m.StopRequests), ElapsedNs: int64(m.Elapsed), BudgetLeftNs: int64(m.BudgetLeft), Stop: uint64(m.Stop),
		}}
	case *mailbox.Interrupted:
		env.Body = &wirepb.Envelope_Interrupted{Interrupted: &wirepb.Interrupted{
			Actor: encodePID(m.Actor), Step: m.Step, Cause: encodeError(m.Cause),
			StopRequests: int64(m.StopRequests), ElapsedNs: int64(m.Elapsed), Stop: uint64(m.Stop),
		}}
	case *mailbox.Forced:
		env.Body = &wirepb.Envelope_Forced{Forced: &wirepb.Forced{Actor: encodePID(m.Actor), Step: m.Step, Cause: encodeError(m.Cause),
			Stop: uint64(m.Stop)}}
	case *mailbox.Abandoned:
		env.Body = &wirepb.Envelope_Abandoned{Abandoned: &wirepb.Abandoned{Actor: encodePID(m.Actor), Step: m.Step, Goroutine: m.Goroutine,
			Stop: uint64(m.Stop)}}
	case *mailbox.Finished:
		env.Body = &wirepb.Envelope_Finished{Finished: &wirepb.Finished{Actor: encodePID(m.Actor), Report: encodeReport(m.Report),
			Stop: uint64(m.Stop)}}
	case *mailbox.Progressed:
		env.Body = &wirepb.Envelope_Progressed{Progressed: &wirepb.Progressed{
			Actor: encodePID(m.Actor), Stop: uint64(m.Stop), Step: m.Step, Progress: encodeProgress(&m.Progress),
		}}
	case *mailbox.StepProgress:
		env.Body = &wirepb.Envelope_Progress{Progress: &wirepb.StepProgress{
			Actor: encodePID(m.Actor), Step: m.Step, Progress: encodeProgress(&m.Progress),
		}}
	default:
		return nil
	}
	return env
}

// decode turns a refusal, notice or progress that crossed back into the Go value
// the mailbox would have sent: nil for any other body, or none (one that a later
// version added).
func decode(env *wirepb.Envelope) any {
	switch b := env.Body.(type) {
	case *wirepb.Envelope_Refused:
		w := b.Refused
		r := &mailbox.Refused{Actor: decodePID(w.Actor), Reason: decodeReason(w.Reason), Err: decodeError(w.Err)}
		switch {
		case w.Message != nil:
			if m, err := w.Message.UnmarshalNew(); err == nil {
				r.Message = m
			} else {
				r.Message = w.Message
			}
		case w.MessageType != "":
			r.Message = Opaque{Type: w.MessageType}
		}
		return r
	case *wirepb.Envelope_DeferredCancel:
		w := b.DeferredCancel
		return &mailbox.DeferredCancel{
			Actor: decodePID(w.Actor), Step: w.Step, Policy: policy.Policy(w.Policy), Cause: decodeError(w.Cause),
			StopRequests: int(w.StopRequests), Elapsed: time.Duration(w.ElapsedNs), BudgetLeft: time.Duration(w.BudgetLeftNs),
			Stop: lifecycle.StopID(w.Stop),
		}
	case *wirepb.Envelope_Interrupted:
		w := b.Interrupted
		return &mailbox.Interrupted{
			Actor: decodePID(w.Actor), Step: w.Step, Cause: decodeError(w.Cause),
			StopRequests: int(w.StopRequests), Elapsed: time.Duration(w.ElapsedNs), Stop: lifecycle.StopID(w.Stop),
		}
	case *wirepb.Envelope_Forced:
		w := b.Forced
		return &mailbox.Forced{Actor: decodePID(w.Actor), Step: w.Step, Cause: decodeError(w.Cause), Stop: lifecycle.StopID(w.Stop)}
	case *wirepb.Envelope_Abandoned:
		w := b.Abandoned
		return &mailbox.Abandoned{Actor: decodePID(w.Actor), Step: w.Step, Goroutine: w.Goroutine, Stop: lifecycle.StopID(w.Stop)}
	case *wirepb.Envelope_Finished:
		w := b.Finished
		return &mailbox.Finished{Actor: decodePID(w.Actor), Report: decodeReport(w.Report), Stop: lifecycle.StopID(w.Stop)}
	case *wirepb.Envelope_Progressed:
		w := b.Progressed
		p := &mailbox.Progressed{Actor: decodePID(w.Actor), Stop: lifecycle.StopID(w.Stop), Step: w.Step}
		if pr := decodeProgress(w.Progress); pr != nil {
			p.Progress = *pr
		}
		return p
	case *wirepb.Envelope_Progress:
		w := b.Progress
		p := &mailbox.StepProgress{Actor: decodePID(w.Actor), Step: w.Step}
		if pr := decodeProgress(w.Progress); pr != nil {
			p.Progress = *pr
		}
		return p
	}
	return nil
}
