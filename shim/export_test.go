package shim

// Test helpers of package shim shared with its external tests (package
// shim_test).
type SyncBuffer = syncBuffer

var Churn = churn
