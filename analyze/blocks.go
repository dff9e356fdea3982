package analyze

import (
	"cmp"
	"iter"
	"slices"
)

// Block is one wait of one goroutine: its TaskPending records, a block
// re-reported while it lasted, folded into one. It is what dumpdiff and
// report share: the blocks, who ended them, and which never ended.
type Block struct {
	Process int
	Task    uint32
	// Reason is the wait reason (the pseudo-frame without brackets, "" if
	// none); Frames the stack, innermost first (shared: do not modify).
	Reason string
	Frames []string
	// Group numbers the distinct reason + stack pairs, in the order first
	// seen.
	Group int
	// Start is when the block began (the record's time minus its
	// duration), Last the time of its last record, Duration the largest
	// reported (ns on the time line).
	Start, Last, Duration int64
	// Woken tells whether a WakeEvent ended it; Waker is then the waker
	// goroutine (0: the runtime, no goroutine).
	Woken bool
	Waker uint32
	// StillBlocked: the goroutine did not run again after the block's
	// last record.
	StillBlocked bool
}

// Blocks iterates over the blocks seen so far, in the order they began to
// be reported. It needs Config.KeepBlocks (it yields nothing else but the
// goroutines' latest blocks).
func (a *Analyzer) Blocks() iter.Seq[Block] {
	return func(yield func(Block) bool) {
		all := make([]*block, 0, len(a.kept)+64)
		if !a.folded {
			for i := range a.kept {
				all = append(all, &a.kept[i])
			}
		} else { // the kept ones have the latest blocks at their end
			for i := range a.kept {
				if b := &a.kept[i]; !a.isLatest(b) {
					all = append(all, b)
				}
			}
		}
		for _, t := range a.tasks.all() {
			if t.block >= 0 {
				all = append(all, a.cur.at(t.block))
			}
		}
		slices.SortFunc(all, func(x, y *block) int { return cmp.Compare(x.seq, y.seq) })
		for _, b := range all {
			g := &a.groups[b.group]
			t := a.tasks.at(b.task)
			out := Block{Process: t.process, Task: t.id, Reason: g.reason, Frames: g.frames, Group: int(b.group),
				Start: b.start, Last: b.last, Duration: b.dur, StillBlocked: a.isLatest(b) && !t.ranAfter}
			if b.waker >= 0 {
				out.Woken, out.Waker = true, a.tasks.at(b.waker).id
			}
			if !yield(out) {
				return
			}
		}
	}
}

// isLatest tells whether b is (a copy of) its goroutine's latest block.
func (a *Analyzer) isLatest(b *block) bool {
	t := a.tasks.at(b.task)
	return t.block >= 0 && a.cur.at(t.block).seq == b.seq
}

// Location returns the spawn location of a goroutine as the records gave
// it ("" if they did not).
func (a *Analyzer) Location(process int, task uint32) string {
	if i, ok := a.taskIdx[uint64(process)<<32|uint64(task)]; ok {
		return a.tasks.at(i).loc
	}
	return ""
}
