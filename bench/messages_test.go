package bench

import (
	"testing"

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

// BenchmarkMessages: what a message costs in the Running phase. One sender posts
// b.N messages to one actor, which counts them. Baseline: protoactor's default
// unbounded mailbox. Target: Quiesce at least 1.0x its messages per second, and no
// more allocations per message. "mailbox" is the bare Quiesce mailbox, "component"
// the same behind qactor.Component (which adds the stop-handler guard).
func BenchmarkMessages(b *testing.B) {
	bare, err := mailbox.Producer(mailbox.Config{})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name  string
		props func(c *counter) *actor.Props
	}{
		{"stock", func(c *counter) *actor.Props {
			return actor.PropsFromProducer(func() actor.Actor { return c })
		}},
		{"mailbox", func(c *counter) *actor.Props {
			return actor.PropsFromProducer(func() actor.Actor { return c }, actor.WithMailbox(bare))
		}},
		{"component", func(c *counter) *actor.Props {
			return qactor.Component[*counter]{New: func() *counter { return c }}.MustProps()
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			sys := newSystem()
			c := &counter{want: b.N, done: make(chan struct{})}
			pid := sys.Root.Spawn(tc.props(c))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				sys.Root.Send(pid, i&0xff)
			}
			<-c.done
			b.StopTimer()
			if err := sys.Root.StopFuture(pid).Wait(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
