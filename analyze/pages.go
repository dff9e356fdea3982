package analyze

import "iter"

// pages is a growable array of T held in fixed pages of pageLen elements,
// for the per-goroutine, per-wake-pair and per-block state (Analyzer.tasks,
// chainState.tasks, Analyzer.pairL, Analyzer.blocks). A slice
// grown by append copies every element at each doubling, and holds the
// old array and the new one until the garbage collector frees the old:
// on a trace of 50,000 goroutines (Go's runtime tests), those copies were
// 16% of report's CPU, into fresh memory, and the doubling's slack a
// large part of its peak memory. Growing pages copies nothing, and a
// pointer to an element stays valid while it grows.
//
// An element that is no longer needed can be released (release): once
// every element of a page is, the page is freed (the state of the
// goroutines that ended, analyze's End). A released element must not be
// used again; at of an element on a freed page panics.
type pages[T any] struct {
	p []*[pageLen]T
	n int32
	// gone counts each page's released elements (nil: none released).
	gone []uint16
}

const (
	pageBits = 8
	pageLen  = 1 << pageBits
)

func (s *pages[T]) len() int { return int(s.n) }

// at returns the i-th element, 0 <= i < len.
func (s *pages[T]) at(i int32) *T {
	return &s.p[i>>pageBits][i&(pageLen-1)]
}

// push appends v and returns its index.
func (s *pages[T]) push(v T) int32 {
	i := s.n
	if int(i)>>pageBits == len(s.p) {
		s.p = append(s.p, new([pageLen]T))
	}
	*s.at(i) = v
	s.n++
	return i
}

// release tells that element i is no longer needed (once for each):
// its page is freed when all of its elements are.
func (s *pages[T]) release(i int32) {
	pg := int(i >> pageBits)
	if len(s.gone) <= pg {
		s.gone = append(s.gone, make([]uint16, len(s.p)-len(s.gone))...)
	}
	s.gone[pg]++
	if s.gone[pg] == pageLen {
		s.p[pg] = nil
	}
}

// has tells whether element i's page is still held (false: every
// element of it was released).
func (s *pages[T]) has(i int32) bool { return s.p[i>>pageBits] != nil }

// heldPages returns the number of pages held.
func (s *pages[T]) heldPages() int {
	n := 0
	for _, p := range s.p {
		if p != nil {
			n++
		}
	}
	return n
}

// all yields the elements in order, with their indexes, but for those on
// freed pages (a released element on a page still held is yielded).
func (s *pages[T]) all() iter.Seq2[int32, *T] {
	return func(yield func(int32, *T) bool) {
		for pi, p := range s.p {
			if p == nil {
				continue // (whole: a sweep of the pages held costs what they hold)
			}
			base := int32(pi) << pageBits
			for j := range min(int32(pageLen), s.n-base) {
				if !yield(base+j, &p[j]) {
					return
				}
			}
		}
	}
}
