package mailbox

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/extensions"
)

// Settings are what an actor system's Quiesce mailboxes do beyond their own Config:
// what they publish for observers. The zero value is the default.
type Settings struct {
	// Events publishes, on the system's EventStream, every lifecycle event
	// (PhaseChanged, StepFinished, StepProgress) and every notice, beside the
	// notices a parent gets in Receive. Off by default: protoactor's EventStream
	// always has subscribers, so an event costs its allocation and a call to each
	// of them, several times per stop, whether anybody listens or not.
	Events bool
	// ActorLabels labels the goroutine that runs a step with the actor as well as
	// the step (pprof labels op=<step> actor=<actor>), so that a goroutine profile
	// tells apart the goroutines many actors abandoned in one step. Off by default:
	// it costs three small allocations per step; the label op=<step> is free, and
	// the Abandoned notice and the report name the actor either way.
	ActorLabels bool
}

// Configure sets system's Settings for the Quiesce mailboxes it spawns from now on.
// Call it once the system is made, before spawning: protoactor's extension registry
// is not safe to change while actors are being spawned.
func Configure(system *actor.ActorSystem, s Settings) {
	system.Extensions.Register(&settingsExt{s})
}

var settingsID = extensions.NextExtensionID()

type settingsExt struct{ Settings }

func (*settingsExt) ExtensionID() extensions.ExtensionID { return settingsID }

// defaults are the Settings of a system that was never configured.
var defaults = &Settings{}

// settingsOf returns system's Settings.
func settingsOf(system *actor.ActorSystem) *Settings {
	if e, ok := system.Extensions.Get(settingsID).(*settingsExt); ok {
		return &e.Settings
	}
	return defaults
}
