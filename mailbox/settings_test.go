package mailbox_test

import (
	"fmt"
	"sync"
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
		p := newProbe(t)
		plan := lifecycle.MustPlan(p.step("close", policy.Plain, nil))
		var mb *mailbox.Mailbox
		if on {
			mailbox.Configure(sys, mailbox.Settings{Events: true})
			_, mb = spawn(t, sys, props(t, mailbox.Config{Plan: plan}, p.Receive)) // waits for Running, through events
		} else {
			mb = mailbox.Of(sys, sys.Root.Spawn(props(t, mailbox.Config{Plan: plan}, p.Receive)))
		}
		var mu sync.Mutex
		var types []string
		sub := sys.EventStream.Subscribe(func(evt any) {
			switch evt.(type) {
			case *mailbox.PhaseChanged, *mailbox.StepFinished, *mailbox.StepProgress, mailbox.Notice:
				mu.Lock()
				types = append(types, fmt.Sprintf("%T", evt))
				mu.Unlock()
			}
		})
		recv(t, mb.Stop(nil, nil).Done(), "the stop")
		sys.EventStream.Unsubscribe(sub)
		mu.Lock()
		if on {
			assert.Equal(t, []string{"*mailbox.PhaseChanged", "*mailbox.StepFinished", "*mailbox.Finished", "*mailbox.PhaseChanged"},
				types, "Stopping, the step, the report, Stopped")
		} else {
			assert.Empty(t, types, "off by default")
		}
		mu.Unlock()
	}
}

func TestPIDsReadAsPeopleReadThem(t *testing.T) {
	assert.Equal(t, "supervisor/w3", mailbox.PIDText(actor.NewPID("nonhost", "supervisor/w3")))
	assert.Equal(t, "10.0.0.7:8090/supervisor/w3", mailbox.PIDText(actor.NewPID("10.0.0.7:8090", "supervisor/w3")))
	assert.Equal(t, "actor", mailbox.PIDText(nil))
}
