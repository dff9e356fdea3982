package shim

// Test helpers of package shim shared with its external tests (package
// shim_test).
type SyncBuffer = syncBuffer

var Churn = churn

// SetBeforeShip sets the hook called with a group's files before each
// attempt to ship them (nil: none).
func SetBeforeShip(f func(files []string)) {
	if f == nil {
		beforeShip.Store(nil)
		return
	}
	beforeShip.Store(&f)
}
