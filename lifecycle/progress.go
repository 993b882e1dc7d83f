package lifecycle

import (
	"context"
	"fmt"
	"time"
)

// Progress is what a step says about how far it has got.
type Progress struct {
	Message string
	Done    int // units done so far
	Total   int // units in all; zero when unknown
	At      time.Time
}

func (p Progress) String() string {
	if p.Total > 0 {
		return fmt.Sprintf("%s (%d/%d)", p.Message, p.Done, p.Total)
	}
	return fmt.Sprintf("%s (%d)", p.Message, p.Done)
}

// ReportProgress records progress for the step whose ctx this is: the last report
// goes into the step's StepReport, and every report to the execution's Observer (an
// actor publishes it on the EventStream). Outside a step it does nothing.
func ReportProgress(ctx context.Context, message string, done, total int) {
	e, _ := ctx.Value(execKey{}).(*Execution)
	if e == nil {
		return
	}
	p := Progress{Message: message, Done: done, Total: total, At: time.Now()}
	e.mu.Lock()
	c := e.cur
	if c == nil {
		e.mu.Unlock()
		return
	}
	c.progress = &p
	step := c.step.Name // c is the next step's once this one is over
	e.mu.Unlock()
	if e.opts.Observer != nil {
		e.opts.Observer.Progress(step, p)
	}
}
