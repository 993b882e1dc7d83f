package mailbox_test

import (
	"errors"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

var errHook = errors.New("no database")

func TestTheStartHookRunsAfterStartedAndDecidesWhetherTheActorRuns(t *testing.T) {
	tests := []struct {
		name   string
		hook   func(actor.Context) error
		want   []move
		reason lifecycle.ReasonKind // of the stop
		says   string               // what the reason says
		cause  error                // what it matches, if anything
	}{
		{"a hook that returns nil lets the actor run", func(actor.Context) error { return nil },
			allPhases, lifecycle.Requested, "stop requested", nil},
		{"a hook that returns an error stops the actor", func(actor.Context) error { return errHook },
			neverRunning, lifecycle.StartFailed, "start failed: no database", errHook},
		{"a hook that panics stops the actor", func(actor.Context) error { panic("boom") },
			neverRunning, lifecycle.StartFailed, "start failed: start hook panicked: boom", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys := newSystem()
			phases, unsubscribe := events[*mailbox.PhaseChanged](sys)
			defer unsubscribe()
			ev := make(chan string, 8)
			mbc := make(chan *mailbox.Mailbox, 1)
			hook := func(c actor.Context) error {
				mb := mailbox.Of(c.ActorSystem(), c.Self())
				mbc <- mb
				ev <- "hook in " + mb.Phase().String()
				return tt.hook(c)
			}
			pid := sys.Root.Spawn(props(t, mailbox.Config{Start: hook}, func(c actor.Context) {
				if _, ok := c.Message().(*actor.Started); ok {
					ev <- "started"
				}
			}))
			mb := recv(t, mbc, "the start hook to run")
			var got []move
			if tt.want[0].to == lifecycle.Running {
				first := recv(t, phases, "the move to Running")
				got = append(got, move{first.From, first.To})
				sys.Root.Stop(pid)
			}
			rest, reasons := moves(t, phases, pid)
			got = append(got, rest...)

			assert.Equal(t, tt.want, got, "Running only once the hook has returned nil")
			assert.Equal(t, []string{"started", "hook in starting"}, recvN(t, ev, 2, "Started and the hook"))
			require.NotEmpty(t, reasons)
			assert.Equal(t, tt.reason, reasons[0].Kind)
			assert.EqualError(t, reasons[0], tt.says)
			if tt.cause != nil {
				assert.ErrorIs(t, reasons[0], tt.cause, "the hook's error is the reason's cause")
			}
			recv(t, mb.Ticket().Done(), "the stop to end")
			assert.Same(t, reasons[0], mb.Ticket().Report().Reason)
			assert.Equal(t, lifecycle.Stopped, mb.Phase())
		})
	}
}
