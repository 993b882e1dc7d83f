package remote

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
	"github.com/quiesce/quiesce/remote/wirepb"
)

// cross encodes v, marshals it as protoactor would, and decodes it.
func cross(t *testing.T, v any) any {
	t.Helper()
	env := encode(actor.NewPID("b:1", "target"), v)
	require.NotNil(t, env, "%T has a wire form", v)
	b, err := proto.Marshal(env)
	require.NoError(t, err)
	var back wirepb.Envelope
	require.NoError(t, proto.Unmarshal(b, &back))
	assert.Equal(t, "target", back.Target.Id)
	return decode(&back)
}

// The enums cross by number: the wire's numbers are the Go constants'.
func TestEnumNumbersAreTheGoConstants(t *testing.T) {
	for k, w := range map[lifecycle.ReasonKind]wirepb.ReasonKind{
		lifecycle.Requested: wirepb.ReasonKind_REASON_KIND_REQUESTED, lifecycle.Poisoned: wirepb.ReasonKind_REASON_KIND_POISONED,
		lifecycle.Restarting: wirepb.ReasonKind_REASON_KIND_RESTARTING, lifecycle.ParentStopping: wirepb.ReasonKind_REASON_KIND_PARENT_STOPPING,
		lifecycle.StartFailed: wirepb.ReasonKind_REASON_KIND_START_FAILED, lifecycle.Shutdown: wirepb.ReasonKind_REASON_KIND_SHUTDOWN,
	} {
		assert.Equal(t, int32(k), int32(w), "%v", k)
	}
	for p, w := range map[policy.Policy]wirepb.Policy{
		policy.Plain: wirepb.Policy_POLICY_PLAIN, policy.DeferFlag: wirepb.Policy_POLICY_DEFER_FLAG,
		policy.DeferReraise: wirepb.Policy_POLICY_DEFER_RERAISE,
	} {
		assert.Equal(t, int32(p), int32(w), "%v", p)
	}
	for s, w := range map[lifecycle.Status]wirepb.Status{
		lifecycle.Pending: wirepb.Status_STATUS_PENDING, lifecycle.Completed: wirepb.Status_STATUS_COMPLETED,
		lifecycle.Failed: wirepb.Status_STATUS_FAILED, lifecycle.Interrupted: wirepb.Status_STATUS_INTERRUPTED,
		lifecycle.TimedOut: wirepb.Status_STATUS_TIMED_OUT, lifecycle.Forced: wirepb.Status_STATUS_FORCED,
		lifecycle.Skipped: wirepb.Status_STATUS_SKIPPED, lifecycle.Abandoned: wirepb.Status_STATUS_ABANDONED,
	} {
		assert.Equal(t, int32(s), int32(w), "%v", s)
	}
	for p, w := range map[lifecycle.Phase]wirepb.Phase{
		lifecycle.Starting: wirepb.Phase_PHASE_STARTING, lifecycle.Running: wirepb.Phase_PHASE_RUNNING,
		lifecycle.Stopping: wirepb.Phase_PHASE_STOPPING, lifecycle.Stopped: wirepb.Phase_PHASE_STOPPED,
	} {
		assert.Equal(t, int32(p), int32(w), "%v", p)
	}
}

func TestSentinelsAreRestoredByCode(t *testing.T) {
	for _, s := range []error{
		mailbox.ErrStopping, mailbox.ErrStopped, mailbox.ErrFull, mailbox.ErrBudgetExpired, mailbox.ErrBrutal,
		lifecycle.ErrForced, lifecycle.ErrAbandoned, policy.ErrCallerCanceled, policy.ErrCoreCanceled,
		qactor.ErrNotComponent, context.Canceled, context.DeadlineExceeded, actor.ErrTimeout,
	} {
		assert.True(t, s == decodeError(encodeError(s)), "%v is restored as itself", s)
		wrapped := decodeError(encodeError(fmt.Errorf("step: %w", s)))
		assert.ErrorIs(t, wrapped, s)
		assert.Equal(t, "step: "+s.Error(), wrapped.Error())
		var re *RemoteError
		assert.ErrorAs(t, wrapped, &re)
	}
	assert.ErrorIs(t, decodeError(encodeError(mailbox.ErrStopping)), mailbox.ErrRefused)
	forced := fmt.Errorf("%w: %w", lifecycle.ErrForced, mailbox.ErrBudgetExpired)
	back := decodeError(encodeError(forced))
	assert.ErrorIs(t, back, lifecycle.ErrForced)
	assert.ErrorIs(t, back, mailbox.ErrBudgetExpired)
	assert.Nil(t, decodeError(encodeError(nil)))
}

func TestAnUnknownCodeKeepsItsText(t *testing.T) {
	back := decodeError(&wirepb.Error{Text: "cluster: member leaving", Codes: []string{"cluster.leaving"}})
	var re *RemoteError
	require.ErrorAs(t, back, &re)
	assert.Equal(t, "cluster: member leaving", back.Error())
	assert.Equal(t, []string{"cluster.leaving"}, re.Codes)
	again := encodeError(back)
	assert.Equal(t, []string{"cluster.leaving"}, again.Codes, "passed on as it came, to a node that may know it")
}

func TestReasonsCrossAsReasons(t *testing.T) {
	parent := lifecycle.NewReason(lifecycle.Shutdown, errors.New("SIGTERM"))
	child := lifecycle.NewReason(lifecycle.ParentStopping, parent)
	back := decodeError(encodeError(child))
	r, ok := back.(*lifecycle.Reason)
	require.True(t, ok, "%T", back)
	assert.Equal(t, lifecycle.ParentStopping, r.Kind)
	assert.Equal(t, child.Error(), r.Error())
	var inner *lifecycle.Reason
	require.ErrorAs(t, r.Cause, &inner)
	assert.Equal(t, lifecycle.Shutdown, inner.Kind)

	wrapped := decodeError(encodeError(fmt.Errorf("policy: %w", child)))
	var found *lifecycle.Reason
	require.ErrorAs(t, wrapped, &found, "a Reason inside an error crosses too")
	assert.Equal(t, lifecycle.ParentStopping, found.Kind)

	later := decodeError(&wirepb.Error{Text: "member leaving: drain", Reason: &wirepb.Reason{Kind: 42, Cause: &wirepb.Error{Text: "drain"}}})
	assert.Equal(t, "member leaving: drain", later.Error(), "a kind this node does not know keeps the text it had")
}

func TestEveryNoticeCrosses(t *testing.T) {
	child := actor.NewPID("a:1", "worker")
	cause := lifecycle.NewReason(lifecycle.Requested, mailbox.ErrBudgetExpired) // a sentinel: restored as itself, so deeply equal
	stop := lifecycle.NewStopID()
	progress := lifecycle.Progress{Message: "m", Done: 1, Total: 2, At: time.Unix(5, 6), Phase: "acks", Rate: 2.5,
		ETA: 400 * time.Millisecond, Fields: map[string]any{"shard": "3"}}
	for _, n := range []any{
		&mailbox.DeferredCancel{Actor: child, Stop: stop, Step: "flush", Policy: policy.DeferFlag, Cause: cause, StopRequests: 2,
			Elapsed: time.Second, BudgetLeft: mailbox.Unlimited},
		&mailbox.Interrupted{Actor: child, Stop: stop, Step: "deregister", Cause: cause, StopRequests: 3, Elapsed: time.Millisecond},
		&mailbox.Forced{Actor: child, Stop: stop, Step: "flush", Cause: mailbox.ErrBudgetExpired},
		&mailbox.Forced{Actor: child, Stop: stop, Step: "flush", Cause: mailbox.ErrDeadline},
		&mailbox.Abandoned{Actor: child, Stop: stop, Step: "flush", Goroutine: "op=flush"},
		&mailbox.Progressed{Actor: child, Stop: stop, Step: "flush", Progress: progress},
		&mailbox.StepProgress{Actor: child, Step: "flush", Progress: progress},
	} {
		assert.Equal(t, n, cross(t, n))
	}
}

func TestAReportCrossesWhole(t *testing.T) {
	start := time.Unix(1700000000, 123456789)
	rep := &lifecycle.Report{
		ID: lifecycle.NewStopID(), Parent: lifecycle.NewStopID(),
		Actor: "worker", Reason: lifecycle.NewReason(lifecycle.Requested, nil), Start: start, Duration: 3 * time.Second,
		Steps: []lifecycle.StepReport{
			{Name: "flush", Policy: policy.DeferFlag, Status: lifecycle.Completed, StopRequests: 1, Deferred: 1, Start: start,
				Duration: time.Second, Progress: &lifecycle.Progress{Message: "flushed", Done: 3, Total: 3, At: start},
				Partial: "flushed 3 of 3"},
			{Name: "close", Policy: policy.Plain, Status: lifecycle.Skipped, Err: lifecycle.ErrForced},
			{Name: "hang", Policy: policy.DeferReraise, Status: lifecycle.Abandoned, Err: lifecycle.ErrAbandoned,
				Start: start, Duration: time.Second, Goroutine: "op=hang", Reraised: true},
		},
		StopRequests: 2, Forced: mailbox.ErrBrutal, Drained: 4, Refused: 5,
		Children: []*lifecycle.Report{{Actor: "worker/kid", Reason: lifecycle.NewReason(lifecycle.ParentStopping, nil)}},
	}
	back := cross(t, &mailbox.Finished{Actor: actor.NewPID("a:1", "worker"), Report: rep}).(*mailbox.Finished)
	assert.Equal(t, rep, back.Report)
	assert.Equal(t, fmt.Sprintf("%+v", rep), fmt.Sprintf("%+v", back.Report))
}

func TestARefusalCrossesWithItsMessage(t *testing.T) {
	r := &mailbox.Refused{Actor: actor.NewPID("a:1", "w"), Message: wrapperspb.String("late"),
		Reason: lifecycle.NewReason(lifecycle.Shutdown, nil), Err: mailbox.ErrStopping}
	back := cross(t, r).(*mailbox.Refused)
	assert.True(t, proto.Equal(wrapperspb.String("late"), back.Message.(proto.Message)))
	assert.Same(t, mailbox.ErrStopping, back.Err)
	assert.Equal(t, r.Error(), back.Error())

	notProto := cross(t, &mailbox.Refused{Message: struct{ X int }{1}, Err: mailbox.ErrFull}).(*mailbox.Refused)
	assert.Equal(t, Opaque{Type: "struct { X int }"}, notProto.Message)
}

func TestABodyOfALaterVersionIsIgnored(t *testing.T) {
	env := &wirepb.Envelope{Target: &wirepb.Pid{Id: "x"}}
	assert.Nil(t, decode(env))
	assert.Nil(t, encode(nil, "not a Quiesce message"))
}

func TestRegisterError(t *testing.T) {
	assert.NoError(t, RegisterError("mailbox.stopping", mailbox.ErrStopping), "the same again is fine")
	assert.ErrorIs(t, RegisterError("mailbox.stopping", errors.New("other")), ErrCode)
	assert.ErrorIs(t, RegisterError("", errors.New("x")), ErrCode)
}
