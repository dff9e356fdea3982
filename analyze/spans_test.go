package analyze

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// maxAtOnceRef is maxAtOnce as it was: both sorted by slices.Sort, then
// swept.
func maxAtOnceRef(starts, ends []int64) int {
	starts, ends = slices.Clone(starts), slices.Clone(ends)
	slices.Sort(starts)
	slices.Sort(ends)
	n, best, j := 0, 0, 0
	for _, s := range starts {
		for j < len(ends) && ends[j] <= s {
			n--
			j++
		}
		n++
		best = max(best, n)
	}
	return best
}

// checkSpans compares a spanList of the spans with the reference: the
// sorted sequences and the maximum.
func checkSpans(t *testing.T, name string, starts, ends []int64, scratch *[]int64) {
	t.Helper()
	var l spanList
	for i := range starts {
		l.add(starts[i], ends[i])
	}
	want := maxAtOnceRef(starts, ends)
	if got := l.maxAtOnce(scratch); got != want {
		t.Fatalf("%s: maxAtOnce %d, want %d", name, got, want)
	}
	for _, x := range []struct {
		q *spanSeq
		v []int64
	}{{&l.starts, starts}, {&l.ends, ends}} {
		if x.q.n != len(x.v) {
			t.Fatalf("%s: %d values, want %d", name, x.q.n, len(x.v))
		}
		sorted := slices.Sorted(slices.Values(x.v))
		for i, v := range sorted {
			if got := x.q.at(i); got != v {
				t.Fatalf("%s: value %d of %d is %d, want %d", name, i, len(sorted), got, v)
			}
		}
		for i, c := range x.q.chunks {
			if i < len(x.q.chunks)-1 && len(c) != spanChunk {
				t.Fatalf("%s: chunk %d of %d holds %d", name, i, len(x.q.chunks), len(c))
			}
		}
	}
}

// TestSpanSort: the radix sort of spanSeq and maxAtOnce against
// slices.Sort and the old sweep, on spans of many sizes (one chunk, a few,
// many) and shapes (as a trace's: many goroutines' spans folded out of
// order; sorted; reversed; all equal; narrow and full int64 ranges, where
// passes are skipped or 6 needed).
func TestSpanSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var scratch []int64
	sizes := []int{0, 1, 2, 7, spanChunk - 1, spanChunk, spanChunk + 1, 3*spanChunk + 17, 70000}
	shapes := map[string]func(i, n int) (int64, int64){
		"folded": func(i, n int) (int64, int64) { // as idle's: starts ~ i, durations up to a second
			s := int64(i)*120_000 + r.Int64N(1_000_000_000)
			return s, s + r.Int64N(900_000_000)
		},
		"sorted":  func(i, n int) (int64, int64) { return int64(i) * 1000, int64(i)*1000 + 500 },
		"reverse": func(i, n int) (int64, int64) { return int64(n-i) * 1000, int64(n-i)*1000 + 5000 },
		"equal":   func(i, n int) (int64, int64) { return 42, 42 },
		"narrow": func(i, n int) (int64, int64) { // one digit's range
			s := r.Int64N(300)
			return s, s + r.Int64N(3)
		},
		"negative": func(i, n int) (int64, int64) { // blocks that began before the trace
			s := -r.Int64N(1 << 40)
			return s, s + r.Int64N(1<<41)
		},
		"full": func(i, n int) (int64, int64) { // 64-bit range: 6 passes
			s := int64(r.Uint64())
			switch i % 97 {
			case 0:
				s = math.MinInt64
			case 1:
				s = math.MaxInt64
			}
			return s, s
		},
		"highbits": func(i, n int) (int64, int64) { // low digits the same: passes skipped
			s := r.Int64N(8) << 40
			return s, s + 1<<40
		},
	}
	for name, f := range shapes {
		for _, n := range sizes {
			starts, ends := make([]int64, n), make([]int64, n)
			for i := range n {
				starts[i], ends[i] = f(i, n)
			}
			checkSpans(t, name, starts, ends, &scratch)
		}
	}
}

// FuzzSpanSort: the radix sort and maxAtOnce against the reference, on
// spans made of the input's bytes (repeated to more than a chunk).
func FuzzSpanSort(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, uint16(5000))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x80}, uint16(9000))
	f.Fuzz(func(t *testing.T, data []byte, n uint16) {
		if len(data) < 16 {
			return
		}
		var scratch []int64
		m := int(n)
		starts, ends := make([]int64, m), make([]int64, m)
		for i := range m {
			o := (i * 16) % (len(data) - 15)
			s := int64(binary.LittleEndian.Uint64(data[o:]))
			d := int64(binary.LittleEndian.Uint64(data[o+8:]) >> uint(i%64))
			starts[i], ends[i] = s^int64(i), s+d
		}
		checkSpans(t, "fuzz", starts, ends, &scratch)
	})
}
