//go:build !unix

package trigger

import "os"

// signalName is the signal as the runtime prints it.
func signalName(s os.Signal) string { return orNone(s) }

// uncatchable reports whether s can never be delivered to a program.
func uncatchable(s os.Signal) bool { return s == os.Kill }
