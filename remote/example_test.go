package remote_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/wrapperspb"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
	"github.com/quiesce/quiesce/policy"
	qremote "github.com/quiesce/quiesce/remote"
)

// alpha and beta are two actor systems with protoactor remote started on loopback
// and Quiesce's remote support installed on each:
//
//	r := remote.NewRemote(system, remote.Configure("127.0.0.1", 0))
//	node, err := qremote.Install(system, qremote.Config{})
//	r.Start()
//
// A component on beta is asked to stop from alpha, with a reason; a request from
// alpha during its flush is refused at once; the report comes back to alpha.
func ExampleNode() {
	flushing, release := make(chan struct{}), make(chan struct{})
	props := qactor.Component[*silent]{
		New: func() *silent { return &silent{} },
		Steps: []qactor.Step[*silent]{
			{Name: "flush", Policy: policy.DeferFlag, Timeout: time.Second, Run: func(*silent, context.Context) error {
				close(flushing)
				<-release
				return nil
			}},
			{Name: "close", Policy: policy.Plain, Timeout: time.Second, Always: true, Run: (*silent).step},
		},
	}.MustProps()
	worker, _ := beta.System.Root.SpawnNamed(props, "example-worker") // a PID of beta

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan *lifecycle.Report)
	go func() {
		rep, _ := qactor.Stop(ctx, alpha.System, worker, errors.New("deploy v2"))
		done <- rep
	}()
	<-flushing
	_, err := qactor.Result(alpha.System.Root.RequestFuture(worker, wrapperspb.String("job"), 10*time.Second))
	var refused *mailbox.Refused
	fmt.Println(errors.As(err, &refused), refused.Reason)
	fmt.Println(errors.Is(err, mailbox.ErrStopping))
	close(release)
	rep := <-done
	fmt.Println(rep.Reason, "-", rep.Verdict())
	for _, s := range rep.Steps {
		fmt.Println(s.Name, s.Status)
	}
	// Output:
	// true stop requested: deploy v2
	// true
	// stop requested: deploy v2 - all completed
	// flush completed
	// close completed
}

// A node that has not installed Quiesce's remote support gets no wire type: a
// refusal reaches its requesters as protoactor's dead letter, at once.
func ExampleNode_Speaks() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println(qa.Speaks(ctx, beta.Address()))
	fmt.Println(qa.Speaks(ctx, plain.Address()))
	// Output:
	// <nil>
	// quiesce/remote: the node does not speak Quiesce
}

// A program's own sentinel, registered under the same code on every node, still
// matches once it has crossed, as a cause or anywhere in an error.
func ExampleRegisterError() {
	errLeaving := errors.New("member leaving")
	if err := qremote.RegisterError("example.member-leaving", errLeaving); err != nil {
		fmt.Println(err)
	}
	listener, heard := spawnListener(alpha.System)
	release := make(chan struct{})
	defer close(release)
	worker, began := spawnStagedOn(beta.System, hold("drain", policy.DeferFlag, release))
	mailbox.Of(beta.System, worker).Stop(lifecycle.NewReason(lifecycle.Shutdown, errLeaving), nil)
	<-began
	alpha.System.Root.RequestWithCustomSender(worker, wrapperspb.String("job"), listener)
	refused := (<-heard).(*mailbox.Refused)
	fmt.Println(errors.Is(refused, errLeaving), refused.Reason.Kind)
	// Output:
	// true shutdown
}

// spawnStagedOn is spawnStaged for an example, which has no *testing.T.
func spawnStagedOn(sys *actor.ActorSystem, steps ...qactor.Step[*staged]) (*actor.PID, chan string) {
	began := make(chan string, 16)
	props := qactor.Component[*staged]{New: func() *staged { return &staged{began: began} }, Steps: steps}.MustProps()
	return sys.Root.Spawn(props), began
}
