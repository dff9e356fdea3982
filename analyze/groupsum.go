package analyze

import (
	"cmp"
	"slices"
)

// Blocks summed as they come (issue 20). A block (one wait of one
// goroutine, its TaskPending records folded) can change while it is its
// goroutine's latest: a re-report lengthens it, a wake names its waker.
// Once the goroutine's next block begins it is final, and it is folded
// into its group's summary (groupSum) and dropped; the latest block of
// each goroutine is folded at the report's end, as ended or still
// blocked. So the analysis holds one block per goroutine, and per group
// sums whose size follows the group's goroutines and wakers, not the
// number of its blocks: count, total, maximum, the durations in a dist
// (exact up to exactMax blocks, then within 1/16: docs/report.md), the
// goroutines with their ended blocks (the verdicts' "woken N time(s)
// before"), the wakers with their first block (the order the report and
// the pending profile name them in). The one exception is max_at_once,
// the most blocks of a group at once, which needs each block's span:
// 16 bytes a block (spanList), not the block.
//
// Config.KeepBlocks keeps every block as well, for Analyzer.Blocks
// (dumpdiff, fleet's ship).

// groupSum is a group's blocks summed.
type groupSum struct {
	count, total, maxDur int64
	durs                 dist // µs (a block's duration is whole µs)
	// The goroutines with a block here, each with its ended blocks: the
	// first (task1, its index + 1) inline, the others in tasks. (Most
	// groups of a trace of many goroutines have one goroutine and one
	// waker: two maps for each were most of the summaries' memory.)
	task1, task1Ended int32
	tasks             map[int32]int32
	lastTask          int32 // the latest goroutine + 1, saving the map on a run of one goroutine
	// The wakers by waker task (-1: none): the first inline (w1, if
	// w1.n > 0), the others in wakers.
	waker1       int32
	w1           wakerSum
	wakers       map[int32]*wakerSum
	ended        int64 // blocks ended (not still blocked at the end)
	longestEnded int64
	runtimeWoke  bool // an ended block was ended by the runtime
	still        int  // blocks still blocked at the end
	spans        spanList
}

// wakerSum is a group's blocks ended by one waker: their count, total
// duration, and the first one's sequence number (blocks numbered in the
// order they began to be reported).
type wakerSum struct {
	n, ns int64
	first int64
}

// fold adds block b of its goroutine to its group's sums; ended tells
// whether it ended (did not stay blocked to the end).
func (a *Analyzer) fold(b *block, ended bool) {
	s := &a.groups[b.group].sum
	s.total += b.dur
	s.maxDur = max(s.maxDur, b.dur)
	s.durs.add(uint32(min(b.dur/1000, 1<<32-1)))
	s.spans.add(b.start, b.start+b.dur)
	w := s.waker(b.waker, b.seq)
	w.n++
	w.ns += b.dur
	w.first = min(w.first, b.seq) // (folded in the order they ended, not began)
	if ended {
		s.ended++
		if s.task1 == b.task+1 {
			s.task1Ended++
		} else {
			s.tasks[b.task]++
		}
		s.longestEnded = max(s.longestEnded, b.dur)
		if b.waker == 0 {
			s.runtimeWoke = true
		}
	} else {
		s.still++
	}
	if a.cfg.KeepBlocks {
		a.kept = append(a.kept, *b)
	}
}

// seen notes a new block of goroutine ti in group gi.
func (s *groupSum) seen(ti int32) {
	s.count++
	if s.lastTask == ti+1 {
		return
	}
	s.lastTask = ti + 1
	if s.task1 == 0 {
		s.task1 = ti + 1
		return
	}
	if s.task1 == ti+1 {
		return
	}
	if s.tasks == nil {
		s.tasks = map[int32]int32{}
	}
	if _, ok := s.tasks[ti]; !ok {
		s.tasks[ti] = 0
	}
}

// endedOf returns the ended blocks here of goroutine ti.
func (s *groupSum) endedOf(ti int32) int32 {
	if s.task1 == ti+1 {
		return s.task1Ended
	}
	return s.tasks[ti]
}

// goroutines returns how many goroutines had a block here.
func (s *groupSum) goroutines() int {
	if s.task1 == 0 {
		return 0
	}
	return 1 + len(s.tasks)
}

// waker returns the sums of waker wi (-1: none), made if new with block
// seq as its first.
func (s *groupSum) waker(wi int32, seq int64) *wakerSum {
	if s.w1.n == 0 || s.waker1 == wi {
		if s.w1.n == 0 {
			s.waker1, s.w1.first = wi, seq
		}
		return &s.w1
	}
	w := s.wakers[wi]
	if w == nil {
		if s.wakers == nil {
			s.wakers = map[int32]*wakerSum{}
		}
		w = &wakerSum{first: seq}
		s.wakers[wi] = w
	}
	return w
}

// eachWaker calls f with each waker (-1: none) and its sums.
func (s *groupSum) eachWaker(f func(int32, *wakerSum)) {
	if s.w1.n > 0 {
		f(s.waker1, &s.w1)
	}
	for wi, w := range s.wakers {
		f(wi, w)
	}
}

// foldLatest folds each goroutine's latest block, once, at the end: the
// blocks still blocked (in the order they began) are a.stuck.
func (a *Analyzer) foldLatest() {
	if a.folded {
		return
	}
	a.folded = true
	for ti, t := range a.tasks.all() {
		if t.block < 0 {
			continue
		}
		if t.ranAfter {
			a.fold(a.cur.at(t.block), true)
		} else {
			a.fold(a.cur.at(t.block), false)
			a.stuck = append(a.stuck, ti)
		}
	}
	slices.SortFunc(a.stuck, func(x, y int32) int { return cmp.Compare(a.latest(x).seq, a.latest(y).seq) })
}

// latest is goroutine ti's latest block (it has one).
func (a *Analyzer) latest(ti int32) *block { return a.cur.at(a.tasks.at(ti).block) }
