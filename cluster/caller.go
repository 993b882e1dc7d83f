package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/mailbox"
)

// CallerConfig tunes a Caller. The zero value works.
type CallerConfig struct {
	// Timeout bounds a Request whose ctx has no deadline. Zero means 30 s.
	Timeout time.Duration
	// ResolveTimeout bounds one activation request to an identity's owner. Zero
	// means 2 s.
	ResolveTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before an attempt after a refusal:
	// it doubles from MinBackoff up to MaxBackoff. Zero means 5 ms and 200 ms.
	MinBackoff, MaxBackoff time.Duration
	// Avoid is how long a member found leaving (a refusal said so) is kept out of
	// the caller's resolution. Zero means 1 minute.
	Avoid time.Duration
}

// Caller sends requests to grains, and sends a request again, to the identity's new
// owner, when it was refused, under one total deadline. The Member installed on the
// cluster's actor system (Install, required) keeps what it learns of leaving members.
type Caller struct {
	c   *cluster.Cluster
	m   *Member
	cfg CallerConfig
}

// NewCaller returns a Caller for c, whose actor system must have a Member.
func NewCaller(c *cluster.Cluster, cfg CallerConfig) (*Caller, error) {
	if c == nil || c.ActorSystem == nil {
		return nil, errors.New("quiesce/cluster: NewCaller: a nil cluster (build it with cluster.New, then Install)")
	}
	m := Of(c.ActorSystem)
	if m == nil {
		return nil, fmt.Errorf("quiesce/cluster: NewCaller: no Member installed on the actor system")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.ResolveTimeout <= 0 {
		cfg.ResolveTimeout = 2 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 5 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 200 * time.Millisecond
	}
	if cfg.Avoid <= 0 {
		cfg.Avoid = time.Minute
	}
	return &Caller{c: c, m: m, cfg: cfg}, nil
}

// Attempts is how many times a Request sent its message, and resolved its
// identity; Request returns them with an error.
type Attempts struct{ Sent, Resolved, Refused int }

// CallError is a Request that failed: why, and what it tried.
type CallError struct {
	Identity, Kind string
	Attempts       Attempts
	Err            error      // the last error: ctx's cause, or one that cannot be retried
	Last           error      // the last refusal or resolution failure before it, if any
	PID            *actor.PID // the activation the message was last sent to, if any
}

func (e *CallError) Error() string {
	s := fmt.Sprintf("quiesce/cluster: %s/%s: %v (sent %d times, refused %d", e.Kind, e.Identity, e.Err, e.Attempts.Sent, e.Attempts.Refused)
	if e.PID != nil {
		s += ", last to " + mailbox.PIDText(e.PID)
	}
	s += ")"
	if e.Last != nil {
		s += "; last: " + e.Last.Error()
	}
	return s
}

func (e *CallError) Unwrap() []error {
	if e.Last == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Last}
}

// Request sends msg to the grain identity of kind and returns its answer, under
// ctx's deadline for the whole call (CallerConfig.Timeout if it has none).
//
// A message refused (a *mailbox.Refused: the grain is stopping, full, or its member
// is leaving) or dead-lettered (the grain had gone) was not handled, so Request
// resolves the identity again and sends it again, after a backoff: a refusal whose
// cause is ErrMemberLeaving keeps that member out of the resolution, which asks the
// owner among the other members. An answer that does not come by the deadline may
// have been handled: Request never sends that message again, and returns the
// error (actor.ErrTimeout).
func (k *Caller) Request(ctx context.Context, identity, kind string, msg any) (any, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, k.cfg.Timeout)
		defer cancel()
	}
	ci := cluster.NewClusterIdentity(identity, kind)
	var at Attempts
	var last error
	var sentTo *actor.PID
	backoff := k.cfg.MinBackoff
	fail := func(err error) (any, error) {
		return nil, &CallError{Identity: identity, Kind: kind, Attempts: at, Err: err, Last: last, PID: sentTo}
	}
	retry := func(err error) error {
		last = err
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, k.cfg.MaxBackoff)
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return fail(context.Cause(ctx))
		}
		pid, err := k.resolve(ctx, ci, &at)
		if err != nil {
			if err := retry(err); err != nil {
				return fail(err)
			}
			continue
		}
		at.Sent++
		sentTo = pid
		done := k.m.sending(pid.Address)
		res, err := qactor.Result(k.c.ActorSystem.Root.RequestFuture(pid, msg, remaining(ctx, k.cfg.Timeout)))
		done()
		var refused *mailbox.Refused
		switch {
		case err == nil:
			return res, nil
		case errors.As(err, &refused):
			at.Refused++
			k.c.PidCache.RemoveByValue(identity, kind, pid)
			if errors.Is(err, ErrMemberLeaving) {
				k.m.mark(pid.Address, time.Now().Add(k.cfg.Avoid))
			}
		case errors.Is(err, actor.ErrDeadLetter):
			k.c.PidCache.RemoveByValue(identity, kind, pid)
		default:
			return fail(err) // it may have been handled: never sent twice
		}
		if err := retry(err); err != nil {
			return fail(err)
		}
	}
}

// resolve returns the PID of ci's activation: the cached one, or the one its owner
// among the members that are not leaving activates.
func (k *Caller) resolve(ctx context.Context, ci *cluster.ClusterIdentity, at *Attempts) (*actor.PID, error) {
	leaving := k.m.leavingAddrs()
	if pid, ok := k.c.PidCache.Get(ci.Identity, ci.Kind); ok && pid != nil && !leaving[pid.Address] {
		return pid, nil
	}
	owner := k.m.owner(ci, leaving, false)
	if owner == "" {
		return nil, fmt.Errorf("quiesce/cluster: no member for kind %q", ci.Kind)
	}
	at.Resolved++
	d := min(k.cfg.ResolveTimeout, remaining(ctx, k.cfg.ResolveTimeout))
	done := k.m.sending(owner)
	defer done()
	res, err := k.c.ActorSystem.Root.RequestFuture(actor.NewPID(owner, disthash.PartitionActivatorActorName),
		&cluster.ActivationRequest{ClusterIdentity: ci}, d).Result()
	if err != nil {
		return nil, fmt.Errorf("quiesce/cluster: activate %s at %s: %w", ci.AsKey(), owner, err)
	}
	r, ok := res.(*cluster.ActivationResponse)
	if !ok || r.Pid == nil {
		return nil, fmt.Errorf("quiesce/cluster: activate %s at %s: no activation", ci.AsKey(), owner)
	}
	k.c.PidCache.Set(ci.Identity, ci.Kind, r.Pid)
	return r.Pid, nil
}
