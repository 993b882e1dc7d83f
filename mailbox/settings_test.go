package mailbox_test

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// Events cost on every stop, so a system publishes them only when it asks for them;
// notices to the parent's Receive do not depend on it.
func TestEventsArePublishedOnlyWhenTheSystemAsksForThem(t *testing.T) {
	for _, on := range []bool{false, true} {
		sys := actor.NewActorSystem()
		if on {
			mailbox.Configure(sys, mailbox.Settings{Events: true})
		}
		var seen []any
		sub := sys.EventStream.Subscribe(func(evt any) {
			switch evt.(type) {
			case *mailbox.PhaseChanged, *mailbox.StepFinished, *mailbox.StepProgress, mailbox.Notice:
				seen = append(seen, evt)
			}
		})
		p := newProbe()
		plan := lifecycle.MustPlan(p.step("close", policy.Plain, nil))
		pid := sys.Root.Spawn(props(t, mailbox.Config{Plan: plan}, p.Receive))
		recv(t, mailbox.Of(sys, pid).Request(nil, nil).Done(), "the stop")
		sys.EventStream.Unsubscribe(sub)
		if on {
			// Running, Stopping, Stopped; one step; no notice (no parent).
			assert.Len(t, seen, 4, "on: %v", seen)
		} else {
			assert.Empty(t, seen, "off by default")
		}
	}
}

func TestPIDsReadAsPeopleReadThem(t *testing.T) {
	assert.Equal(t, "supervisor/w3", mailbox.PIDText(actor.NewPID("nonhost", "supervisor/w3")))
	assert.Equal(t, "10.0.0.7:8090/supervisor/w3", mailbox.PIDText(actor.NewPID("10.0.0.7:8090", "supervisor/w3")))
	assert.Equal(t, "actor", mailbox.PIDText(nil))
}
