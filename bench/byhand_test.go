package bench

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// byHand is the peer baseline: a protoactor actor whose Stopping handler runs the
// same three steps as threeSteps, written by hand the way a careful user writes
// them. drain (defer-flag) and disconnect (defer-reraise) each run on a goroutine
// of their own, shielded from the stop's cancellation with context.WithoutCancel,
// while the handler waits in a select that notes a request instead of obeying it;
// a request during disconnect is raised again once it returns, and skips close.
// close (plain) runs inline, on the stop's ctx. A panic in a step is recovered and
// kept as its error. It gives no report, no notice, no refusal and no count: that
// is what Quiesce adds for the same steps.
type byHand struct {
	*node
	deferred bool  // a request came while a deferred step ran
	err      error // the first step error
}

func (a *byHand) Receive(c actor.Context) {
	if _, ok := c.Message().(*actor.Stopping); ok {
		a.stopping()
		return
	}
	a.node.Receive(c)
}

// stopping runs the steps. Its ctx stands for the stop's: whoever wants this stop
// to hurry would cancel it (protoactor has no such thing; here nobody does).
func (a *byHand) stopping() {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	a.keep(a.shielded(ctx, a.step)) // drain: defer-flag
	err := a.shielded(ctx, a.step)  // disconnect: defer-reraise
	a.keep(err)
	if ctx.Err() != nil {
		a.keep(context.Cause(ctx)) // raised again: the plain steps after it are skipped
		return
	}
	a.keep(a.step(ctx)) // close: plain, inline
}

// shielded runs op on its own goroutine with ctx's values but not its
// cancellation, and waits for it; ctx done before op returns is noted as deferred.
func (a *byHand) shielded(ctx context.Context, op func(context.Context) error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v", r)
			}
		}()
		done <- op(context.WithoutCancel(ctx))
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		a.deferred = true
		return <-done
	}
}

// step is each of the three steps: what threeSteps' steps do.
func (a *byHand) step(context.Context) error {
	a.t.steps.Add(1)
	return nil
}

func (a *byHand) keep(err error) {
	if a.err == nil {
		a.err = err
	}
}
