package bench

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
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

// BenchmarkNoticeLatency: from a second Stop sent to a child that is mid-cleanup in
// a deferring step, to its parent (a plain protoactor actor) receiving the
// DeferredCancel notice in Receive, one child at a time. Baseline, in the same
// loop: a plain message from the same sender to the same parent, sent just before
// the Stop for even children and just after the notice for odd ones. Reports the
// medians over the rounds of each (message-µs, notice-µs) and of the ratio
// notice/message, taken within a round, with its spread. No target: a notice
// should cost about what a message does.
func BenchmarkNoticeLatency(b *testing.B) {
	kids := sizes.kids
	sys := newSystem()
	var plains, notices, ratios []float64
	round := func() {
		in, release := make(chan struct{}, kids), make(chan struct{})
		child := qactor.Component[*busy]{
			New:   func() *busy { return &busy{in: in, release: release} },
			Steps: []qactor.Step[*busy]{{Name: "work", Policy: policy.DeferFlag, Run: (*busy).work}},
		}.MustProps()
		sup := &supervisor{kids: kids, child: child, pids: make(chan *actor.PID, kids), heard: make(chan time.Time, 1)}
		parent := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return sup }))
		var notice, plain time.Duration
		probe := func() {
			t0 := time.Now()
			sys.Root.Send(parent, "probe")
			plain += (<-sup.heard).Sub(t0)
		}
		tickets := make([]*mailbox.Ticket, 0, kids)
		for i := range kids {
			pid := <-sup.pids
			tickets = append(tickets, mailbox.Of(sys, pid).Stop(nil, nil))
			<-in
			if i%2 == 0 {
				probe()
			}
			t0 := time.Now()
			sys.Root.Stop(pid) // a second request, deferred by the running step
			notice += (<-sup.heard).Sub(t0)
			if i%2 == 1 {
				probe()
			}
		}
		close(release)
		for _, t := range tickets {
			<-t.Done()
			rep := t.Report()
			checkf(b, rep != nil && rep.StopRequests == 1 && len(rep.Steps) == 1 && rep.Steps[0].Deferred == 1 &&
				rep.Steps[0].Status == lifecycle.Completed, "a child did not defer its request: %v", rep)
		}
		check(b, sys.Root.StopFuture(parent).Wait())
		n := float64(kids)
		plains = append(plains, float64(plain.Nanoseconds())/n/1e3)
		notices = append(notices, float64(notice.Nanoseconds())/n/1e3)
		ratios = append(ratios, float64(notice)/float64(plain))
	}
	round() // warm-up
	plains, notices, ratios = nil, nil, nil
	for b.Loop() {
		round()
	}
	reportMetric(b, median(plains), "message-µs")
	reportMetric(b, median(notices), "notice-µs")
	spread(b, "notice/message", ratios)
}
