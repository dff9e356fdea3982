//go:build !unix

package shim

// processAlive cannot tell here: every other process is taken for alive,
// so that its files are left to its own shipper (docs/fleet.md).
func processAlive(pid int) bool { return true }

// lockShip cannot lock here: only the processes that are gone are
// shipped by others, and none is taken for gone.
func lockShip(path string) (unlock func(), ok bool) { return func() {}, true }
