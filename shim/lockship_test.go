//go:build unix

package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestLockShip: a records file being shipped is skipped by a second
// shipper until the first is done, and a file gone cannot be locked.
func TestLockShip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "prog-7-000001.bin")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	unlock, ok := lockShip(p)
	if !ok {
		t.Fatal("first lock refused")
	}
	if _, ok := lockShip(p); ok {
		t.Error("second lock taken while the first is held")
	}
	unlock()
	unlock2, ok := lockShip(p)
	if !ok {
		t.Fatal("lock refused after unlock")
	}
	unlock2()
	os.Remove(p)
	if _, ok := lockShip(p); ok {
		t.Error("lock of a removed file")
	}
	if !processAlive(os.Getpid()) {
		t.Error("this process taken for gone")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WAKESHIM=")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if processAlive(cmd.Process.Pid) {
		t.Errorf("pid %d of a process that exited taken for alive", cmd.Process.Pid)
	}
}
