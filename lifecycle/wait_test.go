package lifecycle_test

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// bound limits every wait in these tests outside a synctest bubble (inside one,
// synctest reports a deadlock by itself): far longer than anything here takes, so
// that running out of it means a fault, reported as a failure that names what was
// awaited instead of a hang until the package timeout.
const bound = 10 * time.Second

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

// await is a bounded receive for an example, which has no t: it panics, saying
// what it waited for, and the panic fails the example by name.
func await[T any](ch <-chan T, what string) T {
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		panic(fmt.Sprintf("waited %v for %s", bound, what))
	}
}
