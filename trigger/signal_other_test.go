//go:build !unix

package trigger_test

// The signal tests need unix; elsewhere only these stand-ins remain.

const childEnv = "QUIESCE_TRIGGER_TEST_CHILD"

func child(string) int { return 2 }
