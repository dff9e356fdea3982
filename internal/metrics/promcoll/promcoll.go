// Package promcoll gives the families of package metrics as a
// prometheus.Collector, for programs with their own registry (shim/prom)
// and for wakeshim attach, which serve them with promhttp. It is apart
// from package metrics so that the shim, linked into every program that
// imports shim/auto, does not link Prometheus' client library.
package promcoll

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wakeshim/wakeshim/internal/metrics"
)

// Collector collects the families its function returns.
type Collector struct {
	families func() []metrics.Family
	descs    map[string]*prometheus.Desc
}

// New returns a Collector of the families fams returns (nil: none now).
// The families must keep their names, kinds and label names from call to
// call: the descriptions are made from a first call.
func New(fams func() []metrics.Family) *Collector {
	c := &Collector{families: fams, descs: map[string]*prometheus.Desc{}}
	all := metrics.New(0)
	all.SetLeaked(nil, nil) // (every family, for the descriptions)
	for _, f := range all.Families(metrics.Extra{GensLost: map[string]int64{}}) {
		c.descs[f.Name] = prometheus.NewDesc(f.Name, f.Help, f.Labels, nil)
	}
	return c
}

// Describe sends the descriptions of every family.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect sends the metrics now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.families() {
		d := c.descs[f.Name]
		if d == nil {
			continue
		}
		for _, m := range f.Metrics {
			if m.Hist != nil {
				buckets := make(map[float64]uint64, len(m.Hist.Bounds))
				for i, le := range m.Hist.Bounds {
					buckets[le] = m.Hist.Cumulative[i]
				}
				ch <- prometheus.MustNewConstHistogram(d, m.Hist.Count, m.Hist.Sum, buckets, m.Values...)
				continue
			}
			vt := prometheus.CounterValue
			if f.Kind == metrics.Gauge {
				vt = prometheus.GaugeValue
			}
			ch <- prometheus.MustNewConstMetric(d, vt, m.Value, m.Values...)
		}
	}
}
