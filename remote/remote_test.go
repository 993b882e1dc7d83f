package remote_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/internal/testsys"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
	qremote "github.com/quiesce/quiesce/remote"
)

// errMemberLeaving stands for a program's own sentinel, registered on every node.
var errMemberLeaving = errors.New("member leaving")

func init() {
	if err := qremote.RegisterError("test.member-leaving", errMemberLeaving); err != nil {
		panic(err)
	}
}

// A long timeout: a refusal that did not cross would show as actor.ErrTimeout after
// it, and fail the test saying so.
const long = 10 * time.Second

func TestARemoteRequesterGetsTheRefusalWithItsReason(t *testing.T) {
	release := make(chan struct{})
	pid, began := spawnStaged(t, beta.System, qactor.Component[*staged]{
		Steps: []qactor.Step[*staged]{hold("drain", policy.DeferFlag, release)},
	})
	defer close(release)

	res, err := qactor.Result(alpha.System.Root.RequestFuture(pid, wrapperspb.String("hi"), long))
	require.NoError(t, err)
	assert.Equal(t, "echo: hi", res.(*wrapperspb.StringValue).Value, "running, it answers across")

	mb := mailbox.Of(beta.System, pid)
	mb.Stop(lifecycle.NewReason(lifecycle.Shutdown, fmt.Errorf("rolling: %w", errMemberLeaving)), nil)
	wait(t, began, long, "the drain step to begin")

	_, err = qactor.Result(alpha.System.Root.RequestFuture(pid, wrapperspb.String("late"), long))
	require.Error(t, err)
	require.NotErrorIs(t, err, actor.ErrTimeout, "the refusal crossed")
	assert.ErrorIs(t, err, mailbox.ErrRefused)
	assert.ErrorIs(t, err, mailbox.ErrStopping)
	assert.ErrorIs(t, err, errMemberLeaving, "a registered sentinel in the reason crosses")
	var r *mailbox.Refused
	require.ErrorAs(t, err, &r)
	assert.Same(t, mailbox.ErrStopping, r.Err, "the sentinel itself is restored")
	assert.True(t, r.Actor.Equal(pid))
	require.NotNil(t, r.Reason)
	assert.Equal(t, lifecycle.Shutdown, r.Reason.Kind)
	assert.Equal(t, "shutdown: rolling: member leaving", r.Reason.Error())
	assert.Equal(t, "late", r.Message.(*wrapperspb.StringValue).Value, "the refused message comes back")
	var reason *lifecycle.Reason
	require.ErrorAs(t, err, &reason)
	assert.Equal(t, "quiesce: "+pid.Address+"/"+pid.Id+" refused a message of type *wrapperspb.StringValue: stopping (shutdown: rolling: member leaving)",
		err.Error(), "it reads as a local refusal does, the actor named with its node")
}

func TestARemoteRequesterGetsErrFull(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	props := qactor.Component[*blocker]{
		New:      func() *blocker { return &blocker{entered: entered, release: release} },
		Capacity: 1,
	}.MustProps()
	pid := beta.System.Root.Spawn(props)
	defer func() { _ = beta.System.Root.StopFuture(pid).Wait() }()
	defer close(release)

	alpha.System.Root.Send(pid, wrapperspb.String("busy")) // taken, and blocks Receive
	wait(t, entered, long, "the first message to be taken")
	alpha.System.Root.Send(pid, wrapperspb.String("queued")) // fills the queue
	_, err := qactor.Result(alpha.System.Root.RequestFuture(pid, wrapperspb.String("one too many"), long))
	require.NotErrorIs(t, err, actor.ErrTimeout)
	assert.ErrorIs(t, err, mailbox.ErrFull)
	var r *mailbox.Refused
	require.ErrorAs(t, err, &r)
	assert.Nil(t, r.Reason, "a full queue of a running component has no stop reason")
}

type blocker struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blocker) Receive(c actor.Context) {
	if v, ok := c.Message().(*wrapperspb.StringValue); ok && v.Value == "busy" {
		b.entered <- struct{}{}
		<-b.release
	}
}

// localReport subscribes to sys's EventStream for pid's Finished.
func localReport(sys *actor.ActorSystem, pid *actor.PID) (<-chan *lifecycle.Report, func()) {
	ch := make(chan *lifecycle.Report, 1)
	sub := sys.EventStream.Subscribe(func(evt any) {
		if f, ok := evt.(*mailbox.Finished); ok && f.Actor.Id == pid.Id {
			ch <- f.Report
		}
	})
	return ch, func() { sys.EventStream.Unsubscribe(sub) }
}

func TestQactorStopOfARemotePIDReturnsTheReport(t *testing.T) {
	parentSteps := []qactor.Step[*staged]{
		{Name: "flush", Policy: policy.DeferFlag, Timeout: time.Second, Run: func(_ *staged, ctx context.Context) error {
			lifecycle.ReportProgress(ctx, "flushed", 3, 3)
			return nil
		}},
		{Name: "deregister", Policy: policy.Plain, Timeout: time.Second, Run: func(*staged, context.Context) error {
			return errors.New("registry unreachable")
		}},
	}
	child := qactor.Component[*silent]{
		New:   func() *silent { return &silent{} },
		Steps: []qactor.Step[*silent]{{Name: "close", Policy: policy.Plain, Timeout: time.Second, Run: (*silent).step}},
	}.MustProps()
	pid, _ := spawnStaged(t, beta.System, qactor.Component[*staged]{Steps: parentSteps})
	_, err := beta.System.Root.RequestFuture(pid, wrapperspb.String("warm"), long).Result()
	require.NoError(t, err)
	kid, err := beta.System.Root.SpawnNamed(child, pid.Id+"/kid") // a name only; not a child of pid
	require.NoError(t, err)
	defer func() { _ = beta.System.Root.StopFuture(kid).Wait() }()

	phase, ok := qactor.PhaseOf(alpha.System, pid)
	assert.True(t, ok)
	assert.Equal(t, lifecycle.Running, phase)

	local, unsub := localReport(beta.System, pid)
	defer unsub()
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	rep, err := qactor.Stop(ctx, alpha.System, pid, errors.New("deploy v2"))
	require.NoError(t, err)
	require.NotNil(t, rep)
	there := wait(t, local, long, "beta's own Finished")

	assert.Equal(t, there.String(), rep.String(), "the report reads the same on both nodes")
	assert.Equal(t, there.Tree(), rep.Tree())
	assert.Equal(t, lifecycle.Requested, rep.Reason.Kind)
	assert.Equal(t, "stop requested: deploy v2", rep.Reason.Error())
	require.Len(t, rep.Steps, 2)
	assert.Equal(t, lifecycle.Completed, rep.Steps[0].Status)
	require.NotNil(t, rep.Steps[0].Progress)
	assert.Equal(t, "flushed (3/3)", rep.Steps[0].Progress.String())
	assert.Equal(t, lifecycle.Failed, rep.Steps[1].Status)
	assert.EqualError(t, rep.Steps[1].Err, "registry unreachable")
	assert.Equal(t, there.Start.UnixNano(), rep.Start.UnixNano())

	phase, ok = qactor.PhaseOf(alpha.System, pid)
	assert.False(t, ok, "stopped: not a live component (phase %v)", phase)
	_, err = qactor.Stop(ctx, alpha.System, pid, nil)
	assert.ErrorIs(t, err, qactor.ErrNotComponent, "the sentinel crosses")
}

func TestChildrenReportsCrossNested(t *testing.T) {
	kid := qactor.Component[*silent]{
		New:   func() *silent { return &silent{} },
		Steps: []qactor.Step[*silent]{{Name: "close", Policy: policy.Plain, Timeout: time.Second, Run: (*silent).step}},
	}.MustProps()
	props := qactor.Component[*parent]{New: func() *parent { return &parent{kid: kid} }}.MustProps()
	pid := beta.System.Root.Spawn(props)
	_, err := beta.System.Root.RequestFuture(pid, wrapperspb.String("spawned?"), long).Result()
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	rep, err := qactor.Stop(ctx, alpha.System, pid, errors.New("tree"))
	require.NoError(t, err)
	require.Len(t, rep.Children, 2)
	for _, c := range rep.Children {
		assert.Equal(t, lifecycle.ParentStopping, c.Reason.Kind)
		var parentReason *lifecycle.Reason
		require.ErrorAs(t, c.Reason.Cause, &parentReason, "a child's reason is its parent's: a Reason in a Reason crosses")
		assert.Equal(t, "stop requested: tree", parentReason.Error())
		require.Len(t, c.Steps, 1)
		assert.Equal(t, "close", c.Steps[0].Name)
	}
}

type parent struct{ kid *actor.Props }

func (p *parent) Receive(c actor.Context) {
	if _, ok := c.Message().(*wrapperspb.StringValue); ok {
		c.Spawn(p.kid)
		c.Spawn(p.kid)
		c.Respond(wrapperspb.String("yes"))
	}
}

func TestNoticesCrossToAWatcherAndARequester(t *testing.T) {
	r1, r2, r3 := make(chan struct{}), make(chan struct{}), make(chan struct{})
	pid, began := spawnStaged(t, beta.System, qactor.Component[*staged]{
		Steps: []qactor.Step[*staged]{
			hold("flush", policy.DeferFlag, r1),
			hold("deregister", policy.Plain, r2),
			deaf("hang", r3),
		},
		AbandonAfter: 20 * time.Millisecond,
	})
	defer close(r3) // the abandoned step's goroutine ends with the test
	watcher, seen := spawnListener(alpha.System)
	requester, heard := spawnListener(alpha.System)
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	require.NoError(t, qa.Watch(ctx, pid, watcher))

	type result struct {
		rep *lifecycle.Report
		err error
	}
	stopped := make(chan result, 1)
	go func() {
		rep, err := qactor.Stop(ctx, alpha.System, pid, errors.New("deploy v2"))
		stopped <- result{rep, err}
	}()
	wait(t, began, long, "flush to begin")
	again := lifecycle.NewReason(lifecycle.Requested, errors.New("again"))
	_, err := qa.StopWith(ctx, pid, qremote.StopOptions{Reason: again, From: requester, NoWait: true})
	require.NoError(t, err)
	dc := wait(t, heard, long, "the requester's DeferredCancel").(*mailbox.DeferredCancel)
	assert.Equal(t, "flush", dc.Step)
	assert.Equal(t, policy.DeferFlag, dc.Policy)
	assert.Equal(t, mailbox.Unlimited, dc.BudgetLeft)
	assert.True(t, dc.Actor.Equal(pid))
	var cause *lifecycle.Reason
	require.ErrorAs(t, dc.Cause, &cause)
	assert.Equal(t, "stop requested: again", cause.Error())

	close(r1)
	assert.Equal(t, "deregister", wait(t, began, long, "deregister to begin"))
	_, err = qa.StopWith(ctx, pid, qremote.StopOptions{From: requester, NoWait: true})
	require.NoError(t, err)
	in := wait(t, heard, long, "the requester's Interrupted").(*mailbox.Interrupted)
	assert.Equal(t, "deregister", in.Step)
	assert.Equal(t, 2, in.StopRequests, "cancellation requests after the first")

	assert.Equal(t, "hang", wait(t, began, long, "hang to begin"))
	require.NoError(t, qactor.Force(alpha.System, errors.New("operator"), pid))
	res := wait(t, stopped, long, "the remote Stop to return")
	require.NoError(t, res.err)
	assert.Equal(t, lifecycle.SomeAbandoned, res.rep.Verdict())
	assert.ErrorIs(t, res.rep.Forced, lifecycle.ErrForced)
	assert.ErrorContains(t, res.rep.Forced, "operator")
	assert.ErrorIs(t, res.rep.Steps[1].Err, policy.ErrCallerCanceled)
	assert.Equal(t, lifecycle.Abandoned, res.rep.Steps[2].Status)
	assert.ErrorIs(t, res.rep.Steps[2].Err, lifecycle.ErrAbandoned)

	got := map[string]int{}
	var last any
	for last == nil || fmt.Sprintf("%T", last) != "*mailbox.Finished" {
		last = wait(t, seen, long, fmt.Sprintf("the watcher's Finished (seen so far: %v)", got))
		got[fmt.Sprintf("%T", last)]++
	}
	assert.Equal(t, map[string]int{
		"*mailbox.DeferredCancel": 1, "*mailbox.Interrupted": 1, "*mailbox.Forced": 1,
		"*mailbox.Abandoned": 1, "*mailbox.Finished": 1,
	}, got, "the watcher hears every notice, and the Finished last")
	fin := last.(*mailbox.Finished)
	assert.Equal(t, res.rep.String(), fin.Report.String())
}

func TestAWatcherHearsProgress(t *testing.T) {
	release := make(chan struct{})
	pid, began := spawnStaged(t, beta.System, qactor.Component[*staged]{
		Steps: []qactor.Step[*staged]{{Name: "flush", Policy: policy.DeferFlag, Run: func(s *staged, ctx context.Context) error {
			s.began <- "flush"
			<-release
			lifecycle.ReportProgress(ctx, "flushed", 1, 2)
			return nil
		}}},
	})
	watcher, seen := spawnListener(alpha.System)
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	require.NoError(t, qa.Watch(ctx, pid, watcher))
	mailbox.Of(beta.System, pid).Stop(nil, nil)
	wait(t, began, long, "flush to begin")
	close(release)
	p := wait(t, seen, long, "the progress").(*mailbox.Progressed)
	assert.Equal(t, "flush", p.Step)
	assert.Equal(t, "flushed (1/2)", p.Progress.String())
	assert.IsType(t, &mailbox.Finished{}, wait(t, seen, long, "the Finished"))
}

func TestWatchOfAStoppedComponentIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	watcher, _ := spawnListener(alpha.System)
	err := qa.Watch(ctx, actor.NewPID(beta.Address(), "no-such-actor"), watcher)
	assert.ErrorIs(t, err, qactor.ErrNotComponent)
}

func TestARemoteSpawnSendsTheActivatorNoNotices(t *testing.T) {
	res, err := alpha.Remote.SpawnNamed(beta.Address(), "quick-1", quickKind, long)
	require.NoError(t, err)
	pid := res.Pid
	assert.Equal(t, "activator", wait(t, quickParents, long, "the spawn's start hook").Id,
		"protoactor's activator is its parent")

	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	rep, err := qactor.Stop(ctx, alpha.System, pid, errors.New("scale down"))
	require.NoError(t, err)
	assert.Equal(t, "close", rep.Steps[0].Name)
	// The Finished went to the parent before the stop was over: a message to the
	// activator now comes behind it.
	_, err = beta.System.Root.RequestFuture(beta.System.NewLocalPID("activator"), &remote.Ping{}, long).Result()
	require.NoError(t, err)
	assert.Empty(t, betaLog.matching("Activator received unknown message"), "no notice reached the activator")
	assert.Empty(t, betaLog.matching("ERROR"), "beta logged no error")
}

func TestAPlainNodeNeitherCrashesNorHangs(t *testing.T) {
	release := make(chan struct{})
	pid, began := spawnStaged(t, beta.System, qactor.Component[*staged]{
		Steps: []qactor.Step[*staged]{hold("drain", policy.DeferFlag, release)},
	})
	defer close(release)
	before := qb.Stats()
	mailbox.Of(beta.System, pid).Stop(nil, nil)
	wait(t, began, long, "the drain step to begin")

	// A future on the plain node: the refusal reaches it as a dead letter, at once.
	_, err := plain.System.Root.RequestFuture(pid, wrapperspb.String("late"), long).Result()
	assert.ErrorIs(t, err, actor.ErrDeadLetter, "not actor.ErrTimeout")

	// An actor on the plain node that asked to stop hears nothing (and it is counted).
	listener, heard := spawnListener(plain.System)
	mailbox.Of(beta.System, pid).Stop(nil, listener)
	plain.System.Root.RequestWithCustomSender(pid, wrapperspb.String("from an actor"), listener)
	dl := wait(t, heard, long, "the plain actor's DeadLetterResponse").(*actor.DeadLetterResponse)
	assert.True(t, dl.Target.Equal(pid))

	after := qb.Stats()
	assert.Equal(t, before.Fallbacks+2, after.Fallbacks, "two refusals answered as dead letters")
	assert.Equal(t, before.Dropped+1, after.Dropped, "one notice not sent")
	assert.Equal(t, before.Sent, after.Sent, "nothing in wire form went to the plain node")

	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	assert.ErrorIs(t, qb.Speaks(ctx, plain.Address()), qremote.ErrPlainNode)
	plainComponent, _ := spawnStaged(t, plain.System, qactor.Component[*staged]{})
	_, err = qactor.Stop(ctx, alpha.System, plainComponent, nil)
	assert.ErrorIs(t, err, qremote.ErrPlainNode)
	_, ok := qactor.PhaseOf(alpha.System, plainComponent)
	assert.False(t, ok)
	assert.ErrorIs(t, qactor.Force(alpha.System, nil, plainComponent), qremote.ErrPlainNode)
	require.NoError(t, plain.System.Root.StopFuture(plainComponent).Wait())

	// Still alive and well: it answers a request across.
	echo := spawnEcho(plain.System)
	res, err := alpha.System.Root.RequestFuture(echo, wrapperspb.String("alive?"), long).Result()
	require.NoError(t, err)
	assert.Equal(t, "alive?", res.(*wrapperspb.StringValue).Value)
	assert.Empty(t, plainLog.matching("ERROR"), "the plain node logged no error")
}

func spawnEcho(sys *actor.ActorSystem) *actor.PID {
	return sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if v, ok := c.Message().(*wrapperspb.StringValue); ok {
			c.Respond(v)
		}
	}))
}

func TestStopWithFitsTheBudgetToTheDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	pid, began := spawnStaged(t, beta.System, qactor.Component[*staged]{
		Steps:        []qactor.Step[*staged]{deaf("hang", release)},
		AbandonAfter: 20 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	var rep *lifecycle.Report
	go func() {
		var err error
		rep, err = qa.StopWith(ctx, pid, qremote.StopOptions{
			Reason: lifecycle.NewReason(lifecycle.Shutdown, errMemberLeaving), Fit: true,
		})
		done <- err
	}()
	wait(t, began, long, "hang to begin")
	require.NoError(t, wait(t, done, long, "StopWith to return"),
		"the budget, fitted to the deadline, forced the stop and abandoned the step before it")
	assert.Equal(t, lifecycle.SomeAbandoned, rep.Verdict())
	assert.ErrorIs(t, rep.Forced, mailbox.ErrBudgetExpired)
	assert.ErrorIs(t, rep.Reason, errMemberLeaving)
}

func TestAStopThatOutlivesTheCallersDeadline(t *testing.T) {
	release := make(chan struct{})
	pid, began := spawnStaged(t, beta.System, qactor.Component[*staged]{
		Steps: []qactor.Step[*staged]{hold("drain", policy.DeferFlag, release)},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := qactor.Stop(ctx, alpha.System, pid, nil)
		done <- err
	}()
	wait(t, began, long, "drain to begin")
	cancel()
	assert.ErrorIs(t, wait(t, done, long, "Stop to return once ctx is done"), context.Canceled)
	phase, _ := qactor.PhaseOf(alpha.System, pid)
	assert.Equal(t, lifecycle.Stopping, phase, "the stop goes on there")
	local, unsub := localReport(beta.System, pid)
	defer unsub()
	close(release)
	wait(t, local, long, "the stop to end on its node")
}

func TestSpeaksProbesOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	require.NoError(t, qa.Speaks(ctx, beta.Address()))
	before := qa.Stats().Probes
	require.NoError(t, qa.Speaks(ctx, beta.Address()))
	assert.Equal(t, before, qa.Stats().Probes, "the answer is kept")
}

func TestInstallTwiceIsAnError(t *testing.T) {
	_, err := qremote.Install(alpha.System, qremote.Config{})
	assert.ErrorIs(t, err, qremote.ErrInstalled)
	assert.Same(t, qa, qremote.Of(alpha.System))
	assert.Nil(t, qremote.Of(testsys.New()))
}
