package cluster_test

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qcluster "github.com/quiesce/quiesce/cluster"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// A grain that is stopping refuses a request. protoactor's DefaultContext hands the
// refusal back as the answer and sends nothing again (its retries are for timeouts
// and dead letters, under the same deadline as each attempt: default_context.go:59,
// 84); the Caller sends it again, to the identity's next activation, under one
// deadline, and it is served.
func TestCallerRetriesARefusalWhereDefaultContextDoesNot(t *testing.T) {
	f := take(t, retryFleet)
	tr, member, client := f.tr, f.ms[0], f.client
	defer stop(t, client, member)
	caller, err := qcluster.NewCaller(client.Cluster, qcluster.CallerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	values(t, collect(t, send(caller, "z", "first-", 1, bound), 1, "the first request"))

	for len(tr.posted) > 0 {
		<-tr.posted // the first request's
	}
	gate := make(chan struct{})
	tr.mu.Lock()
	tr.gate = gate
	tr.mu.Unlock()
	pid, ok := client.Cluster.PidCache.Get("z", kind)
	if !ok {
		t.Fatal("the client has no PID for z")
	}
	blocked := send(caller, "z", "blocked-", 1, bound)
	waitN(t, tr.posted, 1, "a request to reach z")
	// z begins to stop (as it would for any reason), its request still running.
	mb := mailbox.Of(member.System(), actor.NewPID(pid.Address, pid.Id))
	if mb == nil {
		t.Fatal("z is not a component of its member")
	}
	mb.Stop(lifecycle.NewReason(lifecycle.Requested, nil), nil)

	res, err := client.Cluster.Request("z", kind, wrapperspb.String("default"), cluster.WithTimeout(bound))
	if _, refused := res.(*mailbox.Refused); err != nil || !refused {
		t.Errorf("DefaultContext answered %v, %v: want the refusal as its answer (it does not retry it)", res, err)
	}

	later := send(caller, "z", "later-", 1, bound)
	tr.mu.Lock()
	tr.gate = nil
	tr.mu.Unlock()
	close(gate)
	rs := append(collect(t, blocked, 1, "the blocked request"), collect(t, later, 1, "the Caller's request")...)
	if rs[1].err != nil || rs[1].value != 3 {
		t.Errorf("the Caller's request: %d, %v; want 3, served by z's next activation", rs[1].value, rs[1].err)
	}
}
