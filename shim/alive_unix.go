//go:build unix

package shim

import (
	"errors"
	"os"
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

// lockShip takes an advisory lock on a records file for the time it is
// shipped, so that two processes shipping the files of one that ended
// do not both load a file: ok is false when another holds it (or the
// file is gone).
func lockShip(path string) (unlock func(), ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return func() { f.Close() }, true // closing releases the lock
}
