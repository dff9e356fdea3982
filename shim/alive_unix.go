//go:build unix

package shim

import (
	"errors"
	"syscall"
)

// processAlive tells whether a process of that pid runs (or may: a pid
// we may not signal is another user's live process).
func processAlive(pid int) bool {
	if pid <= 0 {
		return true
	}
	err := syscall.Kill(pid, 0)
	return !errors.Is(err, syscall.ESRCH)
}
