package mailbox

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/extensions"
)

// Remote carries a mailbox's refusals and notices to actors on other nodes of a
// protoactor remote. Only protobuf messages cross protoactor remote, and Quiesce's
// are Go values: without a Remote, a refusal to a requester on another node is
// dropped by protoactor's serializer (the requester times out) and a notice to an
// actor there is not sent. github.com/quiesce/quiesce/remote provides one; the
// mailbox knows nothing of protobuf.
//
// A mailbox offers its Remote every refusal and notice whose recipient is not an
// actor of this system, and asks it, before it sends a notice to a local actor
// that is not a Quiesce component, whether that actor takes notices at all.
type Remote interface {
	// Deliver sends msg, a *Refused or a Notice, to pid, an actor of another node.
	// It is called on the goroutine that refuses or notifies, which may be
	// protoactor's, so it must not block.
	Deliver(pid *actor.PID, msg any)
	// Deaf reports whether pid, a local actor, must not be sent notices: protoactor
	// remote's activator, the parent of every component spawned from another node,
	// logs an error for each message it does not know.
	Deaf(pid *actor.PID) bool
}

var remoteExtension = extensions.NextExtensionID()

// remoteHolder is the actor system's extension that holds its Remote. It is
// registered once; installing again, or removing, swaps the pointer in it.
type remoteHolder struct{ r atomic.Pointer[Remote] }

func (*remoteHolder) ExtensionID() extensions.ExtensionID { return remoteExtension }

// InstallRemote makes r the Remote of system's mailboxes; nil removes it. Install it
// before system takes part in remote traffic (the first install registers an
// extension of the system, which protoactor does not guard with a lock).
func InstallRemote(system *actor.ActorSystem, r Remote) {
	h, _ := system.Extensions.Get(remoteExtension).(*remoteHolder)
	if h == nil {
		if r == nil {
			return
		}
		h = new(remoteHolder)
		system.Extensions.Register(h)
	}
	if r == nil {
		h.r.Store(nil)
		return
	}
	h.r.Store(&r)
}

// InstalledRemote returns system's Remote, or nil.
func InstalledRemote(system *actor.ActorSystem) Remote {
	if h, _ := system.Extensions.Get(remoteExtension).(*remoteHolder); h != nil {
		if r := h.r.Load(); r != nil {
			return *r
		}
	}
	return nil
}

// RemoteFor returns system's Remote if pid is an actor of another node, and nil if
// pid is local or no Remote is installed.
func RemoteFor(system *actor.ActorSystem, pid *actor.PID) Remote {
	if pid == nil || IsLocal(system, pid) {
		return nil
	}
	return InstalledRemote(system)
}

// localAddress is the address protoactor gives the PIDs of a system before its
// remote starts (actor.localAddress, unexported): those PIDs stay local after.
const localAddress = "nonhost"

// IsLocal reports whether pid is an actor of system: it has the system's address,
// or the one protoactor gives PIDs made before remote started.
func IsLocal(system *actor.ActorSystem, pid *actor.PID) bool {
	return pid.Address == localAddress || pid.Address == system.Address()
}

// routed offers msg, a *Refused or a Notice for pid, to the installed Remote, and
// reports whether it took it: delivered to another node, or dropped for a local
// actor that is deaf to notices. Without a Remote it takes nothing.
func routed(system *actor.ActorSystem, pid *actor.PID, msg any) bool {
	r := InstalledRemote(system)
	if r == nil {
		return false
	}
	if !IsLocal(system, pid) {
		r.Deliver(pid, msg)
		return true
	}
	_, notice := msg.(Notice)
	return notice && r.Deaf(pid)
}
