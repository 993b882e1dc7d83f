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
	r.tree(&b, "", "", true)
	return b.String()
}

func (r *Report) tree(b *strings.Builder, first, rest string, root bool) {
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
	n := len(r.Steps) + len(r.Children)
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
	for _, c := range r.Children {
		f, rs := branch()
		c.tree(b, f, rs, false)
	}
}
