package analyze

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// fullDist is the reference: every value kept, quantiles by the rule dist
// documents (exact while few, else the top of the value's bucket).
type fullDist struct{ v []uint32 }

func (f *fullDist) quantile(q float64) uint64 {
	n := int64(len(f.v))
	if n == 0 {
		return 0
	}
	s := slices.Clone(f.v)
	slices.Sort(s)
	rank := int64(q*float64(n)+0.999999999) - 1
	rank = min(max(rank, 0), n-1)
	if n <= exactMax {
		return uint64(s[rank])
	}
	return min(bucketHigh(bucketOf(s[rank])), uint64(s[n-1]))
}

func (f *fullDist) countLT(v uint64) int64 {
	// exact at bucket bounds: count whole buckets below v's.
	var n int64
	for _, x := range f.v {
		if len(f.v) <= exactMax {
			if uint64(x) < v {
				n++
			}
		} else if bucketHigh(bucketOf(x)) < v {
			n++
		}
	}
	return n
}

func TestDist(t *testing.T) {
	shapes := map[string]func(r *rand.Rand) uint32{
		"narrow":  func(r *rand.Rand) uint32 { return 1000 + r.Uint32N(200) },
		"wide":    func(r *rand.Rand) uint32 { return uint32(1) << r.UintN(31) },
		"small":   func(r *rand.Rand) uint32 { return r.Uint32N(20) },
		"falling": nil, // values that go down: the buckets widen below
		"max":     func(r *rand.Rand) uint32 { return 1<<32 - 1 - r.Uint32N(3) },
	}
	qs := []float64{0, 0.01, 0.5, 0.9, 0.99, 1}
	for name, gen := range shapes {
		for _, n := range []int{0, 1, exactMax, exactMax + 1, 5000} {
			r := rand.New(rand.NewPCG(uint64(n), 7))
			var d, d1, d2 dist
			var f fullDist
			for i := range n {
				var v uint32
				if gen == nil {
					v = uint32(1<<30) >> (i % 31)
				} else {
					v = gen(r)
				}
				d.add(v)
				if i%3 == 0 {
					d1.add(v)
				} else {
					d2.add(v)
				}
				f.v = append(f.v, v)
			}
			d1.merge(&d2)
			for _, q := range qs {
				want := f.quantile(q)
				if got := d.quantile(q); got != want {
					t.Errorf("%s n=%d: quantile(%v) = %d, want %d", name, n, q, got, want)
				}
				if n > exactMax { // a merge of two parts buckets the same values
					if got := d1.quantile(q); got != want {
						t.Errorf("%s n=%d: merged quantile(%v) = %d, want %d", name, n, q, got, want)
					}
				}
			}
			for _, v := range []uint64{0, 1, 16, 1024, 1 << 20, 1 << 31} {
				if got, want := d.countLT(v), f.countLT(v); got != want {
					t.Errorf("%s n=%d: countLT(%d) = %d, want %d", name, n, v, got, want)
				}
			}
			if n > exactMax {
				if len(d.buckets) > numBuckets {
					t.Errorf("%s n=%d: %d buckets held, more than %d", name, n, len(d.buckets), numBuckets)
				}
			}
			if name == "narrow" && n == 5000 && len(d.buckets) > 2*subBuckets {
				t.Errorf("narrow: %d buckets held for values within one power of two", len(d.buckets))
			}
		}
	}
}
