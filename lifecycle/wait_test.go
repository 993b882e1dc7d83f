package lifecycle_test

import (
	"sync"
	"testing"
	"time"

	"github.com/quiesce/quiesce/internal/testwait"
)

// bound limits every wait in these tests (see internal/testwait).
const bound = testwait.Bound

// waitAll waits for wg, or fails the test saying what it waited for.
func waitAll(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("waited %v for %s", bound, what)
	}
}

func await[T any](ch <-chan T, what string) T { return testwait.Await(ch, what) }
