package bench

import (
	"runtime"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/mailbox"
)

// counter counts int messages and says when it has seen want of them.
type counter struct {
	n, want int
	done    chan struct{}
}

func (c *counter) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(int); ok {
		if c.n++; c.n == c.want {
			close(c.done)
		}
	}
}

// BenchmarkMessages: what a message costs in the Running phase, in one loop that,
// each round, has one sender post the same number of messages to one actor of
// each kind, which counts them: "stock" is protoactor's default unbounded mailbox
// (the baseline), "mailbox" the bare Quiesce mailbox, "component" the same behind
// qactor.Component (which adds the stop-handler guard). Reports each kind's median
// messages per second (<kind>-msgs/s) and allocations per message
// (<kind>-allocs/msg), and the ratios of messages per second mailbox/stock and
// component/stock, taken within a round, with their spread. Target: at least 1.0,
// median of 10 or more rounds (-benchtime 10x or more), and no more allocations
// per message than stock.
func BenchmarkMessages(b *testing.B) {
	bare, err := mailbox.Producer(mailbox.Config{})
	check(b, err)
	props := map[string]func(c *counter) *actor.Props{
		"stock": func(c *counter) *actor.Props {
			return actor.PropsFromProducer(func() actor.Actor { return c })
		},
		"mailbox": func(c *counter) *actor.Props {
			return actor.PropsFromProducer(func() actor.Actor { return c }, actor.WithMailbox(bare))
		},
		"component": func(c *counter) *actor.Props {
			return qactor.Component[*counter]{New: func() *counter { return c }}.MustProps()
		},
	}
	n := sizes.messages
	sys := newSystem()
	r := alternate(b, []string{"stock", "mailbox", "component"}, func(b *testing.B, kind string) map[string]float64 {
		b.StopTimer()
		defer b.StartTimer()
		c := &counter{want: n, done: make(chan struct{})}
		pid := sys.Root.Spawn(props[kind](c))
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m0 := ms.Mallocs
		b.StartTimer()
		t0 := time.Now()
		for i := range n {
			sys.Root.Send(pid, i&0xff)
		}
		<-c.done
		took := time.Since(t0)
		b.StopTimer()
		runtime.ReadMemStats(&ms)
		check(b, sys.Root.StopFuture(pid).Wait())
		return map[string]float64{
			"rate":   float64(n) / took.Seconds(),
			"allocs": float64(ms.Mallocs-m0) / float64(n),
		}
	})
	r.report(b, "rate", "msgs/s")
	r.report(b, "allocs", "allocs/msg")
	r.ratio(b, "mailbox", "stock", "rate", "")
	r.ratio(b, "component", "stock", "rate", "")
}
