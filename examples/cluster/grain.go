package main

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qactor "github.com/quiesce/quiesce/actor"
	qcluster "github.com/quiesce/quiesce/cluster"
	"github.com/quiesce/quiesce/policy"
)

// kind is the counter grain's cluster kind.
const kind = "counter"

// The counter's requests: a StringValue whose value is a request ID adds one and
// answers the new value; these two read.
const (
	getValue = "?value" // answers the value
	getDups  = "?dups"  // answers how many requests came a second time
)

// counter is a grain that counts the requests it served, and remembers their IDs
// to tell a request served twice. Its state crosses a leave (Save, Load).
type counter struct {
	work  time.Duration
	value int64
	seen  map[string]struct{}
	dups  int64
}

func (g *counter) Receive(c actor.Context) {
	m, ok := c.Message().(*wrapperspb.StringValue)
	if !ok {
		return
	}
	switch m.Value {
	case getValue:
		c.Respond(wrapperspb.Int64(g.value))
	case getDups:
		c.Respond(wrapperspb.Int64(g.dups))
	default:
		time.Sleep(g.work) // the request's work
		if _, again := g.seen[m.Value]; again {
			g.dups++
		}
		g.seen[m.Value] = struct{}{}
		g.value++
		c.Respond(wrapperspb.Int64(g.value))
	}
}

// save is the grain's handoff step: its value, its duplicates, the IDs it served.
func (g *counter) save(context.Context) ([]byte, error) {
	b := binary.AppendVarint(nil, g.value)
	b = binary.AppendVarint(b, g.dups)
	b = binary.AppendUvarint(b, uint64(len(g.seen)))
	for id := range g.seen {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	return b, nil
}

var errState = errors.New("counter: bad state")

// load takes the state the identity's last activation saved.
func (g *counter) load(b []byte) error {
	next := func() (int64, bool) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	var ok bool
	if g.value, ok = next(); !ok {
		return errState
	}
	if g.dups, ok = next(); !ok {
		return errState
	}
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return errState
	}
	b = b[n:]
	for range count {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errState
		}
		g.seen[string(b[n:n+int(l)])] = struct{}{}
		b = b[n+int(l):]
	}
	return nil
}

func (*counter) close(context.Context) error { return nil }

// counterKind is the counter kind; each request takes work.
func counterKind(work time.Duration) *cluster.Kind {
	return qcluster.Grain[*counter]{
		Component: qactor.Component[*counter]{
			New:   func() *counter { return &counter{work: work, seen: map[string]struct{}{}} },
			Steps: []qactor.Step[*counter]{{Name: "close", Policy: policy.Plain, Timeout: time.Second, Run: (*counter).close}},
		},
		Save: (*counter).save,
		Load: (*counter).load,
	}.MustKind(kind)
}
