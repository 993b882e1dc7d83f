package mailbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

var errBoom = errors.New("boom")

// life is an actor that reports what protoactor tells it and the strings it gets,
// panics on "crash", and on "block" waits for release.
type life struct {
	t       testing.TB
	ev      chan string
	entered chan struct{}
	release chan struct{}
}

func newLife(t testing.TB) *life {
	return &life{t: t, ev: make(chan string, 64), entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (l *life) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		l.ev <- "started"
	case *actor.Restarting:
		l.ev <- "restarting"
	case *actor.Stopping:
		l.ev <- "stopping"
	case *actor.Stopped:
		l.ev <- "stopped"
	case string:
		switch m {
		case "crash":
			panic(errBoom)
		case "block":
			l.entered <- struct{}{}
			<-l.release
		}
		l.ev <- "got " + m
	}
}

// until returns what l reports, up to and including last, or fails the test.
func (l *life) until(last string) []string {
	l.t.Helper()
	return recvUntil(l.t, l.ev, "the actor to report "+last, func(e string) bool { return e == last })
}

// supervised spawns a parent with protoactor's own mailbox whose strategy answers
// every failure with d, and the child it spawns from p. It returns the child.
func supervised(t testing.TB, sys *actor.ActorSystem, d actor.Directive, p *actor.Props) *actor.PID {
	t.Helper()
	kid := make(chan *actor.PID, 1)
	decide := func(any) actor.Directive { return d }
	sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			kid <- c.Spawn(p)
		}
	}, actor.WithSupervisor(actor.NewOneForOneStrategy(10, time.Minute, decide))))
	return recv(t, kid, "the parent to spawn its child")
}

func TestAPanicWhileRunningIsEscalatedAsTheStockMailboxDoes(t *testing.T) {
	tests := []struct {
		name      string
		directive actor.Directive
		stock     []string // what the actor sees with protoactor's own mailbox
		quiesce   []string // with Quiesce's: the same, and the plan where the actor stops
		reason    lifecycle.ReasonKind
	}{
		{"a resume directive goes on with the next message", actor.ResumeDirective,
			[]string{"started", "got next"}, []string{"started", "got next"}, 0},
		{"a restart directive starts a new incarnation", actor.RestartDirective,
			[]string{"started", "restarting", "started", "got next"},
			[]string{"started", "step cleanup", "restarting", "started", "got next"}, lifecycle.Restarting},
		{"a stop directive stops the actor", actor.StopDirective,
			[]string{"started", "stopping", "stopped"},
			[]string{"started", "step cleanup", "stopping", "stopped"}, lifecycle.Requested},
	}
	for _, tt := range tests {
		for _, quiesce := range []bool{false, true} {
			name := tt.name + " with the stock mailbox"
			if quiesce {
				name = tt.name + " with the Quiesce mailbox"
			}
			t.Run(name, func(t *testing.T) {
				sys := newSystem()
				finished, unsubscribe := events[*mailbox.Finished](sys)
				defer unsubscribe()
				l := newLife(t)
				p := actor.PropsFromFunc(l.Receive)
				want := tt.stock
				if quiesce {
					plan := lifecycle.MustPlan(lifecycle.Step{Name: "cleanup", Run: func(ctx context.Context) error {
						l.ev <- "step cleanup"
						return nil
					}})
					p = props(t, mailbox.Config{Plan: plan}, l.Receive)
					want = tt.quiesce
				}
				pid := supervised(t, sys, tt.directive, p)
				sys.Root.Send(pid, "crash")
				last := "stopped"
				if tt.directive != actor.StopDirective {
					sys.Root.Send(pid, "next")
					last = "got next"
				}
				assert.Equal(t, want, l.until(last))
				if quiesce && tt.reason != 0 {
					f := recv(t, finished, "the Finished notice")
					assert.Equal(t, tt.reason, f.Report.Reason.Kind)
					if tt.reason == lifecycle.Restarting {
						assert.ErrorIs(t, f.Report.Reason, errBoom, "a restart's reason carries the failure")
					}
				}
				if mb := mailbox.Of(sys, pid); mb != nil {
					assert.Equal(t, lifecycle.Running, mb.Phase())
					recv(t, mb.Stop(nil, nil).Done(), "the stop to end")
				}
			})
		}
	}
}

func TestAPanicInADrainedMessageEndsTheDrainAndTheDirectiveThatFollowsIsARequest(t *testing.T) {
	for name, d := range map[string]actor.Directive{"restart": actor.RestartDirective, "stop": actor.StopDirective} {
		t.Run("a "+name+" directive", func(t *testing.T) {
			sys := newSystem()
			deferred, unsubscribe := events[*mailbox.DeferredCancel](sys)
			defer unsubscribe()
			l := newLife(t)
			gate := make(chan struct{})
			plan := lifecycle.MustPlan(lifecycle.Step{Name: "cleanup", Policy: policy.DeferFlag, Run: func(context.Context) error {
				l.ev <- "step cleanup"
				<-gate
				return nil
			}})
			pid := supervised(t, sys, d, props(t, mailbox.Config{Plan: plan}, l.Receive))
			require.Equal(t, "started", recv(t, l.ev, "the actor to start"))
			mb := mailbox.Of(sys, pid)
			sys.Root.Send(pid, "block")
			recv(t, l.entered, "the actor to begin handling \"block\"")
			for _, m := range []string{"a", "crash", "b", "c"} {
				sys.Root.Send(pid, m)
			}
			sys.Root.Stop(pid)
			close(l.release)

			assert.Equal(t, []string{"got block", "got a", "step cleanup"}, l.until("step cleanup"),
				"the drain ends at the panic; b and c never reach Receive")
			n := recv(t, deferred, "the DeferredCancel notice") // the parent's directive reached the step as one more request
			assert.True(t, pid.Equal(n.Actor))
			close(gate)
			assert.Equal(t, []string{"stopping", "stopped"}, l.until("stopped"), "no restart, no resurrection")

			recv(t, mb.Ticket().Done(), "the stop to end")
			rep := mb.Ticket().Report()
			assert.Equal(t, lifecycle.Requested, rep.Reason.Kind, "the stop that began it stays the reason")
			assert.Equal(t, 2, rep.Drained, "a, and the message that panicked")
			assert.Equal(t, 2, rep.Refused, "b and c")
			assert.Equal(t, 1, rep.StopRequests)
			require.Len(t, rep.Steps, 1)
			assert.Equal(t, lifecycle.Completed, rep.Steps[0].Status, "the plan ran to its end")
			assert.Equal(t, 1, rep.Steps[0].Deferred)
			assert.Equal(t, lifecycle.Stopped, mb.Phase())
			assert.Empty(t, l.ev)
		})
	}
}
