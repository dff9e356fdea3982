// Package bridge lets shim/prom reach a session's metrics without package
// shim exporting the internal type they come in: shim sets Families at
// init (a plain assignment, no allocation).
package bridge

import "github.com/wakeshim/wakeshim/internal/metrics"

// Families returns the metric families of s, a *shim.Session (nil: the
// running session, if any; none when there is none).
var Families func(s any) []metrics.Family
