// Package actor is the part of Quiesce users touch: declare a Component (an actor,
// its start hooks and its plan), get *actor.Props, and use protoactor as usual.
// Import it beside protoactor's own actor package under another name:
//
//	import (
//		"github.com/asynkron/protoactor-go/actor"
//		qactor "github.com/quiesce/quiesce/actor"
//	)
//
//	props, err := qactor.Component[*Conn]{
//		New: func() *Conn { return &Conn{} },
//		Steps: []qactor.Step[*Conn]{
//			{Name: "drain", Policy: policy.DeferFlag, Timeout: 5 * time.Second, Run: (*Conn).drain},
//			{Name: "close", Always: true, Run: (*Conn).close},
//		},
//	}.Props()
//
// Every protoactor stop of such an actor runs the plan (see package mailbox for the
// algorithm). Stop stops one component with a reason and the caller's own deadline
// and returns its report; Shutdown stops whole trees under one outer deadline and
// returns one tree report, and forces them when called again.
package actor
