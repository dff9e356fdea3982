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
	// tasks: the goroutines with a block here, each with its ended blocks.
	tasks    map[int32]int32
	lastTask int32 // tasks' latest key + 1, saving the map on a run of one goroutine
	// wakers by waker task (-1: none).
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

// spanList is the spans of a group's blocks, for max_at_once: starts and
// ends (start + duration), sorted apart at the end.
type spanList struct {
	starts, ends []int64
}

// fold adds block b of its goroutine to its group's sums; ended tells
// whether it ended (did not stay blocked to the end).
func (a *Analyzer) fold(b *block, ended bool) {
	s := &a.groups[b.group].sum
	s.total += b.dur
	s.maxDur = max(s.maxDur, b.dur)
	s.durs.add(uint32(min(b.dur/1000, 1<<32-1)))
	s.spans.starts = append(s.spans.starts, b.start)
	s.spans.ends = append(s.spans.ends, b.start+b.dur)
	w := s.wakers[b.waker]
	if w == nil {
		if s.wakers == nil {
			s.wakers = map[int32]*wakerSum{}
		}
		w = &wakerSum{first: b.seq}
		s.wakers[b.waker] = w
	}
	w.n++
	w.ns += b.dur
	w.first = min(w.first, b.seq) // (folded in the order they ended, not began)
	if ended {
		s.ended++
		s.tasks[b.task]++
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
	if s.tasks == nil {
		s.tasks = map[int32]int32{}
	}
	if _, ok := s.tasks[ti]; !ok {
		s.tasks[ti] = 0
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
			a.fold(&t.cur, true)
		} else {
			a.fold(&t.cur, false)
			a.stuck = append(a.stuck, ti)
		}
	}
	slices.SortFunc(a.stuck, func(x, y int32) int { return cmp.Compare(a.tasks.at(x).cur.seq, a.tasks.at(y).cur.seq) })
}

// maxAtOnce is the most spans open at once (an end before a start at the
// same time). It sorts the spans in place.
func (l *spanList) maxAtOnce() int {
	slices.Sort(l.starts)
	slices.Sort(l.ends)
	n, best, j := 0, 0, 0
	for _, s := range l.starts {
		for j < len(l.ends) && l.ends[j] <= s {
			n--
			j++
		}
		n++
		best = max(best, n)
	}
	return best
}
