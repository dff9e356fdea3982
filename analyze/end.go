package analyze

import (
	"cmp"
	"slices"

	"github.com/wakeshim/wakeshim/records"
)

// The ends of goroutines (issue 20). A converted trace tells when a
// goroutine exits (records.Options.End, from the trace's GoDestroy); the
// v9 records do not. A goroutine that ended gets no more records, so the
// analysis folds what it holds of it into the aggregates and lets the
// rest go, and its memory follows the goroutines alive, not every
// goroutine ever seen (a trace of a million short-lived ones held 1.2 GB
// of per-goroutine state otherwise). What stays of an ended goroutine,
// and why (docs/report.md, "What the analysis keeps of an ended
// goroutine"):
//
//   - its name: id, spawn location and entry (deadName, 12 bytes, the
//     strings interned), for everything that names it after its end: wake
//     edges and their locations, wakers of groups, chains, the worst
//     latencies, the slowest wake, the timeline, the profiles' labels;
//   - its herd, if it was one (herdBest at least HerdCount: deadHerd);
//   - its chain history (chainTask and ring) while a record of a live
//     goroutine, or of another history kept, can still lead a wake chain
//     into it (chainTask.refs: a blocked interval it ended, a wake of it
//     not yet run); then it is freed, and so, in turn, may be those of
//     the goroutines it was woken by;
//   - its wake pairs, and their latencies, as they are (pairs of dead
//     goroutines are not folded: the edges' distinct goroutine counts
//     need the goroutines);
//   - its latest block is folded into its group at its end (the same
//     sums the report's end would make: a goroutine that ran after it),
//     and its slot reused.
//
// With Config.KeepBlocks (dumpdiff, ship), Blocks needs every
// goroutine's state to the end: nothing is freed.

// deadName is what names an ended goroutine: its id, and its spawn
// location and entry as indexes into Analyzer.strs.
type deadName struct {
	id         uint32
	loc, entry uint32
}

// deadHerd is the herd of an ended goroutine (task's herdBest, herdAt).
type deadHerd struct {
	ti      int32
	best    int
	at      int64
	process int
}

// End takes the end of a goroutine (it exited), in time-line order with
// the records (records.Options.End; Analyze sets it): no record names it
// after. Its state is folded and freed (see above). An end of a
// goroutine the records never named is ignored.
func (a *Analyzer) End(e *records.End) {
	if a.cfg.KeepBlocks || e.Task == 0 {
		return
	}
	k := uint64(e.Process)<<32 | uint64(e.Task)
	ti, ok := a.taskIdx[k]
	if !ok {
		return
	}
	t := a.tasks.at(ti)
	if t.block >= 0 && !t.ranAfter {
		// Still in its block at its end (the records say no more of it):
		// kept as it is, for the report's end to fold as still blocked.
		return
	}
	delete(a.taskIdx, k)
	if h := &a.hot[e.Task%uint32(len(a.hot))]; h.key == k+1 {
		*h = hotTask{}
	}
	if t.block >= 0 {
		a.fold(a.cur.at(t.block), true)
		a.curFree = append(a.curFree, t.block)
		t.block = -1
	}
	if t.herdBest >= a.cfg.HerdCount {
		a.deadHerds = append(a.deadHerds, deadHerd{ti: ti, best: t.herdBest, at: t.herdAt, process: t.process})
	}
	for int(ti) >= a.names.len() {
		a.names.push(deadName{})
	}
	*a.names.at(ti) = deadName{id: t.id, loc: a.intern(t.loc), entry: a.intern(t.entry)}
	*t = task{gone: true, block: -1}
	a.tasks.release(ti)
	a.ended++
	a.chainEnd(ti)
}

// intern returns the index of s in a.strs.
func (a *Analyzer) intern(s string) uint32 {
	if s == "" {
		return 0
	}
	i, ok := a.strIdx[s]
	if !ok {
		if a.strIdx == nil {
			a.strIdx = map[string]uint32{}
			a.strs = append(a.strs, "")
		}
		i = uint32(len(a.strs))
		a.strs = append(a.strs, s)
		a.strIdx[s] = i
	}
	return i
}

// ident returns goroutine ti's id, spawn location and entry, whether it
// ended or not.
func (a *Analyzer) ident(ti int32) (id uint32, loc, entry string) {
	if a.tasks.has(ti) {
		if t := a.tasks.at(ti); !t.gone {
			return t.id, t.loc, t.entry
		}
	}
	n := a.names.at(ti)
	return n.id, a.strs[n.loc], a.strs[n.entry]
}

// taskID returns goroutine ti's id, whether it ended or not.
func (a *Analyzer) taskID(ti int32) uint32 {
	id, _, _ := a.ident(ti)
	return id
}

// herds returns the goroutines, alive or ended, that woke at least
// HerdCount goroutines within HerdWindow, in the order they were first
// seen.
func (a *Analyzer) herds() []deadHerd {
	hs := slices.Clone(a.deadHerds)
	for ti, t := range a.tasks.all() {
		if !t.gone && t.herdBest >= a.cfg.HerdCount {
			hs = append(hs, deadHerd{ti: ti, best: t.herdBest, at: t.herdAt, process: t.process})
		}
	}
	slices.SortFunc(hs, func(x, y deadHerd) int { return cmp.Compare(x.ti, y.ti) })
	return hs
}

// chainEnd marks goroutine ti's chain history as its goroutine's, ended,
// and frees it if nothing can walk into it any more.
func (a *Analyzer) chainEnd(ti int32) {
	c := &a.ch
	ct := c.task(ti)
	ct.ended = true
	if ct.refs == 0 {
		c.freeQ = append(c.freeQ, ti)
	}
	a.drainFree()
}

// ref and unref count the references that can lead a wake chain into
// goroutine x's history: a blocked interval it ended, in another ring,
// and a wake of it not yet run.
func (c *chainState) ref(x int32) {
	if x > 0 {
		c.tasks.at(x).refs++
	}
}

func (c *chainState) unref(x int32) {
	if x <= 0 {
		return
	}
	ct := c.tasks.at(x)
	ct.refs--
	if ct.refs == 0 && ct.ended {
		c.freeQ = append(c.freeQ, x)
	}
}

// drainFree frees the histories of the ended goroutines that nothing
// leads into any more (c.freeQ), and in turn those that only they led
// into.
func (a *Analyzer) drainFree() {
	c := &a.ch
	for len(c.freeQ) > 0 {
		x := c.freeQ[len(c.freeQ)-1]
		c.freeQ = c.freeQ[:len(c.freeQ)-1]
		ct := c.tasks.at(x)
		if ct.refs != 0 || !ct.ended || ct.freed {
			continue
		}
		a.resolveOwed(x, -1) // (as the report's end would: it blocks no more)
		for i := range ct.ring {
			if s := &ct.ring[i]; s.kind == segBlocked {
				c.unref(s.waker)
			}
		}
		if ct.woke {
			c.unref(ct.waker)
		}
		*ct = chainTask{freed: true, ended: true}
		c.tasks.release(x)
		c.freed++
	}
}

// held returns what the analysis holds per goroutine: the goroutines
// not ended (or kept at their end), the chain histories not freed, and
// the pages of each.
func (a *Analyzer) held() (tasks, chains, taskPages, chainPages int) {
	return a.tasks.len() - int(a.ended), a.ch.tasks.len() - int(a.ch.freed), a.tasks.heldPages(), a.ch.tasks.heldPages()
}
