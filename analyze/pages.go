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
type pages[T any] struct {
	p []*[pageLen]T
	n int32
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

// all yields the elements in order, with their indexes.
func (s *pages[T]) all() iter.Seq2[int32, *T] {
	return func(yield func(int32, *T) bool) {
		for i := range s.n {
			if !yield(i, s.at(i)) {
				return
			}
		}
	}
}
