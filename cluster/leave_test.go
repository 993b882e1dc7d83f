package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qactor "github.com/quiesce/quiesce/actor"
	qcluster "github.com/quiesce/quiesce/cluster"
	"github.com/quiesce/quiesce/internal/clusternode"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// A member leaves while 20 requests are queued at one of its grains and 10 more
// come once its drain has begun: the queued ones are answered there, the later ones
// are refused as "member leaving" and sent again, by the Caller, to the identity's
// new owner, whose activation does not serve before the old one has stopped and
// handed its count over. Every request is answered once, and the count goes on.
func TestLeaveDrainsAndHandsOff(t *testing.T) {
	f := take(t, leaveFleet)
	tr, ms, client, plain := f.tr, f.ms, f.client, f.plain
	defer plain.Shutdown()
	caller, err := qcluster.NewCaller(client.Cluster, qcluster.CallerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	leaver, stay := owner(ms, "x")
	defer stop(t, append([]*clusternode.Node{client}, stay...)...)

	gate := make(chan struct{})
	tr.gate = gate
	first := send(caller, "x", "queued-", 20, bound)
	waitN(t, tr.posted, 20, "the first 20 requests to reach the grain")
	pid, ok := client.Cluster.PidCache.Get("x", kind)
	if !ok || pid.Address != leaver.System().Address() {
		t.Fatalf("the client's PID for x: %v, want one at %s", pid, leaver.System().Address())
	}

	type left struct {
		rep *qcluster.Report
		err error
	}
	done := make(chan left, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rep, err := leaver.Member.Leave(ctx)
		done <- left{rep, err}
	}()
	select {
	case <-leaver.Member.Draining():
	case <-time.After(bound):
		t.Fatalf("waited %v for the drain to begin", bound)
	}
	// Sent to the old activation directly, a request is refused at once, as the
	// member leaving, on the requester's node. (From a node outside the cluster: a
	// member whose topology excludes the leaving one may lose what it sends there,
	// see the package doc.)
	// A PID caches the process it was sent through on its own actor system: the
	// plain node needs its own.
	pid = actor.NewPID(pid.Address, pid.Id)
	_, err = qactor.Result(plain.System().Root.RequestFuture(pid, wrapperspb.String("direct"), bound))
	var refused *mailbox.Refused
	if !errors.Is(err, qcluster.ErrMemberLeaving) || !errors.As(err, &refused) {
		t.Fatalf("a request from %s to the draining activation %v: %v, want a refusal for the member leaving", plain.System().Address(), pid, err)
	}
	later := send(caller, "x", "later-", 10, bound)
	waitN(t, tr.posted, 10, "the later requests to be refused at the leaving member or reach the new owner")
	close(gate)

	rs := append(collect(t, first, 20, "the queued requests"), collect(t, later, 10, "the later requests")...)
	values(t, rs)
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
	if len(l.rep.Tree.Roots) != 1 || l.rep.Tree.Verdict != lifecycle.AllCompleted {
		t.Errorf("the drain: %v", l.rep.Tree)
	}
	if r := l.rep.Tree.Roots[0]; r.Drained != 19 || r.Refused < 1 {
		t.Errorf("the old activation drained %d and refused %d, want 19 and 1 or more", r.Drained, r.Refused)
	}
	if r := l.rep.Tree.Roots[0]; !errors.Is(r.Reason, qcluster.ErrMemberLeaving) {
		t.Errorf("the grain stopped for %v, want the member leaving", r.Reason)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.overlaps) > 0 {
		t.Errorf("two live activations at once of %v", tr.overlaps)
	}
	for id, n := range tr.served {
		if n > 1 {
			t.Errorf("request %s served %d times", id, n)
		}
	}
}

// ownedBy returns an identity that member owns among ms.
func ownedBy(t *testing.T, ms []*clusternode.Node, member *clusternode.Node) string {
	t.Helper()
	for i := range 1000 {
		id := fmt.Sprintf("id-%d", i)
		if own, _ := owner(ms, id); own == member {
			return id
		}
	}
	t.Fatalf("no identity owned by %s", member.System().Address())
	return ""
}

// A grain whose Save fails loses its state: the leave says so (Report.Unsaved, an
// error that wraps ErrStateLost) and the identity's next activation starts from
// zero, as reported. A second Leave says why it cannot. The last member to leave
// has nowhere to hand the state: Report.Lost names it, with ErrStateLost.
func TestALeaveSaysWhichStatesWereNotSaved(t *testing.T) {
	f := take(t, edgesFleet)
	tr, ms, client := f.tr, f.ms, f.client
	caller, err := qcluster.NewCaller(client.Cluster, qcluster.CallerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	unsaved, next, last := ms[0], ms[1], ms[2]
	defer stop(t, client) // a member without the kind

	// A Save that fails.
	id := ownedBy(t, ms, unsaved)
	values(t, collect(t, send(caller, id, "a-", 3, bound), 3, "three requests to "+id))
	tr.mu.Lock()
	tr.saveErr = errors.New("disk full")
	tr.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	rep, err := unsaved.Member.Leave(ctx)
	cancel()
	tr.mu.Lock()
	tr.saveErr = nil
	tr.mu.Unlock()
	if !errors.Is(err, qcluster.ErrStateLost) || !strings.Contains(fmt.Sprint(err), "Save did not complete for 1 identity: counter/"+id) {
		t.Errorf("the leave's error: %v, want ErrStateLost naming counter/%s", err, id)
	}
	if rep == nil || len(rep.Unsaved) != 1 || rep.Unsaved[0] != "counter/"+id {
		t.Fatalf("Report.Unsaved: %+v", rep)
	}
	if s := rep.String(); !strings.Contains(s, "not saved 1: counter/"+id) || !strings.Contains(s, "3 of 3 peers excluded it") {
		t.Errorf("the report reads:\n%s", s)
	}
	if got := collect(t, send(caller, id, "b-", 1, bound), 1, "a request after the leave"); got[0].err != nil || got[0].value != 1 {
		t.Errorf("after a lost state, the count starts again: got %+v, want 1", got[0])
	}
	if _, err := unsaved.Member.Leave(context.Background()); !errors.Is(err, qcluster.ErrLeave) || !strings.Contains(err.Error(), "already") {
		t.Errorf("a second Leave: %v, want ErrLeave saying it has left already", err)
	}

	// The last member with the kind has nobody to hand the state to: Lost names it.
	if rep, err := next.Member.Leave(context.Background()); err != nil {
		t.Errorf("the next leave: %v\n%v", err, rep)
	}
	rep, err = last.Member.Leave(context.Background())
	if !errors.Is(err, qcluster.ErrStateLost) || rep == nil || len(rep.Lost) != 1 || rep.Lost[0] != "counter/"+id {
		t.Errorf("the last member's leave: %v, Lost %v; want ErrStateLost naming counter/%s", err, rep, id)
	}
}

// A leave whose deadline has passed while a grain is in the middle of a request
// cannot wait for it: the grain is named in the tree as still stopping, the
// verdict says some abandoned, and the error says the drain is incomplete; nothing
// reads "all completed". (A lone member: see loneFleet.)
func TestALeavePastItsDeadlineNamesTheGrainsStillStopping(t *testing.T) {
	f := take(t, loneFleet)
	tr, member := f.tr, f.ms[0]
	const id = "busy"
	release := tr.gateAt(id, member)
	defer release()
	pid := member.Cluster.Get(id, kind)
	if pid == nil {
		t.Fatalf("no activation of %s", id)
	}
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		_, _ = member.System().Root.RequestFuture(pid, wrapperspb.String("c-0"), 3*time.Second).Result()
	}()
	waitN(t, tr.blocked, 1, "the request to be in the middle of "+id+"'s Receive")
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	rep, err := member.Member.Leave(ctx)
	cancel()
	release()
	<-busy // answered or timed out: the member is gone either way
	if !errors.Is(err, qactor.ErrIncomplete) {
		t.Errorf("a leave past its deadline: %v, want ErrIncomplete", err)
	}
	if rep == nil || rep.Tree == nil || len(rep.Tree.Stopping) != 1 || !rep.Tree.Stopping[0].Equal(pid) || rep.Tree.Verdict != lifecycle.SomeAbandoned {
		t.Fatalf("the drain's tree: %+v, want %v still stopping, some abandoned", rep, pid)
	}
	if s := rep.String(); !strings.Contains(s, "1 still stopping at the deadline") || strings.Contains(s, "all completed") {
		t.Errorf("the report reads:\n%s", s)
	}
}
