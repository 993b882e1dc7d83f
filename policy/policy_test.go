package policy_test

// The Policy and Origin enums, and the inputs Run refuses.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/policy"
)

func TestPolicyNamesRoundTripThroughText(t *testing.T) {
	for _, tc := range []struct {
		p    policy.Policy
		name string
	}{
		{policy.Plain, "plain"},
		{policy.DeferFlag, "defer-flag"},
		{policy.DeferReraise, "defer-reraise"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.name, tc.p.String())
			assert.True(t, tc.p.Valid())

			text, err := tc.p.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.name, string(text))

			got := policy.Policy(99)
			require.NoError(t, got.UnmarshalText([]byte(tc.name)))
			assert.Equal(t, tc.p, got)
		})
	}
}

func TestZeroPolicyIsPlain(t *testing.T) {
	var p policy.Policy
	assert.Equal(t, policy.Plain, p)
	assert.False(t, p.Deferred())
	assert.True(t, policy.DeferFlag.Deferred())
	assert.True(t, policy.DeferReraise.Deferred())
}

func TestPolicyWorksAsJSONText(t *testing.T) {
	var cfg struct{ Policy policy.Policy }
	require.NoError(t, json.Unmarshal([]byte(`{"Policy":"defer-reraise"}`), &cfg))
	assert.Equal(t, policy.DeferReraise, cfg.Policy)

	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	assert.JSONEq(t, `{"Policy":"defer-reraise"}`, string(b))

	err = json.Unmarshal([]byte(`{"Policy":"shield"}`), &cfg)
	require.ErrorIs(t, err, policy.ErrUnknownPolicy)
}

func TestUnknownPolicyNameIsAnErrorListingTheValidOnes(t *testing.T) {
	for _, name := range []string{"", "Plain", "defer_flag", "defer-reraise ", "shield"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			p := policy.DeferFlag
			err := p.UnmarshalText([]byte(name))
			require.ErrorIs(t, err, policy.ErrUnknownPolicy)
			assert.Contains(t, err.Error(), fmt.Sprintf("%q", name))
			for _, valid := range []string{"plain", "defer-flag", "defer-reraise"} {
				assert.Contains(t, err.Error(), valid)
			}
			assert.Equal(t, policy.DeferFlag, p, "a failed decode leaves the policy as it was")
		})
	}
}

func TestUnknownPolicyValueDoesNotMarshal(t *testing.T) {
	for _, p := range []policy.Policy{3, 4, 255} {
		t.Run(p.String(), func(t *testing.T) {
			assert.False(t, p.Valid())
			assert.False(t, p.Deferred())
			assert.Equal(t, fmt.Sprintf("Policy(%d)", uint8(p)), p.String())
			text, err := p.MarshalText()
			require.ErrorIs(t, err, policy.ErrUnknownPolicy)
			assert.Nil(t, text)
		})
	}
}

func TestOriginNamesItself(t *testing.T) {
	assert.Equal(t, "caller", policy.Caller.String())
	assert.Equal(t, "core", policy.Core.String())
	assert.Equal(t, "Origin(0)", policy.Origin(0).String(), "the zero Origin is neither")
	assert.NotEqual(t, policy.Caller, policy.Origin(0))
}

// TestInvalidInputIsAnErrorAndOpIsNotInvoked: Run refuses what it cannot run, before
// it runs anything.
func TestInvalidInputIsAnErrorAndOpIsNotInvoked(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p       policy.Policy
		nilOp   bool
		opts    []policy.Option
		unknown bool // the error matches ErrUnknownPolicy
	}{
		{name: "nil op under plain", p: policy.Plain, nilOp: true},
		{name: "nil op under plain with options", p: policy.Plain, nilOp: true, opts: []policy.Option{policy.Timeout(time.Second)}},
		{name: "nil op under defer-flag", p: policy.DeferFlag, nilOp: true},
		{name: "nil op under defer-reraise", p: policy.DeferReraise, nilOp: true},
		{name: "policy value 3", p: 3, unknown: true},
		{name: "policy value 255 with options", p: 255, unknown: true, opts: []policy.Option{policy.Grace(time.Second)}},
		{name: "negative timeout under plain", p: policy.Plain, opts: []policy.Option{policy.Timeout(-time.Nanosecond)}},
		{name: "negative timeout under defer-flag", p: policy.DeferFlag, opts: []policy.Option{policy.Timeout(-time.Second)}},
		{name: "negative grace under plain", p: policy.Plain, opts: []policy.Option{policy.Grace(-time.Second)}},
		{name: "negative grace under defer-reraise", p: policy.DeferReraise, opts: []policy.Option{policy.Grace(-1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			op := func(context.Context) (int, error) { calls++; return 1, nil }
			if tc.nilOp {
				op = nil
			}
			out, err := run(context.Background(), tc.p, "connect", op, tc.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), `"connect"`, "the error names the op")
			assert.Equal(t, tc.unknown, errors.Is(err, policy.ErrUnknownPolicy))
			assert.Zero(t, calls, "op must not be invoked")
			assert.Zero(t, out)
			var ce *policy.CancelError
			assert.NotErrorAs(t, err, &ce, "invalid input is not a cancellation")

			var doOp func(context.Context) error
			if !tc.nilOp {
				doOp = func(context.Context) error { calls++; return nil }
			}
			requested, err := do(context.Background(), tc.p, "connect", doOp, tc.opts...)
			require.Error(t, err)
			assert.False(t, requested)
			assert.Zero(t, calls, "Do must not invoke op either")
		})
	}
}

// TestZeroBudgetsAreValidAndMeanNoBound: the boundary of the negative check.
func TestZeroBudgetsAreValidAndMeanNoBound(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			calls := 0
			out, err := run(context.Background(), p, "connect", func(ctx context.Context) (int, error) {
				calls++
				_, hasDeadline := ctx.Deadline()
				assert.False(t, hasDeadline, "Timeout(0) sets no deadline")
				return 7, nil
			}, policy.Timeout(0), policy.Grace(0))
			require.NoError(t, err)
			assert.Equal(t, 7, out.Value)
			assert.Equal(t, 1, calls)
		})
	}
}
