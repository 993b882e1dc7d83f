package bench

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
)

// supervisor is a parent that signals each DeferredCancel notice, and each probe
// message, as it receives it.
type supervisor struct {
	kids  int
	child *actor.Props
	pids  chan *actor.PID
	heard chan time.Time
}

func (s *supervisor) Receive(c actor.Context) {
	switch c.Message().(type) {
	case *actor.Started:
		for range s.kids {
			s.pids <- c.Spawn(s.child)
		}
	case *mailbox.DeferredCancel, string:
		s.heard <- time.Now()
	}
}

// busy is a child whose one step waits, deferring every request, until released.
type busy struct {
	in      chan struct{}
	release chan struct{}
}

func (*busy) Receive(actor.Context) {}

func (b *busy) work(context.Context) error {
	b.in <- struct{}{}
	<-b.release
	return nil
}

// BenchmarkNoticeLatency: from a second Stop sent to a child that is mid-cleanup in a
// deferring step, to its parent receiving the DeferredCancel notice in Receive, one
// child at a time. Baseline, in the same run: a plain message from the same sender
// to the same parent.
func BenchmarkNoticeLatency(b *testing.B) {
	const kids = 1000
	var notice, plain time.Duration
	for range b.N {
		sys := newSystem()
		in, release := make(chan struct{}, kids), make(chan struct{})
		child := qactor.Component[*busy]{
			New:   func() *busy { return &busy{in: in, release: release} },
			Steps: []qactor.Step[*busy]{{Name: "work", Policy: policy.DeferFlag, Run: (*busy).work}},
		}.MustProps()
		sup := &supervisor{kids: kids, child: child, pids: make(chan *actor.PID, kids), heard: make(chan time.Time, 1)}
		parent := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return sup }))
		var tickets []*mailbox.Ticket
		for range kids {
			pid := <-sup.pids
			tickets = append(tickets, mailbox.Of(sys, pid).Request(nil, nil))
			<-in
			t0 := time.Now()
			sys.Root.Send(parent, "probe")
			plain += (<-sup.heard).Sub(t0)
			t0 = time.Now()
			sys.Root.Stop(pid) // a second request, deferred by the running step
			notice += (<-sup.heard).Sub(t0)
		}
		close(release)
		for _, t := range tickets {
			<-t.Done()
		}
		if err := sys.Root.StopFuture(parent).Wait(); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N * kids)
	b.ReportMetric(float64(plain.Nanoseconds())/n/1e3, "message-µs")
	b.ReportMetric(float64(notice.Nanoseconds())/n/1e3, "notice-µs")
	ratio(b, "notice/message", float64(notice), float64(plain))
}
