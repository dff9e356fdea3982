package analyze

import (
	"math/bits"
	"slices"
)

// spanList is the spans of a group's blocks, for max_at_once: their
// starts and ends (start + duration), each sorted apart at the end.
//
// The spans come in the order their blocks are folded (at the next block
// of their goroutine), far from sorted: on the corpus's idle trace, half
// the neighbours of its 330,000 starts are out of order, by up to a
// second. Sorted by pdqsort at the report's end they were 12% of
// report's CPU there, and the slices' growth by append 3% more. Now they
// are held in chunks that never move (spanSeq) and sorted by radix
// (spanSeq.sort): the same sorted values, so the same maximum.
type spanList struct {
	starts, ends spanSeq
}

// add takes a block's span.
func (l *spanList) add(start, end int64) {
	l.starts.push(start)
	l.ends.push(end)
}

// maxAtOnce is the most spans open at once (an end before a start at the
// same time). It sorts the spans in place; scratch is a buffer to reuse
// from call to call.
func (l *spanList) maxAtOnce(scratch *[]int64) int {
	l.starts.sort(scratch)
	l.ends.sort(scratch)
	n, best, j, m := 0, 0, 0, l.ends.n
	for _, c := range l.starts.chunks {
		for _, s := range c {
			for j < m && l.ends.at(j) <= s {
				n--
				j++
			}
			n++
			best = max(best, n)
		}
	}
	return best
}

const (
	spanChunkBits = 12
	spanChunk     = 1 << spanChunkBits // int64s: 32 KB
	// radixBits bounds the digit of spanSeq.sort's passes (2048 buckets).
	radixBits = 11
)

// spanSeq is a sequence of int64s in chunks of spanChunk (the last one
// partial), grown without copying, but for the first chunk: it grows by
// append as a slice does, so that a group of a few blocks holds a few.
type spanSeq struct {
	chunks [][]int64 // each spanChunk long but the last
	n      int
}

func (q *spanSeq) push(v int64) {
	k := len(q.chunks)
	if k == 0 || len(q.chunks[k-1]) == spanChunk {
		var c []int64
		if k > 0 {
			c = make([]int64, 0, spanChunk)
		}
		q.chunks = append(q.chunks, c)
		k++
	}
	q.chunks[k-1] = append(q.chunks[k-1], v)
	q.n++
}

func (q *spanSeq) at(i int) int64 {
	return q.chunks[i>>spanChunkBits][i&(spanChunk-1)]
}

// sort sorts the sequence in place: one chunk by slices.Sort; more, if
// not sorted already, by a least-significant-digit radix sort of the
// values less the least, in as few passes of at most radixBits bits as
// their range needs (a pass whose digit is the same in every value is
// skipped), between the chunks and scratch (grown to the length).
func (q *spanSeq) sort(scratch *[]int64) {
	if len(q.chunks) <= 1 {
		if len(q.chunks) == 1 {
			slices.Sort(q.chunks[0])
		}
		return
	}
	lo, hi, prev, sorted := q.chunks[0][0], q.chunks[0][0], q.chunks[0][0], true
	for _, c := range q.chunks {
		for _, v := range c {
			sorted = sorted && v >= prev
			prev = v
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if sorted {
		return
	}
	width := bits.Len64(uint64(hi - lo)) // (the difference, exact as unsigned)
	passes := (width + radixBits - 1) / radixBits
	digit := uint((width + passes - 1) / passes)
	mask := uint64(1)<<digit - 1
	counts := make([]int, passes<<digit)
	for _, c := range q.chunks {
		for _, v := range c {
			u := uint64(v - lo)
			for p := range passes {
				counts[p<<digit+int((u>>(uint(p)*digit))&mask)]++
			}
		}
	}
	n := q.n
	if cap(*scratch) < n {
		*scratch = make([]int64, n)
	}
	buf := (*scratch)[:n]
	inBuf := false // the values are in buf, not the chunks
	for p := range passes {
		cnt := counts[p<<digit : (p+1)<<digit]
		if slices.Contains(cnt, n) { // every value has the same digit: nothing moves
			continue
		}
		sum := 0
		for d, c := range cnt {
			cnt[d] = sum
			sum += c
		}
		shift := uint(p) * digit
		if inBuf {
			for _, v := range buf {
				d := (uint64(v-lo) >> shift) & mask
				j := cnt[d]
				cnt[d]++
				q.chunks[j>>spanChunkBits][j&(spanChunk-1)] = v
			}
		} else {
			for _, c := range q.chunks {
				for _, v := range c {
					d := (uint64(v-lo) >> shift) & mask
					buf[cnt[d]] = v
					cnt[d]++
				}
			}
		}
		inBuf = !inBuf
	}
	if inBuf {
		j := 0
		for _, c := range q.chunks {
			j += copy(c, buf[j:])
		}
	}
}
