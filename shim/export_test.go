package shim

import "time"

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

// SetShipCharge sets the cost charged to the CPU budget for each load,
// from the one measured (nil: the measured one).
func SetShipCharge(f func(measured time.Duration) time.Duration) {
	if f == nil {
		shipCharge.Store(nil)
		return
	}
	shipCharge.Store(&f)
}

// SetStartDebt sets the cost charged to each new session's budget at
// Start (0: none).
func SetStartDebt(d time.Duration) { startDebt.Store(int64(d)) }
