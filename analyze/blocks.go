package analyze

import "iter"

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
// be reported.
func (a *Analyzer) Blocks() iter.Seq[Block] {
	return func(yield func(Block) bool) {
		for bi := range a.blocks.all() {
			b := a.blocks.at(bi)
			g := &a.groups[b.group]
			t := a.tasks.at(b.task)
			out := Block{Process: t.process, Task: t.id, Reason: g.reason, Frames: g.frames, Group: int(b.group),
				Start: b.start, Last: b.last, Duration: b.dur, StillBlocked: a.stillBlocked(int32(bi))}
			if b.waker >= 0 {
				out.Woken, out.Waker = true, a.tasks.at(b.waker).id
			}
			if !yield(out) {
				return
			}
		}
	}
}

// Location returns the spawn location of a goroutine as the records gave
// it ("" if they did not).
func (a *Analyzer) Location(process int, task uint32) string {
	if i, ok := a.taskIdx[uint64(process)<<32|uint64(task)]; ok {
		return a.tasks.at(i).loc
	}
	return ""
}
