package trigger_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/trigger"
)

func TestWatchRejectsBadInputWithAClearError(t *testing.T) {
	never := func() bool { return false }
	ok := trigger.After(time.Hour)
	var nilCtx context.Context
	for _, tc := range []struct {
		name string
		ctx  context.Context
		src  trigger.Source
		msg  string
	}{
		{"nil context", nilCtx, ok, "Watch needs a context, got nil"},
		{"nil source", context.Background(), nil, "nil source"},
		{"signal without signals", context.Background(), trigger.Signal(), "signal: no signals given"},
		{"nil signal", context.Background(), trigger.Signal(os.Interrupt, nil), "signal 2 is nil"},
		{"zero time", context.Background(), trigger.At(time.Time{}), "timeout at the zero time"},
		{"condition without name", context.Background(), trigger.Condition("", time.Second, never), "condition without a name"},
		{"nil condition", context.Background(), trigger.Condition("c", time.Second, nil), `condition "c": nil function`},
		{"zero interval", context.Background(), trigger.Condition("c", 0, never), `condition "c": interval 0s is not positive`},
		{"negative interval", context.Background(), trigger.Condition("c", -time.Second, never), `condition "c": interval -1s is not positive`},
		{"heap limit zero", context.Background(), trigger.HeapAbove(0, time.Second), `condition "live heap above 0 B": limit 0 always holds`},
		{"heap zero interval", context.Background(), trigger.HeapAbove(1<<30, 0), `condition "live heap above 1 GiB": interval 0s is not positive`},
		{"nil context source", context.Background(), trigger.Context(nilCtx), "manual: nil context"},
		{"empty any of", context.Background(), trigger.AnyOf(), "any of without parts"},
		{"empty all of", context.Background(), trigger.AllOf(), "all of without parts"},
		{"nil part", context.Background(), trigger.AnyOf(ok, nil), "any of, part 2: nil source"},
		{"nil graceful", context.Background(), trigger.Escalate(nil, ok), "escalate, graceful: nil source"},
		{"nil force", context.Background(), trigger.Escalate(ok, nil), "escalate, force: nil source"},
		{"deep bad part", context.Background(),
			trigger.AnyOf(ok, trigger.AllOf(ok, trigger.Escalate(ok, trigger.Condition("c", 0, never)))),
			`any of, part 2: all of, part 2: escalate, force: condition "c": interval 0s is not positive`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w *trigger.Watcher
			var err error
			require.NotPanics(t, func() { w, err = trigger.Watch(tc.ctx, tc.src) })
			require.ErrorIs(t, err, trigger.ErrInvalid)
			assert.Nil(t, w)
			assert.Equal(t, "trigger: invalid source: "+tc.msg, err.Error())
		})
	}
}

// Every bad part is reported, a line each, not only the first: one run of a program
// shows all there is to fix.
func TestWatchReportsEveryBadPart(t *testing.T) {
	never := func() bool { return false }
	src := trigger.Escalate(
		trigger.AnyOf(nil, trigger.After(time.Minute), trigger.Signal(os.Interrupt, nil)),
		trigger.AllOf(trigger.Condition("", 0, never), trigger.At(time.Time{})),
	)
	w, err := trigger.Watch(context.Background(), src)
	require.ErrorIs(t, err, trigger.ErrInvalid)
	assert.Nil(t, w)
	assert.Equal(t, []string{
		"trigger: invalid source: escalate, graceful: any of, part 1: nil source",
		"trigger: invalid source: escalate, graceful: any of, part 3: signal 2 is nil",
		`trigger: invalid source: escalate, force: all of, part 1: condition without a name`,
		`trigger: invalid source: escalate, force: all of, part 1: condition "": interval 0s is not positive`,
		"trigger: invalid source: escalate, force: all of, part 2: timeout at the zero time",
	}, strings.Split(err.Error(), "\n"))
}

func TestSourcesDescribeThemselves(t *testing.T) {
	never := func() bool { return false }
	for want, src := range map[string]trigger.Source{
		"signal (none)":                          trigger.Signal(),
		"timeout after 30s":                      trigger.After(30 * time.Second),
		"timeout at 2025-06-01T12:00:00Z":        trigger.At(time.Date(2025, 6, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600))),
		"condition ready (every 5s)":             trigger.Condition("ready", 5*time.Second, never),
		"manual":                                 trigger.Context(context.Background()),
		"manual, escalated by timeout after 25s": trigger.Escalate(trigger.Context(context.Background()), trigger.After(25*time.Second)),
		"any of (timeout after 1s, <nil>)":       trigger.AnyOf(trigger.After(time.Second), nil),
		"all of (manual, timeout after 1m0s)":    trigger.AllOf(trigger.Context(context.Background()), trigger.After(time.Minute)),
	} {
		assert.Equal(t, want, src.String())
	}
}

func TestFiredDescribesEachKind(t *testing.T) {
	for want, f := range map[string]*trigger.Fired{
		"signal <nil>":                    {Kind: trigger.KindSignal},
		"timeout after 30s":               {Kind: trigger.KindTimeout, After: 30 * time.Second},
		"timeout at 2025-06-01T12:00:00Z": {Kind: trigger.KindTimeout, Deadline: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)},
		"condition memory above 90%":      {Kind: trigger.KindCondition, Name: "memory above 90%"},
		"manual: deploy v2":               {Kind: trigger.KindManual, Cause: errDeploy},
		"manual":                          {Kind: trigger.KindManual},
		"all of (timeout after 1m0s, manual: deploy v2)": {Kind: trigger.KindAllOf, Parts: []*trigger.Fired{
			{Kind: trigger.KindTimeout, After: time.Minute}, {Kind: trigger.KindManual, Cause: errDeploy},
		}},
		"Kind(0)": {},
	} {
		assert.Equal(t, want, f.Error())
		assert.Equal(t, want, f.String())
	}
	var none *trigger.Fired
	assert.Equal(t, "not fired", none.Error())
	assert.Nil(t, none.Unwrap())
}

func TestErrorsIsAndAsReachIntoAnAllOf(t *testing.T) {
	inner := &trigger.Fired{Kind: trigger.KindManual, Cause: errDeploy}
	all := &trigger.Fired{Kind: trigger.KindAllOf, Parts: []*trigger.Fired{{Kind: trigger.KindTimeout, After: time.Minute}, inner}}
	assert.ErrorIs(t, all, errDeploy)
	assert.NotErrorIs(t, all, errForce)
	var pe *trigger.PanicError
	assert.False(t, strings.Contains(all.Error(), "panic"))
	assert.NotErrorAs(t, all, &pe)
}

func TestKindsRoundTripAsText(t *testing.T) {
	for _, tc := range []struct {
		kind trigger.Kind
		name string
	}{
		{trigger.KindSignal, "signal"},
		{trigger.KindTimeout, "timeout"},
		{trigger.KindCondition, "condition"},
		{trigger.KindManual, "manual"},
		{trigger.KindAllOf, "all of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.name, tc.kind.String())
			text, err := tc.kind.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.name, string(text))
			var back trigger.Kind
			require.NoError(t, back.UnmarshalText(text))
			assert.Equal(t, tc.kind, back)
		})
	}
}

func TestAnUnknownKindIsNamedButNeitherMarshalledNorParsed(t *testing.T) {
	assert.Equal(t, "Kind(0)", trigger.Kind(0).String())
	assert.Equal(t, "Kind(42)", trigger.Kind(42).String())
	_, err := trigger.Kind(42).MarshalText()
	assert.Error(t, err)

	k := trigger.KindManual
	err = k.UnmarshalText([]byte("all_of"))
	require.Error(t, err)
	assert.Equal(t, `trigger: unknown kind "all_of" (valid: signal, timeout, condition, manual, all of)`, err.Error())
	assert.Equal(t, trigger.KindManual, k, "a rejected name must not change the kind")
}
