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
//   - its chain history (chainTask and ring) while a walk can still
//     lead into it: from a goroutine alive, through a blocked interval
//     it ended or a wake by it not yet run, directly or through other
//     histories so kept; collectChains frees the others, when the ended
//     ones waiting for it are as many as the goroutines alive (and at
//     least chainCollectMin);
//   - its wake pairs are folded into sums by the names of their sides
//     (pairSum: count, latencies, latency profile), the goroutine still
//     alive on the other side keyed by itself until it ends; of each
//     pair stays its skeleton (pairSkel: its two goroutines), for what
//     only goroutines give: the edges' distinct wakers and woken, and
//     the locations of each edge's first pair;
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
	t.gone = true // (named by its name from now on)
	a.endPairs(ti)
	*t = task{gone: true, block: -1, pairsW: -1, pairsG: -1, sums: -1}
	a.tasks.release(ti)
	a.ended++
	a.chainEnd(ti)
}

// intern returns the index of s in a.strs (0: "").
func (a *Analyzer) intern(s string) uint32 {
	if s == "" {
		return 0
	}
	i, ok := a.strIdx[s]
	if !ok {
		if a.strIdx == nil {
			a.strIdx = map[string]uint32{}
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

// chainCollectMin is how many ended goroutines' chain histories wait
// for a collection (collectChains) at least; otherwise as many as the
// goroutines alive and the histories the last one kept, so that a
// collection's cost (a pass over the histories held) is a few
// intervals per goroutine ended.
const chainCollectMin = 1024

// chainEnd marks goroutine ti's chain history as its goroutine's, ended,
// to be freed once nothing can walk into it.
func (a *Analyzer) chainEnd(ti int32) {
	c := &a.ch
	ct := c.task(ti)
	ct.ended = true
	c.ended = append(c.ended, ti)
	live := a.tasks.len() - int(a.ended)
	if n := len(c.ended); n >= chainCollectMin && n >= live && n >= c.collectAt {
		a.collectChains()
		// The next when as many more have ended as it had to look at
		// (those alive, and those it kept): a few intervals per end.
		c.collectAt = 2*len(c.ended) + live
	}
}

// collectChains frees the chain histories of the ended goroutines that
// no walk can reach any more. A walk enters a goroutine's history from
// the waker of a wake not yet run (woke), or from a blocked interval of
// a history it walks, naming its waker: the histories reachable so from
// those of the goroutines alive are kept (marked), the others freed.
// An ended goroutine wakes no one: a history unreachable now stays so.
func (a *Analyzer) collectChains() {
	c := &a.ch
	var stack []int32
	reach := func(x int32) {
		if x <= 0 {
			return
		}
		if ct := c.tasks.at(x); ct.ended && !ct.marked {
			ct.marked = true
			stack = append(stack, x)
		}
	}
	refs := func(ct *chainTask) {
		for i := range ct.ring {
			if s := &ct.ring[i]; s.kind == segBlocked {
				reach(s.waker)
			}
		}
		if ct.woke {
			reach(ct.waker)
		}
	}
	for i, ct := range c.tasks.all() {
		if i > 0 && !ct.ended && !ct.freed {
			refs(ct)
			for len(stack) > 0 {
				x := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				refs(c.tasks.at(x))
			}
		}
	}
	kept := c.ended[:0]
	for _, x := range c.ended {
		ct := c.tasks.at(x)
		if ct.marked {
			ct.marked = false
			kept = append(kept, x)
			continue
		}
		a.resolveOwed(x, -1) // (as the report's end would: it blocks no more)
		*ct = chainTask{freed: true, ended: true, prof: ct.prof}
		c.tasks.release(x)
		c.freed++
	}
	c.ended = kept
}

// held returns what the analysis holds per goroutine: the goroutines
// not ended (or kept at their end), the chain histories not freed, and
// the pages of each.
func (a *Analyzer) held() (tasks, chains, taskPages, chainPages int) {
	return a.tasks.len() - int(a.ended), a.ch.tasks.len() - int(a.ch.freed), a.tasks.heldPages(), a.ch.tasks.heldPages()
}

// Wake pairs. A pair (waker, woken) is folded at the end of either
// goroutine into a pairSum keyed by its two sides, each the goroutine
// if it is alive (its name may yet change: a later location or entry)
// or its name once it ended (final); at the end of a goroutine that is
// a side of sums, those are keyed by its name instead, and merged with
// those already so keyed. The edges are the sums by the names, so they
// come out the same; what the edges need per pair, their distinct
// goroutines and the locations of the first pair of each, comes from
// the pairs' skeletons (pairSk, 8 bytes each, kept).

// endedWaker stands for the wakers that ended among a goroutine's
// wakers in the verdicts' cycles: not a candidate.
const endedWaker = -2

// pairSum is the count, latencies and latency sums (latSum, at key
// latKey{-1 - its index, group}) of the pairs folded with its key.
type pairSum struct {
	key    [2]int32 // waker and woken sides: a goroutine alive, or -1 - its name in strs
	count  int64
	lat    dist
	groups []int32 // of its latSum entries
	next   int32   // the next sum keyed by the same goroutine alive (task.sums), -1: none
	dead   bool    // merged into another, its slot free
}

// newPair makes the pair of waker wi and woken gi.
func (a *Analyzer) newPair(wi, gi int32) int32 {
	pi := a.pairL.push(pair{nextW: -1, prevW: -1, nextG: -1, prevG: -1})
	p := a.pairL.at(pi)
	if wi != 0 { // (the runtime does not end: no list)
		w := a.tasks.at(wi)
		if p.nextW = w.pairsW; p.nextW >= 0 {
			a.pairL.at(p.nextW).prevW = pi
		}
		w.pairsW = pi
	}
	if gi != 0 {
		g := a.tasks.at(gi)
		if p.nextG = g.pairsG; p.nextG >= 0 {
			a.pairL.at(p.nextG).prevG = pi
		}
		g.pairsG = pi
	}
	a.pairSk.push(pairSkel{waker: wi, woken: gi})
	return pi
}

// unlinkPair takes pair pi out of its goroutines' lists.
func (a *Analyzer) unlinkPair(pi int32, sk pairSkel) {
	p := a.pairL.at(pi)
	if sk.waker != 0 {
		if p.prevW >= 0 {
			a.pairL.at(p.prevW).nextW = p.nextW
		} else {
			a.tasks.at(sk.waker).pairsW = p.nextW
		}
		if p.nextW >= 0 {
			a.pairL.at(p.nextW).prevW = p.prevW
		}
	}
	if sk.woken != 0 {
		if p.prevG >= 0 {
			a.pairL.at(p.prevG).nextG = p.nextG
		} else {
			a.tasks.at(sk.woken).pairsG = p.nextG
		}
		if p.nextG >= 0 {
			a.pairL.at(p.nextG).prevG = p.prevG
		}
	}
}

// pairFolded tells whether pair pi was folded.
func (a *Analyzer) pairFolded(pi int32) bool {
	return !a.pairL.has(pi) || a.pairL.at(pi).folded
}

// side is goroutine ti as a side of a pairSum: itself while alive,
// -1 - its name once ended (the runtime's name is final).
func (a *Analyzer) side(ti int32) int32 {
	if ti != 0 && a.tasks.has(ti) && !a.tasks.at(ti).gone {
		return ti
	}
	if ti == 0 {
		if a.runtimeSide == 0 {
			a.runtimeSide = -1 - int32(a.intern(a.fn(0)))
		}
		return a.runtimeSide
	}
	return -1 - int32(a.intern(a.fn(ti)))
}

// sideName is the name of a pairSum's side.
func (a *Analyzer) sideName(s int32) string {
	if s >= 0 {
		return a.fn(s)
	}
	return a.strs[-1-s]
}

// sumFor returns the pairSum of key, made if new.
func (a *Analyzer) sumFor(key [2]int32) int32 {
	if si, ok := a.sumIdx[key]; ok {
		return si
	}
	var si int32
	if n := len(a.sumFree); n > 0 {
		si = a.sumFree[n-1]
		a.sumFree = a.sumFree[:n-1]
	} else {
		si = int32(len(a.sums))
		a.sums = append(a.sums, pairSum{})
	}
	a.sums[si] = pairSum{key: key, next: -1}
	if a.sumIdx == nil {
		a.sumIdx = map[[2]int32]int32{}
	}
	a.sumIdx[key] = si
	for _, s := range key {
		if s >= 0 { // (at most one side alive: made at an end)
			t := a.tasks.at(s)
			a.sums[si].next, t.sums = t.sums, si
			break
		}
	}
	return si
}

// moveLat moves latSum entry from to key to (adding to what is there),
// and returns whether to was new.
func (a *Analyzer) moveLat(from, to latKey) bool {
	la := a.latSum[from]
	if la == nil {
		return false
	}
	delete(a.latSum, from)
	if x := a.latSum[to]; x != nil {
		x.n += la.n
		x.us += la.us
		return false
	}
	a.latSum[to] = la
	return true
}

// foldPair folds pair pi into the pairSum of its sides: goroutine ti,
// whose side is now name, has just ended.
func (a *Analyzer) foldPair(pi, ti, name int32) {
	sk := *a.pairSk.at(pi)
	a.unlinkPair(pi, sk)
	p := a.pairL.at(pi)
	side := func(x int32) int32 {
		if x == ti {
			return name
		}
		return a.side(x)
	}
	si := a.sumFor([2]int32{side(sk.waker), side(sk.woken)})
	s := &a.sums[si]
	s.count += p.count
	s.lat.merge(&p.lat)
	to := latKey{-1 - si, -1}
	if p.noGroup != nil && a.moveLat(latKey{pi, -1}, to) {
		s.groups = append(s.groups, -1)
	}
	for _, g := range p.groups {
		to.group = g.group
		if a.moveLat(latKey{pi, g.group}, to) {
			s.groups = append(s.groups, g.group)
		}
	}
	if sk.woken != 0 {
		if g := a.tasks.at(sk.woken); !g.gone && g.wakePending && g.wakePair == pi {
			// Woken and not yet run: its latency goes to the sum.
			if a.inflight == nil {
				a.inflight = map[int32]int32{}
			}
			a.inflight[pi] = si
		}
	}
	delete(a.pairs, [2]int32{sk.waker, sk.woken})
	*p = pair{folded: true}
	a.pairL.release(pi)
}

// addLatencySum is addLatency for a pair folded before its woken ran.
func (a *Analyzer) addLatencySum(pi, group int32, us uint32, at int64) {
	si := a.inflight[pi]
	delete(a.inflight, pi)
	s := &a.sums[si]
	s.lat.add(us)
	a.all.add(us)
	k := latKey{-1 - si, group}
	acc := a.latSum[k]
	if acc == nil {
		acc = &latAcc{}
		a.latSum[k] = acc
		s.groups = append(s.groups, group)
	}
	acc.n++
	acc.us += int64(us)
	a.addWorst(us, at, pi)
}

// endPairs folds the pairs of goroutine ti, which has just ended (its
// name set, gone), and keys the sums keyed by it by its name.
func (a *Analyzer) endPairs(ti int32) {
	t := a.tasks.at(ti)
	name := a.side(ti)
	for t.pairsW >= 0 { // (folding takes a pair out of the lists)
		a.foldPair(t.pairsW, ti, name)
	}
	for t.pairsG >= 0 {
		a.foldPair(t.pairsG, ti, name)
	}
	for si := t.sums; si >= 0; {
		s := &a.sums[si]
		next := s.next
		old := s.key
		key := old
		for i := range key {
			if key[i] == ti {
				key[i] = name
			}
		}
		delete(a.sumIdx, old)
		if di, ok := a.sumIdx[key]; ok {
			d := &a.sums[di]
			d.count += s.count
			d.lat.merge(&s.lat)
			for _, g := range s.groups {
				if a.moveLat(latKey{-1 - si, g}, latKey{-1 - di, g}) {
					d.groups = append(d.groups, g)
				}
			}
			a.sums[si] = pairSum{dead: true}
			a.sumFree = append(a.sumFree, si)
		} else {
			s.key, s.next = key, -1
			a.sumIdx[key] = si
		}
		si = next
	}
}
