package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qactor "github.com/quiesce/quiesce/actor"
	qcluster "github.com/quiesce/quiesce/cluster"
	"github.com/quiesce/quiesce/internal/clusternode"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// A grain whose plan outlasts the leave's deadline is forced, as the package doc
// says, and its Always handoff step still saves its count for the new owner: the
// next request there answers the count plus one. New activations on the leaving
// member are refused, as the member leaving (or, once protoactor's placement has
// poisoned them, as a grain stopping), until it has gone.
func TestLeaveForcesAGrainPastTheDeadlineAndStillHandsItsStateOff(t *testing.T) {
	f := take(t, deadlineFleet)
	tr, ms, client := f.tr, f.ms, f.client
	caller, err := qcluster.NewCaller(client.Cluster, qcluster.CallerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	leaver, stay := owner(ms, "x")
	defer stop(t, append([]*clusternode.Node{client}, stay...)...)
	values(t, collect(t, send(caller, "x", "before-", 5, bound), 5, "five requests"))

	hold := make(chan struct{})
	defer close(hold)
	tr.mu.Lock()
	tr.hold = hold // the close step waits: only the force ends it
	tr.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	type left struct {
		rep *qcluster.Report
		err error
	}
	done := make(chan left, 1)
	go func() {
		rep, err := leaver.Member.Leave(ctx)
		done <- left{rep, err}
	}()
	// (Once the drain has begun, which is after the test provider has changed
	// every topology: protoactor's placement broadcasts a grain's end reading the
	// member list without its lock, member_list.go:227-236, a data race with the
	// topology's update if they came at once.)
	select {
	case <-leaver.Member.Draining():
	case <-time.After(bound):
		t.Fatalf("waited %v for the member to begin its drain", bound)
	}
	// An activation asked of the leaving member is refused, as the member leaving.
	res, err := leaver.System().Root.RequestFuture(actor.NewPID(leaver.System().Address(), "partition-activator"),
		&cluster.ActivationRequest{ClusterIdentity: cluster.NewClusterIdentity("y", kind)}, bound).Result()
	if err != nil {
		t.Fatal(err)
	}
	act, ok := res.(*cluster.ActivationResponse)
	if !ok || act.Pid == nil {
		t.Fatalf("the leaving member's placement answered %v", res)
	}
	pid := act.Pid
	_, err = qactor.Result(leaver.System().Root.RequestFuture(pid, wrapperspb.String("y-1"), bound))
	var refused *mailbox.Refused
	switch {
	case !errors.As(err, &refused):
		t.Errorf("a new activation on the leaving member: %v, want a refusal", err)
	case refused.Reason != nil && refused.Reason.Kind == lifecycle.Poisoned:
		// protoactor's placement saw the leaver's topology first, and poisoned the
		// activation it no longer owns: it refuses as a grain stopping (see the
		// package doc), and the Caller looks elsewhere all the same.
		if !errors.Is(err, mailbox.ErrStopping) {
			t.Errorf("a new activation on the leaving member, poisoned: %v, want ErrStopping", err)
		}
	case !errors.Is(err, qcluster.ErrMemberLeaving):
		t.Errorf("a new activation on the leaving member: %v, want a refusal for the member leaving", err)
	}

	var l left
	select {
	case l = <-done:
	case <-time.After(bound):
		t.Fatalf("waited %v for the leave", bound)
	}
	if l.err != nil {
		t.Fatal(l.err)
	}
	t.Logf("%v", l.rep)
	var x *lifecycle.Report
	for _, r := range l.rep.Tree.Roots {
		if len(r.Steps) > 0 && r.Verdict() != lifecycle.AllCompleted {
			x = r
		}
	}
	if x == nil || x.Verdict() != lifecycle.SomeForced || !errors.Is(x.Forced, mailbox.ErrDeadline) {
		t.Fatalf("want x forced by the leave's deadline: %v", l.rep.Tree)
	}
	// Sent: confirmed, or not (the confirmation comes back through the peer's
	// endpoint to the leaving member, which protoactor may drop: see the package
	// doc); the next request shows it arrived.
	if sent := l.rep.HandedOff + len(l.rep.HandoffUnconfirmed); sent != 1 {
		t.Errorf("handed off %d states, want 1", sent)
	}
	tr.mu.Lock()
	tr.hold = nil
	tr.mu.Unlock()
	after := collect(t, send(caller, "x", "after-", 1, bound), 1, "a request after the leave")
	if after[0].err != nil || after[0].value != 6 {
		t.Errorf("after the leave x answered %d (%v), want 6", after[0].value, after[0].err)
	}
}
