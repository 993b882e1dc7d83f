package mailbox_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/mailbox"
)

func TestBudgetsAndOrdersRoundTripAsTextAndRejectWhatTheyCannotBe(t *testing.T) {
	for _, b := range []mailbox.Budget{mailbox.Infinity, mailbox.Brutal, mailbox.After(1500 * time.Millisecond)} {
		text, err := b.MarshalText()
		require.NoError(t, err)
		var back mailbox.Budget
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, b, back, "%s", text)
	}
	for _, bad := range []string{"forever", "0s", "-1s", ""} {
		var b mailbox.Budget
		assert.Error(t, b.UnmarshalText([]byte(bad)), bad)
		assert.Equal(t, mailbox.Infinity, b, "%q leaves the budget alone", bad)
	}
	_, err := mailbox.After(0).MarshalText()
	assert.Error(t, err)

	for _, o := range []mailbox.Order{mailbox.Parallel, mailbox.Reverse} {
		text, err := o.MarshalText()
		require.NoError(t, err)
		var back mailbox.Order
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, o, back)
	}
	var o mailbox.Order
	assert.ErrorContains(t, o.UnmarshalText([]byte("random")), "valid: parallel, reverse")
	_, err = mailbox.Order(7).MarshalText()
	assert.Error(t, err)
	assert.Equal(t, "Order(7)", mailbox.Order(7).String())
	_, err = mailbox.Producer(mailbox.Config{Order: 7})
	assert.ErrorIs(t, err, mailbox.ErrConfig, "an unknown order is a bad config")
}
