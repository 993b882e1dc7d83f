package remote

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
)

// StopRemote stops protoactor remote r of sys as remote.Shutdown(true) does, but
// for the stop of its endpoint manager, which sets a field to nil that endpoint
// writers read without a lock when a peer has gone first (a data race in
// protoactor, and a nil dereference if the read comes late): it stops the remote
// activator and the endpoint supervisor, and with it every endpoint writer, which
// closes its connection, then the gRPC server. The actor system goes on: shut it
// down after, once (a second ActorSystem.Shutdown panics).
func StopRemote(sys *actor.ActorSystem, r *remote.Remote) {
	_ = sys.Root.StopFuture(sys.NewLocalPID("activator")).Wait()
	_ = sys.Root.StopFuture(sys.NewLocalPID("EndpointSupervisor")).Wait()
	r.Shutdown(false)
}
