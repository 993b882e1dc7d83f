package lifecycle

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Progress is what a step says about how far it has got.
type Progress struct {
	Message string
	Done    int // units done so far, in this step
	Total   int // units in all; zero when unknown
	// Phase names a stage within the step ("flushing", "waiting for acks"), if it
	// has stages.
	Phase string
	// Fields are any other facts worth showing, as key-value pairs.
	Fields map[string]any
	// At is when it was reported; Rate (units a second since the step began) and
	// ETA (time left at that rate, zero when Total or Rate is unknown) are worked
	// out from it when it is reported.
	At   time.Time
	Rate float64
	ETA  time.Duration
}

// Pace works out Rate and ETA from Done and Total over elapsed, the time the work
// has taken so far. It leaves them as they are while nothing is done or no time
// has passed.
func (p *Progress) Pace(elapsed time.Duration) {
	secs := elapsed.Seconds()
	if secs <= 0 || p.Done <= 0 {
		return
	}
	p.Rate, p.ETA = float64(p.Done)/secs, 0
	if p.Total > p.Done {
		p.ETA = time.Duration(float64(p.Total-p.Done) / p.Rate * float64(time.Second))
	}
}

func (p Progress) String() string {
	var b strings.Builder
	if p.Phase != "" {
		b.WriteString(p.Phase + ": ")
	}
	b.WriteString(p.Message)
	if p.Total > 0 {
		fmt.Fprintf(&b, " (%d/%d)", p.Done, p.Total)
	} else {
		fmt.Fprintf(&b, " (%d)", p.Done)
	}
	return b.String()
}

// Detail is String with the rate, the ETA and the fields: "flushed (812/1000),
// 406/s, 463ms left, shard=3".
func (p Progress) Detail() string {
	var b strings.Builder
	b.WriteString(p.String())
	if p.Rate > 0 {
		fmt.Fprintf(&b, ", %s/s", rate(p.Rate))
	}
	if p.ETA > 0 {
		fmt.Fprintf(&b, ", %v left", p.ETA.Round(time.Millisecond))
	}
	for _, k := range sortedKeys(p.Fields) {
		fmt.Fprintf(&b, ", %s=%v", k, p.Fields[k])
	}
	return b.String()
}

// rate writes a rate for people: whole units from 100 a second up, three
// significant digits below.
func rate(r float64) string {
	if r >= 100 {
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
	return strconv.FormatFloat(r, 'g', 3, 64)
}

// ReportProgress records progress for the step whose ctx this is: done of total
// units (total zero when unknown). See ReportProgressOf.
func ReportProgress(ctx context.Context, message string, done, total int) {
	ReportProgressOf(ctx, Progress{Message: message, Done: done, Total: total})
}

// ReportProgressOf records p for the step whose ctx this is, with its At, Rate and
// ETA worked out: the last report goes into the step's StepReport, and every report
// to the execution's Observer (an actor tells its parent, throttled, and publishes
// it when the system asks for events). Outside a step it does nothing, and so it
// does for a step abandoned after a force that goes on meanwhile: it is no longer
// the step running, and what it reports is not the running step's.
func ReportProgressOf(ctx context.Context, p Progress) {
	g := genOf(ctx)
	if g == nil {
		return
	}
	e := g.e
	p.At = time.Now()
	e.mu.Lock()
	c := e.ownerLocked(g)
	if c == nil {
		e.mu.Unlock()
		return
	}
	p.Pace(p.At.Sub(c.start))
	c.progress = &p
	step := c.step.Name
	e.mu.Unlock()
	if e.observer != nil {
		e.observer.Progress(step, p)
	}
}

// RecordPartial records what the step whose ctx this is has achieved so far: a
// value that stands for the work done ("flushed 812 of 1000", the IDs handed off),
// which survives an interruption, a time-out, a force and an abandonment, and is
// the step's StepReport.Partial. A later call replaces it. Outside a step, or from
// a step abandoned after a force that goes on meanwhile, it does nothing.
func RecordPartial(ctx context.Context, v any) {
	g := genOf(ctx)
	if g == nil {
		return
	}
	e := g.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.ownerLocked(g); c != nil {
		c.partial = v
	}
}

// StopID identifies one stop, for correlating its report, notices, events and log
// records. It is random, so IDs made on different nodes do not collide in practice.
type StopID uint64

// NewStopID returns a new StopID.
func NewStopID() StopID { return StopID(rand.Uint64() | 1) }

// String returns the ID as 16 hex digits.
func (id StopID) String() string { return fmt.Sprintf("%016x", uint64(id)) }

// MarshalText encodes the ID as String does.
func (id StopID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes 16 hex digits.
func (id *StopID) UnmarshalText(text []byte) error {
	var v uint64
	if _, err := fmt.Sscanf(string(text), "%016x", &v); err != nil || len(text) != 16 {
		return fmt.Errorf("lifecycle: stop ID %q: want 16 hex digits", text)
	}
	*id = StopID(v)
	return nil
}
