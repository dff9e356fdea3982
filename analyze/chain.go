package analyze

// Wake chains (issue 19): why a wait lasted as long as it did. Goroutine G
// blocked over [start, end] and goroutine W woke it at end. The part of
// the window just before end, W was running on a P (CPU); before that W
// was perhaps runnable and not running (scheduler delay), and before that
// W was itself blocked, woken by V, whose own history explains that part
// of the window, and so on, until a cause that is not another goroutine's
// wait: CPU, the network poller, a syscall, a timer, scheduler delay, or
// no history (before the records, or past the history kept). Every leaf
// of that walk has its share of G's wait, and the shares add up to it.
//
// It streams: the walk runs when G's wait ends (the TaskPending that
// follows its WakeEvent), over what the records said before then. Per
// goroutine the analyzer keeps a ring of its latest intervals (running
// on a P, runnable, blocked and by whom woken, in a syscall), at most
// chainRing of them and none older than chainHorizon of trace time before
// the goroutine's latest record (a sweep every chainSweep of trace time
// frees the rings of goroutines that went quiet). A wait longer than what
// its wakers' rings still hold gets an "unknown: history dropped" share
// for the rest. The full chains are kept for the cfg.Chains longest waits
// only; for the other waits only the sums by root (for the groups'
// summaries and the root-cause profile).

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of the per-goroutine history and of one walk.
const (
	chainRing    = 64              // intervals kept per goroutine
	chainHorizon = 5 * time.Second // oldest interval kept, before a goroutine's latest
	chainSweep   = time.Second     // trace time between sweeps of the quiet rings
	chainDepth   = 24              // goroutines deep
	chainSteps   = 20000           // intervals visited per walk
	chainLinks   = 80              // links kept per chain
	chainGroupBy = 32              // distinct roots summed per group
)

// Root kinds: the label of the root-cause profile.
const (
	rootCPU uint8 = iota
	rootNetwork
	rootSyscall
	rootTimer
	rootScheduler
	rootUnknown
	nRootKinds
)

var rootNames = [nRootKinds]string{"cpu", "network", "syscall", "timer", "scheduler", "unknown"}

type segKind uint8

const (
	segRun segKind = iota + 1
	segRunnable
	segBlocked
	segSyscall
)

// seg is one interval of a goroutine's history.
type seg struct {
	start, end int64
	waker      int32 // segBlocked: the waker's task (0: the runtime), -1: none seen
	group      int32 // segBlocked, segSyscall: the block's stack group, -1: unknown (shorter than the threshold)
	kind       segKind
	worker     uint8 // segRun: the P
}

// chainTask is a goroutine's history and its state now. (Its fields are
// laid out widest first: 152 bytes, not the 192 of their order by
// meaning, for each of the 140,000 goroutines of the corpus's stacks
// trace; but the 48 bytes a walk reads of each goroutine it passes
// (explain: the ring, the open run, the profile's index) come first, in
// one or two cache lines of the 152, not three.)
type chainTask struct {
	ring     []seg // oldest at head once full
	head     int
	runStart int64
	prof     int32 // its root-cause profile's sums: chainState.profTask[prof-1] (0: none yet)
	running  bool
	worker   uint8
	dropped  bool // intervals were dropped (ring bound or horizon)
	seen     bool

	first    int64 // the time of its first record
	latest   int64 // the time of its latest record
	offSince int64 // off a P since offSince (it ran before): see off
	wakeT    int64 // woken at wakeT by waker since it went off: see woke
	pendS    int64
	pendT    int64

	// CPU time of its runs that chains blamed on it, waiting for the
	// stack of its next block (the profile's frames for it): the sums by
	// the waiting goroutine's group are not needed, only the total.
	owedNS, owedN int64
	owedRefs      []linkRef

	waker   int32
	pendG   int32
	ended   bool // its goroutine ended (Analyzer.End)
	freed   bool // ... and its history was freed
	marked  bool // ... and is kept: a chain can still lead into it (collectChains)
	off     bool // off a P since offSince (it ran before)
	woke    bool // woken at wakeT by waker since it went off
	pend    bool // a TaskPending (pendStart, pendGroup) for the current block
	pendSys bool // ... of a syscall
}

// linkRef is a kept chain's cpu link waiting for a stack.
type linkRef struct {
	c    *keptChain
	link int
}

type keptChain struct {
	task, waker int32
	group       int32
	start, end  int64
	links       []link
	roots       [nRootKinds]int64
	cpuBy       []cpuShare
	truncated   bool
	dead        bool // evicted from the kept ones
}

// link is a ChainLink before naming.
type link struct {
	depth      int
	kind       string
	task       int32
	start, end int64
	share      int64
	worker     int
	group      int32 // the block's group (woken, network, timer, syscall, unknown) or the next block's (cpu); -1
	waker      int32
	note       string
}

// rootKey sums a group's waiting time by root; task is the goroutine for
// cpu roots, -1 for the others, -2 for the cpu of goroutines past
// chainGroupBy.
type rootKey struct {
	kind uint8
	task int32
}

// rootAcc sums one root of a group: its nanoseconds, the walks it had a
// share of (for cpu, once per goroutine and walk), and the largest share
// in one walk.
type rootAcc struct{ ns, n, max int64 }

// groupRoots is one group's roots: waits counts the walks of its waits.
// idx finds a key's index (+1, 0: empty) by its hash, probing on: a
// group's at most chainGroupBy+nRootKinds roots fill at most 38 of its
// 64 slots. (A search in order took 5% of report's CPU on the corpus's
// chanring trace, whose walks blame two dozen goroutines each.)
type groupRoots struct {
	waits int64
	keys  []rootKey
	accs  []rootAcc
	idx   [groupRootSlots]uint8
}

const groupRootSlots = 64

func (k rootKey) slot() uint32 {
	return ((uint32(k.kind)<<24 ^ uint32(k.task)) * 0x9e3779b1) >> 26 // (log2 groupRootSlots)
}

// acc returns k's sum, adding it if there is room; a cpu root past
// chainGroupBy roots goes to the goroutines past it (task -2).
func (g *groupRoots) acc(k rootKey) *rootAcc {
	j := k.slot()
	for ; g.idx[j] != 0; j = (j + 1) % groupRootSlots {
		if i := g.idx[j] - 1; g.keys[i] == k {
			return &g.accs[i]
		}
	}
	if k.kind == rootCPU && len(g.keys) >= chainGroupBy && k.task != -2 {
		return g.acc(rootKey{rootCPU, -2})
	}
	g.keys = append(g.keys, k)
	g.accs = append(g.accs, rootAcc{})
	g.idx[j] = uint8(len(g.keys))
	return &g.accs[len(g.accs)-1]
}

func (r *rootAcc) add(ns int64) {
	r.ns += ns
	r.n++
	r.max = max(r.max, ns)
}

// profKey sums the root-cause profile: the kind, the stack group (-1:
// none, the task's entry names it) and the task (-1 with a group).
type profKey struct {
	kind  uint8
	group int32
	task  int32
}

// The root-cause profile's sums are found by index, not hashed: those
// of a stack group in profGroup, by group, and those of a goroutine
// (the roots with no stack: scheduler delay, unknown, and the cpu of a
// goroutine whose next block has no stack) in profTask, at the index
// its chainTask.prof names, made at its first. (A map by the key, with
// a direct-mapped cache of 4096 recent keys in front of it, was a ninth
// of report's CPU on the corpus's chanring trace: its walks add a
// scheduler share keyed by goroutine for each of 4,000 goroutines, 7.3
// million adds, and a cache miss on the cache, the map and the sum each.)
type profTaskAccs struct {
	task int32
	accs [nRootKinds]latAcc
}

type chainState struct {
	tasks pages[chainTask]
	kept  []*keptChain // a min-heap on the wait's length
	// groupRoot sums each group's roots, indexed by group. A group has
	// at most chainGroupBy+nRootKinds roots, so a slice searched in order
	// beats a map: hashing rootKey (padded, so not a fast-path key) was
	// 15% of report's CPU on the corpus's chanring trace.
	groupRoot []groupRoots
	// The root-cause profile's sums (see profTaskAccs): an entry of it
	// is a key some walk added to (n > 0).
	profGroup  [][nRootKinds]latAcc                        // by group
	profTask   pages[profTaskAccs]                         // by chainTask.prof-1
	profLog    func(kind uint8, gi, ti int32, n, ns int64) // (tests: each addProf)
	cpuScratch []cpuShare                                  // a walk's cpuBy to reuse
	// The links and cpuBy of the kept chain last evicted, for the next
	// kept chain: on the corpus's nethttp trace, whose waits grow longer
	// as it goes, the chains kept and then evicted were 40% of report's
	// allocations. (An evicted chain is dead: the owed CPU's references
	// to its links skip it, and nothing else reads them.)
	freeLinks []link
	freeCPU   []cpuShare
	w         walk // the walk under way (newWalk)
	lastSweep int64
	walks     int64
	// ended holds the goroutines ended whose histories are not freed
	// (collectChains); freed counts those freed.
	ended []int32
	freed int64
	// collectAt is the length of ended at which the next collection runs.
	collectAt int
}

func (c *chainState) task(ti int32) *chainTask {
	c.grow(int(ti) + 1)
	return c.tasks.at(ti)
}

// grow makes the chain state of the first n goroutines.
func (c *chainState) grow(n int) {
	for n > c.tasks.len() {
		c.tasks.push(chainTask{pendG: -1})
	}
}

// push appends an interval to a goroutine's ring.
func (ct *chainTask) push(s seg) {
	if s.end < s.start {
		s.end = s.start
	}
	if s.end == s.start && s.kind != segBlocked {
		return
	}
	if len(ct.ring) < chainRing {
		ct.ring = append(ct.ring, s)
		return
	}
	ct.ring[ct.head] = s
	ct.head = (ct.head + 1) % chainRing
	ct.dropped = true
}

// at returns the i-th interval, oldest first.
// (A wrap by subtraction, not a modulo by the ring's length: no division
// for each interval a walk looks at.)
func (ct *chainTask) at(i int) *seg {
	j := ct.head + i
	if j >= len(ct.ring) {
		j -= len(ct.ring)
	}
	return &ct.ring[j]
}

func (ct *chainTask) touch(t int64) {
	if !ct.seen {
		ct.seen, ct.first = true, t
	}
	ct.latest = max(ct.latest, t)
}

func (a *Analyzer) chainPollStart(ti int32, worker uint8, t int64) {
	if ti == 0 {
		return
	}
	c := &a.ch
	ct := c.task(ti)
	ct.touch(t)
	if ct.off {
		a.closeOff(ti, ct, t)
	} else if ct.woke { // first seen at its wake: blocked since its TaskPending's start, if any
		if ct.pend {
			ct.push(seg{start: ct.pendS, end: ct.wakeT, kind: segBlocked, waker: ct.waker, group: ct.pendG})
		}
		ct.push(seg{start: ct.wakeT, end: t, kind: segRunnable})
	}
	ct.off, ct.woke, ct.pend, ct.pendSys = false, false, false, false
	ct.running, ct.runStart, ct.worker = true, t, worker
	a.chainSweep(t)
}

// closeOff ends the time a goroutine was off a P, at t when it runs.
func (a *Analyzer) closeOff(ti int32, ct *chainTask, t int64) {
	switch {
	case ct.woke:
		start := ct.offSince
		if ct.pend {
			start = min(start, ct.pendS)
		}
		ct.push(seg{start: start, end: ct.wakeT, kind: segBlocked, waker: ct.waker, group: ct.pendG})
		ct.push(seg{start: ct.wakeT, end: t, kind: segRunnable})
		if !ct.pend {
			a.resolveOwed(ti, -1) // a block shorter than the threshold: no stack
		}
	case ct.pendSys:
		sysEnd := min(max(ct.pendT, ct.offSince), t)
		ct.push(seg{start: ct.offSince, end: sysEnd, kind: segSyscall, waker: -1, group: ct.pendG})
		ct.push(seg{start: sysEnd, end: t, kind: segRunnable})
		a.chainSyscall(ti, ct, sysEnd)
	default: // preempted, yielded, or a syscall shorter than the threshold
		ct.push(seg{start: ct.offSince, end: t, kind: segRunnable})
	}
}

func (a *Analyzer) chainPollEnd(ti int32, t int64) {
	if ti == 0 {
		return
	}
	ct := a.ch.task(ti)
	ct.touch(t)
	if ct.running {
		ct.push(seg{start: ct.runStart, end: t, kind: segRun, worker: ct.worker})
	}
	ct.running = false
	ct.off, ct.offSince, ct.woke, ct.pend, ct.pendSys = true, t, false, false, false
}

func (a *Analyzer) chainWake(wi, gi int32, t int64) {
	if gi == 0 {
		return
	}
	ct := a.ch.task(gi)
	ct.touch(t)
	if ct.running || ct.woke {
		return // (a second wake before it ran: the first ended the block)
	}
	ct.woke, ct.wakeT, ct.waker = true, t, wi
	if wi != 0 {
		a.ch.task(wi).touch(t)
	}
}

// chainPending takes a TaskPending of goroutine ti, a block of group gi
// over [start, t]: at its wake it is the end of the wait, walked at once.
func (a *Analyzer) chainPending(ti, gi int32, start, t int64) {
	c := &a.ch
	ct := c.task(ti)
	ct.touch(t)
	if ct.running {
		return
	}
	if ct.off && start <= ct.offSince+reReportSlack {
		a.resolveOwed(ti, gi) // the stack of the block that followed its last run
	}
	ct.pend, ct.pendS, ct.pendT, ct.pendG = true, start, t, gi
	ct.pendSys = a.groups[gi].reason == "syscall" && !ct.woke
	if ct.woke && t-ct.wakeT <= 1000 && t >= ct.wakeT {
		a.walkWait(ti, ct.waker, gi, start, ct.wakeT)
	}
}

// chainSyscall ends a syscall wait of ti at end: its own root.
func (a *Analyzer) chainSyscall(ti int32, ct *chainTask, end int64) {
	start := ct.pendS
	if end <= start {
		return
	}
	w := a.newWalk(ti, -1, ct.pendG, start, end)
	w.leaf(1, rootSyscall, ti, start, end, ct.pendG, "")
	a.endWalk(w)
}

// walk is one chain being walked. (One at a time: chainState.w, reset by
// newWalk, its index map kept; a walk allocated for each of the 218,000
// waits of the corpus's chanring trace, and an index map for most of
// them, were 2-3% of report's CPU there.)
type walk struct {
	a       *Analyzer
	kc      *keptChain // nil: sums only
	group   int32
	steps   int
	roots   [nRootKinds]int64
	cpuBy   []cpuShare      // in the order the goroutines come
	cpuIdx  map[int32]int32 // cpuBy's index by goroutine, once it is long (indexed)
	indexed bool
}

// cpuShare is a goroutine's CPU time blamed by a walk.
type cpuShare struct {
	task int32
	ns   int64
}

// cpuLinear is how long a walk's cpuBy is searched in order before it
// gets an index: most walks blame a few goroutines, and a map made for
// each walk was a third of report's allocations on the corpus's chanring
// trace.
const cpuLinear = 16

// cpuIdxKeep is the most goroutines a walk's index map is kept for the
// next walks after: clearing a map costs its capacity.
const cpuIdxKeep = 256

// addCPU adds ns to x's share.
func (w *walk) addCPU(x int32, ns int64) {
	if w.indexed {
		if i, ok := w.cpuIdx[x]; ok {
			w.cpuBy[i].ns += ns
			return
		}
	} else {
		for i := range w.cpuBy {
			if w.cpuBy[i].task == x {
				w.cpuBy[i].ns += ns
				return
			}
		}
	}
	w.cpuBy = append(w.cpuBy, cpuShare{x, ns})
	if w.indexed {
		w.cpuIdx[x] = int32(len(w.cpuBy) - 1)
	} else if len(w.cpuBy) > cpuLinear {
		if w.cpuIdx == nil {
			w.cpuIdx = make(map[int32]int32, 2*len(w.cpuBy))
		}
		w.indexed = true
		for i, c := range w.cpuBy {
			w.cpuIdx[c.task] = int32(i)
		}
	}
}

func (a *Analyzer) newWalk(ti, waker, gi int32, start, end int64) *walk {
	c := &a.ch
	c.walks++
	idx := c.w.cpuIdx
	if c.w.indexed {
		if len(idx) > cpuIdxKeep {
			idx = nil
		} else {
			clear(idx)
		}
	}
	c.w = walk{a: a, group: gi, cpuBy: c.cpuScratch[:0], cpuIdx: idx}
	w := &c.w
	c.cpuScratch = nil
	n := a.cfg.Chains
	if n > 0 && (len(c.kept) < n || end-start > c.kept[0].end-c.kept[0].start) {
		w.kc = &keptChain{task: ti, waker: waker, group: gi, start: start, end: end, links: c.freeLinks}
		c.freeLinks = nil
		if w.cpuBy == nil {
			w.cpuBy, c.freeCPU = c.freeCPU, nil
		}
	}
	return w
}

// walkWait walks the wait of ti over [start, end], woken by waker.
func (a *Analyzer) walkWait(ti, waker, gi int32, start, end int64) {
	if end <= start {
		return
	}
	a.ch.grow(a.tasks.len()) // (every goroutine's chain state made before the walk)
	w := a.newWalk(ti, waker, gi, start, end)
	if waker == 0 {
		k, note := a.rootOfBlock(gi)
		w.leaf(1, k, ti, start, end, gi, note)
	} else {
		a.explain(w, waker, start, end, 1)
	}
	a.endWalk(w)
}

// rootOfBlock is the root kind of a block that no goroutine ended.
func (a *Analyzer) rootOfBlock(gi int32) (uint8, string) {
	if gi < 0 {
		return rootUnknown, "a wait shorter than the threshold, ended by the runtime"
	}
	switch r := a.groups[gi].reason; {
	case r == "IO_wait":
		return rootNetwork, ""
	case r == "sleep":
		return rootTimer, ""
	case r == "syscall":
		return rootSyscall, ""
	case r == "chan_receive" || r == "chan_send" || r == "select":
		return rootTimer, "a channel the runtime sent on: a timer's"
	default:
		return rootUnknown, "ended by the runtime"
	}
}

// explain covers [lo, hi] with goroutine x's history.
func (a *Analyzer) explain(w *walk, x int32, lo, hi int64, depth int) {
	ct := a.ch.tasks.at(x) // (walkWait made every goroutine's)
	cur := hi
	// The block that follows the interval visited, if the ring has one (the
	// profile's stack for a run's CPU): the visit goes newest first.
	nextFound, nextGroup := false, int32(-1)
	more := true
	if ct.running && ct.runStart < cur {
		open := seg{start: ct.runStart, end: max(cur, ct.runStart), kind: segRun, worker: ct.worker}
		cur, more = a.visit(w, x, &open, lo, cur, depth, false, -1)
	}
	// Newest first; the intervals after what is left of the window are
	// only looked at for the next block (visit skips them too), without a
	// call each: a walk into a goroutine's past passes most of its ring.
	n := len(ct.ring)
	j := ct.head + n - 1 // the newest
	if j >= n {
		j -= n
	}
	for k := 0; more && k < n; k++ {
		s := &ct.ring[j]
		if j--; j < 0 {
			j = n - 1
		}
		if s.start < cur {
			cur, more = a.visit(w, x, s, lo, cur, depth, nextFound, nextGroup)
		}
		if s.kind == segBlocked || s.kind == segSyscall { // the next block of the runs before it
			nextFound, nextGroup = true, s.group
		}
	}
	if cur > lo {
		note := "before the records of it"
		switch {
		case w.steps >= chainSteps:
			note = "walk limit"
		case ct.dropped && (len(ct.ring) == 0 || ct.at(0).start > lo):
			note = "history dropped"
		}
		w.leaf(depth, rootUnknown, x, lo, cur, -1, note)
	}
}

// visit takes interval s of x's history, which starts before cur (the
// window [lo, hi] is covered from cur on): it returns the new cur, and
// false once [lo, hi] is covered. (A method, not a closure over
// explain's variables: those were read and written through pointers.)
func (a *Analyzer) visit(w *walk, x int32, s *seg, lo, cur int64, depth int, nextFound bool, nextGroup int32) (int64, bool) {
	if s.end < cur { // a gap in the records of x
		w.leaf(depth, rootUnknown, x, max(s.end, lo), cur, -1, "no record of it")
		cur = max(s.end, lo)
		if cur <= lo {
			return cur, false
		}
	}
	from, to := max(s.start, lo), cur
	w.steps++
	switch s.kind {
	case segRun:
		w.cpu(depth, x, from, to, int(s.worker), nextFound, nextGroup)
	case segRunnable:
		w.leaf(depth, rootScheduler, x, from, to, -1, "")
	case segSyscall:
		w.leaf(depth, rootSyscall, x, from, to, s.group, "")
	case segBlocked:
		switch {
		case s.waker > 0 && depth < chainDepth && w.steps < chainSteps:
			if w.kc != nil {
				w.add(link{depth: depth, kind: "woken", task: x, start: from, end: to, share: to - from, worker: -1,
					group: s.group, waker: s.waker})
			}
			a.explain(w, s.waker, from, to, depth+1)
		case s.waker > 0:
			w.leaf(depth, rootUnknown, x, from, to, s.group, "walk limit")
		default:
			k, note := a.rootOfBlock(s.group)
			w.leaf(depth, k, x, from, to, s.group, note)
		}
	}
	return from, from > lo && w.steps < chainSteps
}

// leaf adds a root share.
func (w *walk) leaf(depth int, kind uint8, x int32, from, to int64, group int32, note string) {
	ns := to - from
	if ns <= 0 {
		return
	}
	w.roots[kind] += ns
	a := w.a
	pg := group // (the profile's: none for the roots of no stack)
	if kind == rootScheduler || kind == rootUnknown {
		pg = -1
	}
	a.ch.addProf(kind, pg, x, 1, ns)
	if w.kc != nil {
		w.add(link{depth: depth, kind: rootNames[kind], task: x, start: from, end: to, share: ns, worker: -1,
			group: group, waker: -1, note: note})
	}
}

// cpu adds a share of x running on a P over [from, to]; the profile's
// stack is x's next block, group next if found (in the ring after the
// run), else still to come (the open run, or only runnable intervals
// follow it). (explain finds it as it goes: a scan of the ring for each
// run was a fifth of report's CPU on the corpus's chanring trace.)
func (w *walk) cpu(depth int, x int32, from, to int64, worker int, found bool, group int32) {
	ns := to - from
	if ns <= 0 {
		return
	}
	w.roots[rootCPU] += ns
	w.addCPU(x, ns)
	li := w.add(link{depth: depth, kind: "cpu", task: x, start: from, end: to, share: ns, worker: worker, group: -1, waker: -1})
	a := w.a
	ct := a.ch.task(x)
	if found {
		a.ch.addProf(rootCPU, group, x, 1, ns)
		if li >= 0 {
			w.kc.links[li].group = group
		}
		return
	}
	ct.owedNS += ns
	ct.owedN++
	if li >= 0 {
		ct.owedRefs = append(ct.owedRefs, linkRef{w.kc, li})
	}
}

// resolveOwed gives the CPU time owed by a goroutine the stack of its
// block, group gi (-1: none known).
func (a *Analyzer) resolveOwed(ti, gi int32) {
	ct := a.ch.tasks.at(ti)
	if ct.owedN == 0 && len(ct.owedRefs) == 0 {
		return
	}
	if ct.owedNS > 0 {
		a.ch.addProf(rootCPU, gi, ti, ct.owedN, ct.owedNS)
	}
	for _, r := range ct.owedRefs {
		if !r.c.dead {
			r.c.links[r.link].group = gi
		}
	}
	ct.owedNS, ct.owedN, ct.owedRefs = 0, 0, ct.owedRefs[:0]
}

// addProf adds n walks and ns to the profile's sum of a root: of stack
// group gi if known (>= 0), else of goroutine ti.
func (c *chainState) addProf(kind uint8, gi, ti int32, n, ns int64) {
	if c.profLog != nil {
		c.profLog(kind, gi, ti, n, ns)
	}
	var acc *latAcc
	if gi >= 0 {
		if k := int(gi) + 1; k > len(c.profGroup) {
			c.profGroup = slices.Grow(c.profGroup, k-len(c.profGroup))[:k]
		}
		acc = &c.profGroup[gi][kind]
	} else {
		ct := c.tasks.at(ti)
		if ct.prof == 0 {
			ct.prof = c.profTask.push(profTaskAccs{task: ti}) + 1
		}
		acc = &c.profTask.at(ct.prof - 1).accs[kind]
	}
	acc.n += n
	acc.us += ns // (nanoseconds here)
}

// add keeps a link in the kept chain, if any; it returns its index or -1.
func (w *walk) add(l link) int {
	if w.kc == nil {
		return -1
	}
	if len(w.kc.links) >= chainLinks {
		w.kc.truncated = true
		return -1
	}
	w.kc.links = append(w.kc.links, l)
	return len(w.kc.links) - 1
}

func (a *Analyzer) endWalk(w *walk) {
	c := &a.ch
	if w.group >= 0 {
		if n := int(w.group) + 1; n > len(c.groupRoot) {
			c.groupRoot = slices.Grow(c.groupRoot, n-len(c.groupRoot))[:n]
		}
		g := &c.groupRoot[w.group]
		g.waits++
		for k, ns := range w.roots {
			if k == int(rootCPU) || ns == 0 {
				continue
			}
			g.acc(rootKey{uint8(k), -1}).add(ns)
		}
		for _, cs := range w.cpuBy {
			g.acc(rootKey{rootCPU, cs.task}).add(cs.ns)
		}
	}
	kc := w.kc
	if kc == nil {
		c.cpuScratch = w.cpuBy // (the next walk's, unless a kept chain takes it)
		return
	}
	kc.roots, kc.cpuBy = w.roots, w.cpuBy
	if len(c.kept) < a.cfg.Chains {
		c.kept = append(c.kept, kc)
		keptUp(c.kept, len(c.kept)-1)
		return
	}
	old := c.kept[0]
	old.dead = true
	c.freeLinks, c.freeCPU = old.links[:0], old.cpuBy[:0]
	old.links, old.cpuBy = nil, nil
	c.kept[0] = kc
	keptDown(c.kept, 0)
}

func keptLess(x, y *keptChain) bool {
	if dx, dy := x.end-x.start, y.end-y.start; dx != dy {
		return dx < dy
	}
	return x.start > y.start
}

func keptUp(h []*keptChain, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !keptLess(h[i], h[p]) {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func keptDown(h []*keptChain, i int) {
	for {
		l, m := 2*i+1, i
		if l < len(h) && keptLess(h[l], h[m]) {
			m = l
		}
		if r := l + 1; r < len(h) && keptLess(h[r], h[m]) {
			m = r
		}
		if m == i {
			return
		}
		h[m], h[i] = h[i], h[m]
		i = m
	}
}

// chainSweep frees, every chainSweep of trace time, the intervals older
// than chainHorizon before each goroutine's latest record.
func (a *Analyzer) chainSweep(t int64) {
	c := &a.ch
	if t-c.lastSweep < int64(chainSweep) {
		return
	}
	c.lastSweep = t
	for _, ct := range c.tasks.all() {
		if len(ct.ring) == 0 {
			continue
		}
		cut := t - int64(chainHorizon)
		n := 0
		for n < len(ct.ring) && ct.at(n).end < cut {
			n++
		}
		if n == 0 {
			continue
		}
		ct.dropped = true
		if n == len(ct.ring) {
			ct.ring, ct.head = nil, 0
			continue
		}
		k := len(ct.ring) - n
		if 4*k < cap(ct.ring) {
			// Few kept: a ring of their size, the rest freed.
			keep := make([]seg, 0, k)
			for j := n; j < len(ct.ring); j++ {
				keep = append(keep, *ct.at(j))
			}
			ct.ring, ct.head = keep, 0
			continue
		}
		// Kept in place, oldest first, the ring's memory reused: a ring
		// made anew at every sweep, and grown again by append, was most
		// of report's allocations (and a third of its CPU, in copies and
		// clearing of fresh memory) on a long trace of goroutines that
		// wake now and then (the corpus's idle trace).
		if ct.head == 0 {
			copy(ct.ring, ct.ring[n:])
		} else {
			var tmp [chainRing]seg
			for j := range k {
				tmp[j] = *ct.at(n + j)
			}
			copy(ct.ring, tmp[:k])
		}
		ct.ring, ct.head = ct.ring[:k], 0
	}
}

// finishChains resolves what is still owed and builds the report's
// chains and the groups' summaries.
func (a *Analyzer) finishChains(r *Report) {
	c := &a.ch
	for i := range c.tasks.len() {
		if c.tasks.has(int32(i)) {
			a.resolveOwed(int32(i), -1)
		}
	}
	pos := make(map[int32]int, len(a.order))
	for i, gi := range a.order {
		pos[gi] = i
	}
	kept := slices.Clone(c.kept)
	slices.SortFunc(kept, func(x, y *keptChain) int {
		if keptLess(y, x) {
			return -1
		}
		if keptLess(x, y) {
			return 1
		}
		return 0
	})
	r.Chains = []Chain{}
	for _, kc := range kept {
		ch := Chain{Task: a.taskID(kc.task), Name: a.name(kc.task), Group: -1, StartNS: kc.start, EndNS: kc.end,
			WaitNS: kc.end - kc.start, Links: []ChainLink{}, Truncated: kc.truncated, Frames: []string{}}
		if p, ok := pos[kc.group]; ok {
			ch.Group = p
		}
		if kc.group >= 0 {
			ch.Reason, ch.Frames = a.groups[kc.group].reason, a.groups[kc.group].frames
		}
		if kc.waker >= 0 {
			ch.Waker, ch.WakerName = a.taskID(kc.waker), a.name(kc.waker)
		}
		for _, l := range kc.links {
			cl := ChainLink{Depth: l.depth, Kind: l.kind, Task: a.taskID(l.task), Name: a.name(l.task),
				StartNS: l.start, EndNS: l.end, ShareNS: l.share, Worker: l.worker, Frames: []string{}, Note: l.note}
			if l.group >= 0 {
				cl.Reason, cl.Frames = a.groups[l.group].reason, a.groups[l.group].frames
			}
			if l.waker >= 0 {
				cl.Waker, cl.WakerName = a.taskID(l.waker), a.name(l.waker)
			}
			if l.kind == "scheduler" {
				cl.QueueMax = a.queueMax(l.start, l.end)
			}
			ch.Links = append(ch.Links, cl)
		}
		ch.Roots = a.rootShares(kc.roots, kc.cpuBy, ch.WaitNS)
		r.Chains = append(r.Chains, ch)
	}
	for i, gi := range a.order {
		if int(gi) >= len(c.groupRoot) || len(c.groupRoot[gi].keys) == 0 {
			continue
		}
		g := &c.groupRoot[gi]
		r.Pending[i].Roots, r.Pending[i].ChainedNS = a.groupRootShares(g)
		r.Pending[i].ChainedWaits = g.waits
	}
}

// groupRootShares sums a group's roots by kind and, for cpu, by the
// goroutine's entry function (the walks and the maxima of its
// goroutines summed and maximised); largest first.
func (a *Analyzer) groupRootShares(g *groupRoots) ([]RootShare, int64) {
	type key struct {
		kind uint8
		fn   string
	}
	sums := map[key]rootAcc{}
	var total int64
	for i, k := range g.keys {
		acc := g.accs[i]
		total += acc.ns
		sk := key{kind: k.kind}
		if k.kind == rootCPU {
			sk.fn = "other goroutines"
			if k.task >= 0 {
				sk.fn = a.fn(k.task)
			}
		}
		s := sums[sk]
		s.ns += acc.ns
		s.n += acc.n
		s.max = max(s.max, acc.max)
		sums[sk] = s
	}
	out := make([]RootShare, 0, len(sums))
	for k, s := range sums {
		out = append(out, RootShare{Kind: rootNames[k.kind], Func: k.fn, NS: s.ns, Waits: s.n, MaxNS: s.max})
	}
	SortRootShares(out, total)
	return out, total
}

// rootShares sums roots by kind and, for cpu, by the goroutine's entry
// function; largest first.
func (a *Analyzer) rootShares(roots [nRootKinds]int64, cpu []cpuShare, total int64) []RootShare {
	out := []RootShare{}
	byFn := map[string]int64{}
	for _, cs := range cpu {
		x, ns := cs.task, cs.ns
		fn := "other goroutines"
		if x >= 0 {
			fn = a.fn(x)
		}
		byFn[fn] += ns
	}
	for fn, ns := range byFn {
		out = append(out, RootShare{Kind: "cpu", Func: fn, NS: ns})
	}
	for k := rootNetwork; k < nRootKinds; k++ {
		if roots[k] > 0 {
			out = append(out, RootShare{Kind: rootNames[k], NS: roots[k]})
		}
	}
	for i := range out {
		out[i].Waits, out[i].MaxNS = 1, out[i].NS
	}
	SortRootShares(out, total)
	return out
}

// SortRootShares sets each share's Percent of total and sorts them,
// largest first.
func SortRootShares(out []RootShare, total int64) {
	for i := range out {
		if total > 0 {
			out[i].Percent = float64(out[i].NS) * 100 / float64(total)
		}
	}
	slices.SortFunc(out, func(x, y RootShare) int {
		if c := cmp.Compare(y.NS, x.NS); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Kind, y.Kind); c != 0 {
			return c
		}
		return cmp.Compare(x.Func, y.Func)
	})
}

// queueMax is the largest global run-queue sample in [from, to] (the
// nearest before from when none falls inside).
func (a *Analyzer) queueMax(from, to int64) int {
	q := a.queue
	i, _ := slices.BinarySearchFunc(q, from, func(p QueuePoint, t int64) int { return cmp.Compare(p.TS, t) })
	best := 0
	if i > 0 {
		best = q[i-1].GlobalQ
	}
	for ; i < len(q) && q[i].TS <= to; i++ {
		best = max(best, q[i].GlobalQ)
	}
	return best
}

// RootsText is a summary of where waiting time went: "71% CPU in
// main.compute, 20% network, 9% scheduler delay" (at most n parts; the
// rest summed as "other").
func RootsText(roots []RootShare, n int) string {
	var b strings.Builder
	var rest float64
	shown := 0
	for i, r := range roots {
		if shown == n || (i > 0 && r.Percent < 1) {
			rest += r.Percent
			continue
		}
		if shown > 0 {
			b.WriteString(", ")
		}
		shown++
		b.WriteString(pct(r.Percent))
		b.WriteString(" ")
		switch r.Kind {
		case "cpu":
			b.WriteString("CPU in " + r.Func)
		case "scheduler":
			b.WriteString("scheduler delay")
		default:
			b.WriteString(r.Kind)
		}
	}
	if rest > 0 {
		b.WriteString(", " + pct(rest) + " other")
	}
	return b.String()
}

func pct(p float64) string {
	switch {
	case p >= 1 || p == 0:
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	default:
		return "<1%"
	}
}

// Chain is the wake chain of one wait (docs/report.md, "Wake chains").
type Chain struct {
	Task    uint32   `json:"task_id"`
	Name    string   `json:"name"`
	Reason  string   `json:"reason"`
	Frames  []string `json:"frames"`
	Group   int      `json:"group"` // index in pending, -1: none
	StartNS int64    `json:"start_ns"`
	EndNS   int64    `json:"end_ns"`
	WaitNS  int64    `json:"wait_ns"`
	// Waker ended the wait (0: the runtime, or no wake: a syscall).
	Waker     uint32 `json:"waker_task_id"`
	WakerName string `json:"waker"`
	// Links, depth first, the latest part of each window first; the
	// shares of the links that are not "woken" add up to WaitNS.
	Links     []ChainLink `json:"links"`
	Roots     []RootShare `json:"roots"`
	Truncated bool        `json:"truncated"`
	// Instance is, in a fleet's report (package fleet), the instance
	// the chain is of (its goroutines' ids are that instance's). A
	// file's report leaves it out.
	Instance string `json:"instance,omitempty"`
}

// ChainLink is one step of a chain: goroutine Task over [StartNS, EndNS]
// of the wait.
type ChainLink struct {
	Depth int `json:"depth"`
	// Kind: "woken" (blocked, then woken by Waker: the links below, one
	// deeper, explain its window), or a root: "cpu", "scheduler",
	// "network", "syscall", "timer", "unknown".
	Kind    string `json:"kind"`
	Task    uint32 `json:"task_id"`
	Name    string `json:"name"`
	StartNS int64  `json:"start_ns"`
	EndNS   int64  `json:"end_ns"`
	ShareNS int64  `json:"share_ns"`
	// Worker is the P of a cpu link, -1 otherwise.
	Worker int `json:"worker"`
	// Reason and Frames: the block's (woken, network, timer, syscall),
	// or for cpu the stack of the goroutine's next block; empty when the
	// records have none (a block shorter than the threshold).
	Reason    string   `json:"reason"`
	Frames    []string `json:"frames"`
	Waker     uint32   `json:"waker_task_id"`
	WakerName string   `json:"waker"`
	Note      string   `json:"note"`
	// QueueMax is the largest global run-queue sample over a scheduler
	// link.
	QueueMax int `json:"global_q_max"`
}

// RootShare is the waiting time one root caused: a kind, and for cpu the
// entry function of the goroutine that ran.
type RootShare struct {
	Kind    string  `json:"kind"`
	Func    string  `json:"func"`
	NS      int64   `json:"ns"`
	Percent float64 `json:"percent"`
	// Waits is how many waits it had a share of (of a group: for cpu,
	// counted once per goroutine of that function and wait; of a chain:
	// 1); MaxNS its largest share of one wait.
	Waits int64 `json:"waits"`
	MaxNS int64 `json:"max_ns"`
	// Instances is, in a fleet's report (package fleet), how many of
	// the instances it was found on. A file's report leaves it out.
	Instances int `json:"instances,omitempty"`
}

// RootSample is one sample of the root-cause profile: the root's stack
// (leaf first: the block's reason pseudo-frame and frames; for cpu the
// stack of the goroutine's next block; "[KIND] FUNC" when the records
// have no stack), its kind, how many walks blamed it and the nanoseconds
// of others' waits it caused.
type RootSample struct {
	Stack []string
	// Block says Stack is a block's: Stack[0] the reason's pseudo-frame,
	// the rest its frames (false: one pseudo-frame, "[KIND] FUNC").
	Block bool
	Kind  string
	Count int64
	NS    int64
	// Instance is, in a fleet's profile (package fleet), the instance
	// the sample is of; a file's leaves it empty.
	Instance string
}

// RootSamples returns the root-cause profile's samples. Call after
// Report.
func (a *Analyzer) RootSamples() []RootSample {
	type key struct {
		kind  uint8
		group int32
		fn    string
	}
	var sums sampleSums[key]
	type entry struct {
		k   profKey
		acc *latAcc
	}
	var keys []entry
	for gi := range a.ch.profGroup {
		for kind := range nRootKinds {
			if acc := &a.ch.profGroup[gi][kind]; acc.n > 0 {
				keys = append(keys, entry{profKey{kind: kind, group: int32(gi), task: -1}, acc})
			}
		}
	}
	for _, pt := range a.ch.profTask.all() {
		for kind := range nRootKinds {
			if acc := &pt.accs[kind]; acc.n > 0 {
				keys = append(keys, entry{profKey{kind: kind, group: -1, task: pt.task}, acc})
			}
		}
	}
	slices.SortFunc(keys, func(x, y entry) int {
		if c := cmp.Compare(x.k.kind, y.k.kind); c != 0 {
			return c
		}
		if c := cmp.Compare(x.k.group, y.k.group); c != 0 {
			return c
		}
		return cmp.Compare(x.k.task, y.k.task)
	})
	for _, e := range keys {
		pk := e.k
		k := key{kind: pk.kind, group: pk.group}
		if pk.group < 0 {
			k.fn = a.fn(max(pk.task, 0))
		}
		sums.add(k, e.acc.n, e.acc.us)
	}
	out := make([]RootSample, 0, len(sums.order))
	for _, k := range sums.order {
		var stk []string
		if k.group >= 0 {
			stk = a.groupStack(k.group)
		} else {
			stk = []string{"[" + rootNames[k.kind] + "] " + k.fn}
		}
		out = append(out, RootSample{Stack: stk, Block: k.group >= 0, Kind: rootNames[k.kind], Count: sums.m[k].n, NS: sums.m[k].ns})
	}
	return out
}
