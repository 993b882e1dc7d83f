//go:build unix

package trigger

import (
	"os"
	"syscall"
)

// signalName is a signal's conventional name (SIGTERM, not "terminated"), for the
// signals a program asks to watch; any other prints as the runtime prints it.
func signalName(s os.Signal) string {
	sig, ok := s.(syscall.Signal)
	if !ok {
		return orNone(s)
	}
	switch sig {
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	case syscall.SIGUSR2:
		return "SIGUSR2"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	case syscall.SIGALRM:
		return "SIGALRM"
	case syscall.SIGCHLD:
		return "SIGCHLD"
	case syscall.SIGWINCH:
		return "SIGWINCH"
	case syscall.SIGTSTP:
		return "SIGTSTP"
	case syscall.SIGCONT:
		return "SIGCONT"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGSTOP:
		return "SIGSTOP"
	}
	return sig.String()
}

// uncatchable reports whether s can never be delivered to a program.
func uncatchable(s os.Signal) bool { return s == syscall.SIGKILL || s == syscall.SIGSTOP }
