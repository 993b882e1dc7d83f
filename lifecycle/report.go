package lifecycle

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quiesce/quiesce/policy"
)

// StepReport is what one step did.
type StepReport struct {
	Name         string
	Policy       policy.Policy
	Status       Status
	StopRequests int           // stop requests that reached the step (cancellation requests, as the policy sees them)
	Deferred     int           // how many of them its policy deferred
	Reraised     bool          // DeferReraise raised a request again once the step had finished
	Err          error         // why it failed, timed out, was interrupted, forced, skipped or abandoned
	Start        time.Time     // zero if it never ran
	Duration     time.Duration // how long it ran; for an abandoned step, until it was abandoned
	Progress     *Progress     // the last progress it reported, if any
	Partial      any           // what it recorded it had achieved (RecordPartial), if anything
	// Goroutine names the goroutine an abandoned step was left running on, as its
	// pprof labels ("op=<step>", and "actor=<actor>" with Options.LabelActor), so
	// that a goroutine profile finds it (go tool pprof -tagfocus op=<step>).
	Goroutine string
}

func (r StepReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", r.Name, r.Policy, r.Status)
	if !r.Start.IsZero() {
		fmt.Fprintf(&b, " in %v", r.Duration)
	}
	if note := r.note(); note != "" {
		b.WriteString(": " + note)
	}
	return b.String()
}

// note is the short tail of a step's line: requests, re-raise, error.
func (r StepReport) note() string {
	var parts []string
	if r.StopRequests > 0 {
		parts = append(parts, fmt.Sprintf("%s, %d deferred", plural(r.StopRequests, "stop request"), r.Deferred))
	}
	if r.Reraised {
		parts = append(parts, "re-raised after finishing")
	}
	if r.Err != nil {
		parts = append(parts, oneLine(r.Err.Error()))
	}
	return strings.Join(parts, "; ")
}

// Report is what one stop did: why it began, each step's outcome, what happened to
// the messages, and the reports of the children that stopped with it.
type Report struct {
	ID           StopID // identifies the stop in notices, events and log records
	Parent       StopID // the stop that caused this one (a parent's), or zero
	Actor        string // who stopped; set by the mailbox
	Reason       *Reason
	Start        time.Time
	Duration     time.Duration
	Steps        []StepReport
	StopRequests int   // stop requests received after the one that began the stop
	Forced       error // why the stop was forced (errors.Is ErrForced), or nil
	Drained      int   // messages processed after the stop began and before the first step
	Refused      int   // messages refused, answered or dead-lettered, with the reason
	Children     []*Report
}

// Verdict is the worst that happened in this stop and its children's: an
// abandoned step, a force, a step that failed or timed out, in that order.
func (r *Report) Verdict() Verdict {
	v := r.OwnVerdict()
	for _, c := range r.Children {
		v = max(v, c.Verdict())
	}
	return v
}

// OwnVerdict is Verdict without the children's.
func (r *Report) OwnVerdict() Verdict {
	v := AllCompleted
	if r.Forced != nil {
		v = SomeForced
	}
	for _, s := range r.Steps {
		switch s.Status {
		case Abandoned:
			return SomeAbandoned
		case Forced:
			v = SomeForced
		case Failed, TimedOut:
			v = max(v, SomeFailed)
		case Interrupted, Skipped:
			v = max(v, SomeCutShort)
		}
	}
	return v
}

// Failed returns the steps, here and in the children, that failed or timed out.
func (r *Report) Failed() []StepReport {
	var out []StepReport
	for _, s := range r.Steps {
		if s.Status == Failed || s.Status == TimedOut {
			out = append(out, s)
		}
	}
	for _, c := range r.Children {
		out = append(out, c.Failed()...)
	}
	return out
}

// String renders the report for a person: a header and one line per step.
func (r *Report) String() string {
	var b strings.Builder
	r.write(&b, false, "")
	return b.String()
}

// Format prints the report: %v and %s as String, %+v adds each step's start,
// progress and goroutine, and the children's reports in full.
func (r *Report) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v', 's':
		r.write(f, verb == 'v' && f.Flag('+'), "")
	default:
		fmt.Fprintf(f, "%%!%c(*lifecycle.Report)", verb)
	}
}

func (r *Report) write(w io.Writer, detail bool, indent string) {
	who := r.Actor
	if who == "" {
		who = "component"
	}
	fmt.Fprintf(w, "%s%s stopped in %v (%v): %v\n", indent, who, r.Duration.Round(time.Microsecond), r.Reason, r.Verdict())
	var facts []string
	if r.Drained > 0 || r.Refused > 0 {
		facts = append(facts, fmt.Sprintf("messages: %d drained, %d refused", r.Drained, r.Refused))
	}
	if r.StopRequests > 0 {
		facts = append(facts, fmt.Sprintf("%s after the first", plural(r.StopRequests, "stop request")))
	}
	if r.Forced != nil {
		facts = append(facts, "forced: "+oneLine(r.Forced.Error()))
	}
	if n := len(r.Failed()); n > 0 {
		facts = append(facts, plural(n, "step")+" failed or timed out")
	}
	if len(r.Children) > 0 {
		facts = append(facts, plural(len(r.Children), "child")+" stopped")
	}
	if len(facts) > 0 {
		fmt.Fprintf(w, "%s  %s\n", indent, strings.Join(facts, "; "))
	}
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	for i, s := range r.Steps {
		took, at := "", ""
		if !s.Start.IsZero() {
			took = s.Duration.Round(time.Microsecond).String()
			at = "+" + s.Start.Sub(r.Start).Round(time.Microsecond).String()
		}
		note := s.note()
		if detail {
			extra := []string{at}
			if s.Progress != nil {
				extra = append(extra, "progress: "+s.Progress.Detail())
			}
			if s.Partial != nil {
				extra = append(extra, fmt.Sprintf("partial: %v", s.Partial))
			}
			if s.Goroutine != "" {
				extra = append(extra, "goroutine "+s.Goroutine)
			}
			if note != "" {
				extra = append(extra, note)
			}
			note = strings.Join(extra, "  ")
		}
		fmt.Fprintf(tw, "%s  %d.\t%s\t%s\t%s\t%s\t%s\n", indent, i+1, s.Name, s.Policy, s.Status, took, note)
	}
	_ = tw.Flush()
	_, _ = io.WriteString(w, trimPadding(table.String()))
	if detail {
		for _, c := range r.Children {
			c.write(w, true, indent+"    ")
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if word == "child" {
		return fmt.Sprintf("%d children", n)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// trimPadding drops the spaces tabwriter pads a line with when its last cells are empty.
func trimPadding(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// Tree renders the report and its children's, recursively, the way the tree command
// renders directories: one line per component (status, duration, reason), its steps
// under it.
func (r *Report) Tree() string {
	var b strings.Builder
	r.tree(&b, "", "", nil)
	return b.String()
}

// FoldedTree is Tree for big trees, where thousands of children ended the same way.
// Among a component's children, those that ended alike print once, the first in full,
// followed by a line that counts the others and gives the range of their durations:
//
//	├── … and 9999 more like sessions/s17 [all completed 12µs–3.1ms]
//
// Children end alike when their verdicts, reasons, forces and steps (name, policy,
// status, error) match, and so do their own children, folded the same way. A child
// that ended otherwise (a failed step, a force) prints on its own, so what went wrong
// is never folded away.
func (r *Report) FoldedTree() string {
	var b strings.Builder
	r.tree(&b, "", "", newFolder())
	return b.String()
}

// FoldedTrees renders several reports (a Shutdown's roots) as FoldedTree renders a
// component's children: the roots that ended alike print once, with a count.
func FoldedTrees(rs []*Report) string {
	var b strings.Builder
	f := newFolder()
	for _, g := range f.groups(rs) {
		g.first.tree(&b, "", "", f)
		if len(g.rest) > 0 {
			b.WriteString(g.line() + "\n")
		}
	}
	return b.String()
}

// folder groups reports that ended alike, remembering each report's shape.
type folder struct{ shapes map[*Report]string }

func newFolder() *folder { return &folder{shapes: make(map[*Report]string)} }

// group is a report and the others that ended like it.
type group struct {
	first *Report
	rest  []*Report
}

// line counts the rest of g and gives the range of their durations.
func (g group) line() string {
	lo, hi := g.first.Duration, g.first.Duration
	for _, r := range g.rest {
		lo, hi = min(lo, r.Duration), max(hi, r.Duration)
	}
	span := lo.Round(time.Microsecond).String()
	if hi != lo {
		span += "–" + hi.Round(time.Microsecond).String()
	}
	who := g.first.Actor
	if who == "" {
		who = "component"
	}
	return fmt.Sprintf("… and %d more like %s [%v %s]", len(g.rest), who, g.first.Verdict(), span)
}

// groups splits rs into groups of reports that ended alike, in the order each
// group's first report comes.
func (f *folder) groups(rs []*Report) []group {
	var gs []group
	at := make(map[string]int, 4)
	for _, r := range rs {
		k := f.shape(r)
		if i, ok := at[k]; ok {
			gs[i].rest = append(gs[i].rest, r)
			continue
		}
		at[k] = len(gs)
		gs = append(gs, group{first: r})
	}
	return gs
}

// shape is what two reports that ended alike share: all but who stopped, when and
// how long, the counts and the progress.
func (f *folder) shape(r *Report) string {
	if k, ok := f.shapes[r]; ok {
		return k
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v|%v|", r.OwnVerdict(), r.Reason)
	if r.Forced != nil {
		b.WriteString("forced: " + r.Forced.Error())
	}
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "|%s %v %v", s.Name, s.Policy, s.Status)
		if s.Err != nil {
			b.WriteString(": " + s.Err.Error())
		}
	}
	b.WriteString("{")
	for _, g := range f.groups(r.Children) {
		fmt.Fprintf(&b, "%d×%s;", 1+len(g.rest), f.shape(g.first))
	}
	b.WriteString("}")
	k := b.String()
	f.shapes[r] = k
	return k
}

// tree renders r under the prefixes first (its own line) and rest (the lines under
// it), folding its children when fold is set.
func (r *Report) tree(b *strings.Builder, first, rest string, fold *folder) {
	who := r.Actor
	if who == "" {
		who = "component"
	}
	fmt.Fprintf(b, "%s%s [%v %v] %v\n", first, who, r.Verdict(), r.Duration.Round(time.Microsecond), r.Reason)
	if r.Forced != nil {
		// The force is the component's own, whichever step it came during, or
		// before any ran (a Brutal budget): say it once, under the component.
		bar := "│"
		if len(r.Steps)+len(r.Children) == 0 {
			bar = " "
		}
		fmt.Fprintf(b, "%s%s   forced: %s\n", rest, bar, oneLine(r.Forced.Error()))
	}
	var groups []group
	n := len(r.Steps) + len(r.Children)
	if fold != nil {
		groups = fold.groups(r.Children)
		n = len(r.Steps)
		for _, g := range groups {
			n++
			if len(g.rest) > 0 {
				n++
			}
		}
	}
	i := 0
	branch := func() (string, string) {
		i++
		if i == n {
			return rest + "└── ", rest + "    "
		}
		return rest + "├── ", rest + "│   "
	}
	for _, s := range r.Steps {
		f, _ := branch()
		line := fmt.Sprintf("%s %s %s", s.Name, s.Policy, s.Status)
		if !s.Start.IsZero() {
			line += " " + s.Duration.Round(time.Microsecond).String()
		}
		if s.Progress != nil {
			line += " [" + s.Progress.String() + "]"
		}
		if note := s.note(); note != "" {
			line += " (" + note + ")"
		}
		b.WriteString(f + line + "\n")
	}
	if fold == nil {
		for _, c := range r.Children {
			f, rs := branch()
			c.tree(b, f, rs, nil)
		}
		return
	}
	for _, g := range groups {
		f, rs := branch()
		g.first.tree(b, f, rs, fold)
		if len(g.rest) > 0 {
			f, _ := branch()
			b.WriteString(f + g.line() + "\n")
		}
	}
}
