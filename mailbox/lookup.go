package mailbox

import (
	"reflect"

	"github.com/asynkron/protoactor-go/actor"
)

// mailboxField is the index of actor.ActorProcess's mailbox field. protoactor gives
// no way to reach a process's mailbox, and a parent must reach its children's to
// stop them with a reason, force them, or set their budget. Reading the field through
// reflect checks its type on every lookup instead of trusting a memory layout; if a
// protoactor release renames it, Of finds nothing and the tests that stop children
// with reasons fail loudly.
var mailboxField = func() []int {
	f, ok := reflect.TypeFor[actor.ActorProcess]().FieldByName("mailbox")
	if !ok || f.Type != reflect.TypeFor[actor.Mailbox]() {
		return nil
	}
	return f.Index
}()

var mailboxType = reflect.TypeFor[*Mailbox]()

// Of returns the Quiesce mailbox of a live local actor, or nil if pid is not one.
func Of(system *actor.ActorSystem, pid *actor.PID) *Mailbox {
	if mailboxField == nil || pid == nil {
		return nil
	}
	p, ok := system.ProcessRegistry.Get(pid)
	if !ok {
		return nil
	}
	ap, ok := p.(*actor.ActorProcess)
	if !ok {
		return nil
	}
	v := reflect.ValueOf(ap).Elem().FieldByIndex(mailboxField)
	if v.IsNil() {
		return nil
	}
	v = v.Elem()
	if v.Type() != mailboxType {
		return nil
	}
	return (*Mailbox)(v.UnsafePointer())
}
