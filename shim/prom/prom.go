// Package prom gives a shim session's metrics as a prometheus.Collector,
// for programs that serve their own Prometheus registry:
//
//	reg.MustRegister(prom.NewCollector(nil)) // the running session's
//
// The metrics are those WAKESHIM=...,metrics=ADDR serves at /metrics
// (docs/fleet.md). They are in a package of their own so that package
// shim, which every program importing shim/auto links, does not link
// Prometheus' client library (some 1,800 heap allocations at init).
package prom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wakeshim/wakeshim/internal/metrics"
	"github.com/wakeshim/wakeshim/internal/metrics/promcoll"
	"github.com/wakeshim/wakeshim/shim"
	"github.com/wakeshim/wakeshim/shim/internal/bridge"
)

// NewCollector returns a Collector of s's metrics; with s nil, of the
// session running at each collection (shim.Current: none when none runs,
// so a program can register it before the shim starts, or without it).
func NewCollector(s *shim.Session) prometheus.Collector {
	var v any
	if s != nil {
		v = s
	}
	return promcoll.New(func() []metrics.Family { return bridge.Families(v) })
}
