package mailbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

func nop(context.Context) error { return nil }

func TestProducerRefusesABadConfigAndNamesTheProblem(t *testing.T) {
	tooTight, err := lifecycle.NewPlanWithin(2*time.Second,
		lifecycle.Step{Name: "flush", Timeout: 2 * time.Second, Run: nop})
	require.NoError(t, err)
	tests := []struct {
		name string
		cfg  mailbox.Config
		want []string // each must appear in the error
	}{
		{"a negative capacity", mailbox.Config{Capacity: -1}, []string{"capacity -1 is negative"}},
		{"a negative AbandonAfter", mailbox.Config{AbandonAfter: -time.Second}, []string{"AbandonAfter -1s is negative"}},
		{"a zero budget", mailbox.Config{Budget: mailbox.After(0)}, []string{"budget 0s: must be positive"}},
		{"a negative budget", mailbox.Config{Budget: mailbox.After(-1)}, []string{"budget -1ns: must be positive"}},
		{
			"a step named children that is not mailbox.ChildrenStep",
			mailbox.Config{Plan: lifecycle.MustPlan(
				lifecycle.Step{Name: "flush", Run: nop},
				lifecycle.Step{Name: "children", Run: nop})},
			[]string{`plan step 2 "children"`, "reserved for mailbox.ChildrenStep"},
		},
		{
			"a plan whose deadline leaves no room to stop children first",
			mailbox.Config{Plan: tooTight},
			[]string{"leaves no time under its deadline to stop children first", "place mailbox.ChildrenStep"},
		},
		{
			"every problem at once",
			mailbox.Config{Capacity: -2, AbandonAfter: -1, Budget: mailbox.After(-time.Second)},
			[]string{"capacity -2 is negative", "AbandonAfter -1ns is negative", "budget -1s: must be positive"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mailbox.Producer(tt.cfg)
			require.ErrorIs(t, err, mailbox.ErrConfig)
			assert.Nil(t, p)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

func TestProducerAcceptsAGoodConfig(t *testing.T) {
	roomy, err := lifecycle.NewPlanWithin(3*time.Second,
		lifecycle.Step{Name: "flush", Timeout: 2 * time.Second, Run: nop})
	require.NoError(t, err)
	placed, err := lifecycle.NewPlanWithin(3*time.Second,
		lifecycle.Step{Name: "flush", Timeout: 2 * time.Second, Run: nop},
		mailbox.ChildrenStep(policy.DeferFlag, time.Second))
	require.NoError(t, err)
	tests := []struct {
		name string
		cfg  mailbox.Config
	}{
		{"the zero config", mailbox.Config{}},
		{"a bounded queue", mailbox.Config{Capacity: 1}},
		{"an AbandonAfter", mailbox.Config{AbandonAfter: time.Millisecond}},
		{"a positive budget", mailbox.Config{Budget: mailbox.After(time.Nanosecond)}},
		{"a brutal budget", mailbox.Config{Budget: mailbox.Brutal}},
		{"an infinite budget", mailbox.Config{Budget: mailbox.Infinity}},
		{"reverse order", mailbox.Config{Order: mailbox.Reverse}},
		{"a plan that places mailbox.ChildrenStep", mailbox.Config{Plan: lifecycle.MustPlan(
			lifecycle.Step{Name: "flush", Run: nop}, mailbox.ChildrenStep(policy.Plain, 0))}},
		{"a plan whose deadline leaves room to stop children first", mailbox.Config{Plan: roomy}},
		{"a plan under a deadline that places mailbox.ChildrenStep itself", mailbox.Config{Plan: placed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mailbox.Producer(tt.cfg)
			require.NoError(t, err)
			require.NotNil(t, p)
			assert.IsType(t, &mailbox.Mailbox{}, p())
		})
	}
}

func TestABudgetPrintsAndTellsItsLimit(t *testing.T) {
	tests := []struct {
		name    string
		budget  mailbox.Budget
		str     string
		limit   time.Duration
		limited bool
	}{
		{"the zero budget is infinity", mailbox.Budget{}, "infinity", 0, false},
		{"infinity has no limit", mailbox.Infinity, "infinity", 0, false},
		{"brutal is a limit of zero", mailbox.Brutal, "brutal", 0, true},
		{"after is a limit of its duration", mailbox.After(1500 * time.Millisecond), "1.5s", 1500 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.str, tt.budget.String())
			limit, limited := tt.budget.Limit()
			assert.Equal(t, tt.limit, limit)
			assert.Equal(t, tt.limited, limited)
		})
	}
	assert.Equal(t, mailbox.Infinity, mailbox.Budget{}, "the zero value is Infinity")
	assert.NotEqual(t, mailbox.Brutal, mailbox.After(0), "After(0) is no Brutal: Producer refuses it")
}

func TestAnOrderPrintsItsName(t *testing.T) {
	assert.Equal(t, "parallel", mailbox.Parallel.String())
	assert.Equal(t, "reverse", mailbox.Reverse.String())
	assert.Equal(t, mailbox.Parallel, mailbox.Order(0), "the zero value is Parallel")
}

func TestChildrenIsTheReservedStep(t *testing.T) {
	s := mailbox.ChildrenStep(policy.DeferReraise, time.Second)
	assert.Equal(t, "children", s.Name)
	assert.Equal(t, policy.DeferReraise, s.Policy)
	assert.Equal(t, time.Second, s.Timeout)
	assert.NotNil(t, s.Run)
}
