package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/trigger"
)

// How often the drain is shown: a terminal's bar is redrawn in place; plain output
// (a file, a pipe, a log collector) gets a line a second, and the last.
const (
	barEvery   = 100 * time.Millisecond
	plainEvery = time.Second
)

// isTerminal says whether out is a terminal: a character device, not a file or a pipe.
func isTerminal(out io.Writer) bool {
	f, ok := out.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// drainView shows a drain under way, from the listener's Snapshot.
type drainView interface {
	show(s mailbox.Snapshot)
	note(line string) // a line above the progress: a force, say
	last(s mailbox.Snapshot)
}

// follow shows the listener's drain (mb's stop) until done delivers what the
// shutdown returned, and says so when w forces it.
func follow(out io.Writer, term bool, mb *mailbox.Mailbox, w *trigger.Watcher, done <-chan shutdown) shutdown {
	var view drainView
	every := plainEvery
	if term {
		view, every = newBarView(out), barEvery
	} else {
		view = &plainView{out: out}
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	forced := w.ForceContext().Done()
	for {
		select {
		case r := <-done:
			snap, _ := mb.Snapshot()
			view.last(snap)
			return r
		case <-forced:
			forced = nil
			if f := w.ForceCause(); f != nil {
				view.note(fmt.Sprintf("%v: forcing the shutdown", f))
			}
		case <-tick.C:
			if snap, stopping := mb.Snapshot(); stopping {
				view.show(snap)
			}
		}
	}
}

// drainFigures are what a view shows of a snapshot: the requests the sessions had
// in flight when their drains began and how many of them they have answered (their
// drain steps' progress, which the listener adds up), the rate since the listener's
// stop began and the time left at that rate, and the sessions still stopping.
//
// The rate is the sum's Done over the stop's Elapsed, not the sum's Rate: that one
// adds up each session's own rate, and a session that answered its one request in a
// millisecond counts 1000/s for the rest of the drain (a 200 ms drain of 190
// requests shows some 10000/s), so its ETA is as far off.
type drainFigures struct {
	done, total int
	rate        float64
	eta         time.Duration
	stopping    int
	elapsed     time.Duration
	finished    bool
	forced      error
}

// figures reads s; over says whether the whole stop is over (the listener's plan
// is over before its sessions have all closed).
func figures(s mailbox.Snapshot, over bool) drainFigures {
	f := drainFigures{stopping: s.ChildrenStopping, elapsed: s.Elapsed, finished: over, forced: s.Forced}
	if p := s.Children; p != nil {
		f.done, f.total = p.Done, p.Total
	}
	if secs := s.Elapsed.Seconds(); secs > 0 && f.done > 0 {
		f.rate = float64(f.done) / secs
		f.eta = time.Duration(float64(f.total-f.done) / f.rate * float64(time.Second))
	}
	return f
}

// requests is "12/61 in-flight requests answered".
func (f drainFigures) requests() string {
	return fmt.Sprintf("%d/%d in-flight requests answered", f.done, f.total)
}

// pace is ", 97/s, about 200ms left", or less when the figures are not known.
func (f drainFigures) pace() string {
	var b strings.Builder
	if f.rate > 0 {
		fmt.Fprintf(&b, ", %.0f/s", f.rate)
	}
	if f.eta > 0 && !f.finished && f.forced == nil {
		fmt.Fprintf(&b, ", about %v left", roundETA(f.eta))
	}
	return b.String()
}

func roundETA(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func (f drainFigures) sessions() string {
	if f.stopping == 1 {
		return "1 session stopping"
	}
	return fmt.Sprintf("%d sessions stopping", f.stopping)
}

// line is the plain form: "  draining, 1.2s: 12/61 in-flight requests answered,
// 10/s, about 4.9s left; 58 sessions stopping", and once the stop is over
// "  drained in 212ms: 61/61 in-flight requests answered, 288/s" or, when some were
// cut short (their clients were told why), "  stopped in 1s: 0/1 in-flight
// requests answered, 1 cut short; forced".
func (f drainFigures) line() string {
	var b strings.Builder
	switch {
	case f.finished && f.done == f.total:
		fmt.Fprintf(&b, "  drained in %v: %s%s", f.elapsed.Round(time.Millisecond), f.requests(), f.pace())
	case f.finished:
		fmt.Fprintf(&b, "  stopped in %v: %s%s, %d cut short", f.elapsed.Round(time.Millisecond), f.requests(), f.pace(), f.total-f.done)
	default:
		fmt.Fprintf(&b, "  draining, %v: %s%s; %s", f.elapsed.Round(time.Millisecond), f.requests(), f.pace(), f.sessions())
	}
	if f.forced != nil {
		b.WriteString("; forced")
	}
	return b.String()
}

// short is the bar's text, which fits beside it on 80 columns: "12/61 answered,
// 10/s, 4.9s left, 58 sessions", and at the end "61/61 answered, 288/s, in 212ms".
func (f drainFigures) short() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d answered", f.done, f.total)
	if f.rate > 0 {
		fmt.Fprintf(&b, ", %.0f/s", f.rate)
	}
	switch {
	case f.finished:
		fmt.Fprintf(&b, ", in %v", f.elapsed.Round(time.Millisecond))
	case f.eta > 0 && f.forced == nil:
		fmt.Fprintf(&b, ", %v left", roundETA(f.eta))
	}
	if !f.finished {
		b.WriteString(", " + strings.TrimSuffix(f.sessions(), " stopping"))
	}
	if f.forced != nil {
		b.WriteString(", forced")
	}
	return b.String()
}

// plainView prints a line per show (one a second), and the last.
type plainView struct{ out io.Writer }

func (v *plainView) show(s mailbox.Snapshot) { fmt.Fprintln(v.out, figures(s, false).line()) }
func (v *plainView) note(line string)        { fmt.Fprintln(v.out, line) }
func (v *plainView) last(s mailbox.Snapshot) { fmt.Fprintln(v.out, figures(s, true).line()) }

// barView is one live mpb bar, redrawn in place, of the in-flight requests answered:
//
//	draining [=======>------------] 12/61 answered, 10/s, 4.9s left, 58 sessions
type barView struct {
	p   *mpb.Progress
	bar *mpb.Bar
	mu  sync.Mutex
	cur drainFigures // what show saw last, for the decorator, which mpb calls from its own goroutine
}

func newBarView(out io.Writer, opts ...mpb.ContainerOption) *barView {
	v := &barView{}
	v.p = mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(out), mpb.WithRefreshRate(barEvery)}, opts...)...)
	name := func(decor.Statistics) string {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.cur.finished {
			return "stopped"
		}
		return "draining"
	}
	text := func(decor.Statistics) string {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.cur.short()
	}
	v.bar = v.p.AddBar(0, // no total yet: the bar completes only when last says so
		mpb.PrependDecorators(decor.Any(name, decor.WC{W: len("draining"), C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Any(text, decor.WC{C: decor.DindentRight})),
		mpb.BarWidth(20),
	)
	return v
}

func (v *barView) show(s mailbox.Snapshot) { v.set(figures(s, false)) }

func (v *barView) set(f drainFigures) {
	v.bar.SetTotal(int64(f.total), false)
	v.bar.SetCurrent(int64(f.done))
	v.mu.Lock()
	v.cur = f
	v.mu.Unlock()
}

func (v *barView) note(line string) { _, _ = fmt.Fprintln(v.p, line) }

// last draws the final figures, completes the bar (or leaves it where it stopped,
// when requests were cut short), and waits until it is drawn.
func (v *barView) last(s mailbox.Snapshot) {
	f := figures(s, true)
	v.set(f)
	if f.done == f.total {
		v.bar.SetTotal(int64(f.total), true)
	} else {
		v.bar.Abort(false)
	}
	v.p.Wait()
}
