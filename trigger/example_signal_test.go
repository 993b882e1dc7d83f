//go:build unix

package trigger_test

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/quiesce/quiesce/trigger"
)

// The first signal starts a graceful stop, the second forces it. (The example sends
// them to itself; a program's users send them with Ctrl-C or kill.)
func ExampleSignal() {
	w, err := trigger.Watch(context.Background(), trigger.Signal(syscall.SIGUSR1, syscall.SIGUSR2))
	if err != nil {
		panic(err)
	}
	defer w.Stop()

	_ = syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	if wait(w.Context()) {
		fmt.Println("drain:", w.Cause())
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	if wait(w.ForceContext()) {
		fmt.Println("force:", w.ForceCause())
	}
	// Output:
	// drain: signal SIGUSR2
	// force: second signal SIGUSR1
}
