package analyze

import (
	"math/bits"
	"slices"
)

// dist is a distribution of latencies in microseconds, kept in constant
// memory: exactly up to exactMax values, then in log-linear buckets (16
// per power of two, exact below 16µs), so that a quantile is within 1/16
// of the true value and the maximum is exact. It lets the analysis keep
// up with tens of millions of wakes without holding each latency.
//
// The buckets held are those from the lowest used to the highest (lo is
// the first's index): a group's blocks or a pair's latencies span a few
// powers of two, and all 464 buckets for each of the few thousand dists
// of the corpus's chanring trace were a fifth of report's heap.
type dist struct {
	n       int64
	max     uint32
	lo      int32
	exact   []uint32
	buckets []uint32 // nil until exact overflows
}

const (
	exactMax   = 64
	subBuckets = 16
	numBuckets = subBuckets + 28*subBuckets
)

func bucketOf(v uint32) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len32(v) - 5 // v>>e in [16, 32)
	return subBuckets + e*subBuckets + int(v>>e) - subBuckets
}

// bucketLow returns the smallest value of bucket i; bucketHigh the largest.
func bucketLow(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	e := (i - subBuckets) / subBuckets
	m := (i-subBuckets)%subBuckets + subBuckets
	return uint64(m) << e
}

func bucketHigh(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	return bucketLow(i+1) - 1
}

func (d *dist) add(v uint32) {
	d.n++
	d.max = max(d.max, v)
	if d.buckets == nil {
		if len(d.exact) < exactMax {
			d.exact = append(d.exact, v)
			return
		}
		d.toBuckets()
	}
	d.bump(bucketOf(v), 1)
}

// toBuckets moves the exact values into buckets.
func (d *dist) toBuckets() {
	lo, hi := numBuckets, 0
	for _, x := range d.exact {
		b := bucketOf(x)
		lo, hi = min(lo, b), max(hi, b)
	}
	if lo > hi { // none: bump places the first
		d.lo, d.buckets = 0, make([]uint32, 0, 8)
		return
	}
	d.lo, d.buckets = int32(lo), make([]uint32, hi-lo+1)
	for _, x := range d.exact {
		d.buckets[bucketOf(x)-lo]++
	}
	d.exact = nil
}

// bump adds c to bucket b, widening the buckets held to it.
func (d *dist) bump(b int, c uint32) {
	lo := int(d.lo)
	switch {
	case len(d.buckets) == 0:
		d.lo, d.buckets = int32(b), append(d.buckets, c)
		return
	case b < lo:
		nb := make([]uint32, lo-b+len(d.buckets))
		copy(nb[lo-b:], d.buckets)
		d.lo, d.buckets, lo = int32(b), nb, b
	case b >= lo+len(d.buckets):
		d.buckets = append(d.buckets, make([]uint32, b-lo-len(d.buckets)+1)...)
	}
	d.buckets[b-lo] += c
}

func (d *dist) merge(o *dist) {
	if o.buckets == nil {
		for _, v := range o.exact {
			d.add(v)
		}
		return
	}
	if d.buckets == nil {
		d.toBuckets()
	}
	for i, c := range o.buckets {
		if c != 0 {
			d.bump(int(o.lo)+i, c)
		}
	}
	d.n += o.n
	d.max = max(d.max, o.max)
}

// quantile returns the nearest-rank q-quantile: exact while the values are
// few, otherwise the top of the value's bucket (never above the maximum).
func (d *dist) quantile(q float64) uint64 {
	if d.n == 0 {
		return 0
	}
	rank := int64(q*float64(d.n)+0.999999999) - 1
	rank = min(max(rank, 0), d.n-1)
	if d.buckets == nil {
		s := append([]uint32(nil), d.exact...)
		slices.Sort(s)
		return uint64(s[rank])
	}
	var seen int64
	for i, c := range d.buckets {
		seen += int64(c)
		if seen > rank {
			return min(bucketHigh(int(d.lo)+i), uint64(d.max))
		}
	}
	return uint64(d.max)
}

// countLT returns how many values are below v; exact when v is 16 or
// less, or a power of two (the bucket bounds).
func (d *dist) countLT(v uint64) int64 {
	var n int64
	if d.buckets == nil {
		for _, x := range d.exact {
			if uint64(x) < v {
				n++
			}
		}
		return n
	}
	for i, c := range d.buckets {
		if bucketHigh(int(d.lo)+i) >= v {
			break
		}
		n += int64(c)
	}
	return n
}

func (d *dist) stats() LatencyStats {
	if d.n == 0 {
		return LatencyStats{}
	}
	return LatencyStats{Count: d.n, P50NS: int64(d.quantile(0.5)) * 1000, P99NS: int64(d.quantile(0.99)) * 1000,
		MaxNS: int64(d.max) * 1000}
}
