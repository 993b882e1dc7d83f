package remote

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quiesce/quiesce/internal/testsys"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

func bareNode(sys *actor.ActorSystem, cfg Config) *Node {
	return &Node{system: sys, cfg: cfg.withDefaults(), peers: map[string]*peer{}, probes: map[*probe]struct{}{}}
}

// While a peer's probe runs, its messages wait, in order, up to Config.Pending;
// past that one meets the fallback at once; the answer sends them as it says.
func TestMessagesWaitForTheProbeUpToPending(t *testing.T) {
	sys := testsys.New() // no remote: what goes to the far address becomes a local dead letter
	n := bareNode(sys, Config{Pending: 2})
	p, fresh := n.peerFor("far:1") // a probe under way, which the test answers
	require.True(t, fresh)
	pr := &probe{n: n, peer: p, pid: sys.NewLocalPID("probe")}

	to := actor.NewPID("far:1", "future$1")
	refusal := func() *mailbox.Refused {
		return &mailbox.Refused{Actor: sys.NewLocalPID("w"), Err: mailbox.ErrStopping}
	}
	n.Deliver(to, refusal())
	n.Deliver(to, &mailbox.Finished{Actor: sys.NewLocalPID("w"), Report: &lifecycle.Report{}})
	assert.Equal(t, int64(0), n.Stats().Fallbacks, "two wait")
	n.Deliver(to, refusal())
	assert.Equal(t, int64(1), n.Stats().Fallbacks, "the third meets the fallback at once")

	pr.SendUserMessage(nil, &actor.DeadLetterResponse{}) // the peer's own dead letter: plain
	s := n.Stats()
	assert.Equal(t, int64(2), s.Fallbacks, "the waiting refusal, as a dead letter")
	assert.Equal(t, int64(1), s.Dropped, "the waiting notice, not sent")
	assert.Equal(t, int64(0), s.Sent)
	select {
	case <-p.ready:
	default:
		t.Fatal("the answer is known")
	}
	assert.Equal(t, plain, p.state)
}

// A peer that answers Touched speaks Quiesce; the messages that waited go in wire
// form. A dead letter from this node's own endpoint writer is no answer from the peer.
func TestTheProbesAnswers(t *testing.T) {
	sys := testsys.New()
	n := bareNode(sys, Config{})
	p, _ := n.peerFor("far:2")
	pr := &probe{n: n, peer: p, pid: sys.NewLocalPID("probe")}
	n.Deliver(actor.NewPID("far:2", "w"), &mailbox.Forced{Actor: sys.NewLocalPID("c")})
	pr.SendUserMessage(nil, &actor.Touched{})
	assert.Equal(t, int64(1), n.Stats().Sent)
	n.Deliver(actor.NewPID("far:2", "w"), &mailbox.Forced{Actor: sys.NewLocalPID("c")})
	assert.Equal(t, int64(2), n.Stats().Sent, "known now: sent at once")

	q, _ := n.peerFor("far:3")
	(&probe{n: n, peer: q, pid: sys.NewLocalPID("probe3")}).SendUserMessage(nil, &actor.DeadLetterResponse{Target: sys.NewLocalPID("x")})
	assert.Equal(t, unreachable, q.state)
	_, fresh := n.peerFor("far:3")
	assert.True(t, fresh, "an unreachable peer is probed again")
}
