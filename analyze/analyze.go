// Package analyze turns a run of wakeshim records into answers: where
// goroutines wait (blocks grouped by wait reason and stack, with who ended
// them), who wakes whom (wake edges between goroutines named by their entry
// function), how long a woken goroutine waits to run (wake-to-run
// latency), how busy the Ps are, and plain-language findings. It reads one
// pass of records.Event in time order, holding per-goroutine state and
// compact per-wake data, so that it keeps up with a trace converted on the
// fly. The result is a Report, the JSON document of `wakeshim report`
// (docs/report.md), and two pprof profiles.
package analyze

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/records"
)

// Config sets the findings' thresholds and the timeline window. Its zero
// value means the documented defaults.
type Config struct {
	// Stuck: a goroutine still blocked at the end after at least this long
	// is a leak or deadlock suspect. Zero means 1s.
	Stuck time.Duration
	// HerdCount and HerdWindow: one goroutine waking at least HerdCount
	// goroutines within HerdWindow is a thundering herd. Zero means 10
	// and 1ms.
	HerdCount  int
	HerdWindow time.Duration
	// SlowWake: a wake that waited at least this long to run while a P
	// was parked. Zero means 1ms.
	SlowWake time.Duration
	// QueueGoroutines: at least this many goroutines blocked at once on one
	// wait reason + stack (not sleeping) is a queue worth a look. Zero
	// means 5.
	QueueGoroutines int
	// Window, when WindowSet, is the timeline's window on the time line;
	// otherwise the WindowLen (zero: 100ms) with the most wakes.
	WindowStart, WindowEnd time.Duration
	WindowSet              bool
	WindowLen              time.Duration
	// TimelineMax bounds the polls and the wakes of the timeline (each).
	// Zero means 5000.
	TimelineMax int
	// Worst is how many of the longest latencies are listed. Zero means 20.
	Worst int
	// Leaks are goroutineleak profiles of the program: the proof of the
	// leaked verdicts (verdict.go). None: the rules alone judge.
	Leaks []*LeakProfile
	// Chains is how many of the longest waits keep their wake chain
	// (chain.go). Zero means 10; negative, none (the groups' summaries
	// and the root-cause profile are made all the same).
	Chains int
	// KeepBlocks keeps every block for Blocks (groupsum.go); otherwise
	// a block is summed into its group once final, and dropped.
	KeepBlocks bool
}

func (c Config) withDefaults() (Config, error) {
	if c.Stuck < 0 || c.HerdCount < 0 || c.HerdWindow < 0 || c.SlowWake < 0 || c.QueueGoroutines < 0 ||
		c.WindowLen < 0 || c.TimelineMax < 0 || c.Worst < 0 {
		return c, fmt.Errorf("analyze: negative threshold in %+v", c)
	}
	if c.WindowSet && c.WindowEnd <= c.WindowStart {
		return c, fmt.Errorf("analyze: window end %v not after its start %v", c.WindowEnd, c.WindowStart)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Stuck, time.Second)
	def(&c.HerdWindow, time.Millisecond)
	def(&c.SlowWake, time.Millisecond)
	def(&c.WindowLen, 100*time.Millisecond)
	if c.HerdCount == 0 {
		c.HerdCount = 10
	}
	if c.QueueGoroutines == 0 {
		c.QueueGoroutines = 5
	}
	if c.TimelineMax == 0 {
		c.TimelineMax = 5000
	}
	if c.Worst == 0 {
		c.Worst = 20
	}
	if c.Chains == 0 {
		c.Chains = 10
	}
	return c, nil
}

// reReportSlack is how far apart the starts of two TaskPendings of one
// goroutine and stack may be for them to be the same block re-reported.
const reReportSlack = int64(time.Millisecond)

// task is one goroutine of one process. Index 0 is the runtime (waker
// task 0: timers, the network poller).
type task struct {
	// (The fields are laid out widest first: 136 bytes, not the 152 of
	// their order by meaning; see chainTask.)
	loc     string
	entry   string // from a block's stack, when loc is unknown
	process int
	// The last wake, for attribution to a TaskPending that follows it:
	// lastWakeT, lastWaker, hasLastWak.
	lastWakeT int64
	// The wake not yet followed by a PollStart, for the latency: wakeT,
	// wakePair, wakeGroup, wakePending, wakeParked.
	wakeT int64
	// Herd detection for this goroutine as a waker: herdStart,
	// herdCount, herdBest, herdAt, herdEpoch.
	herdStart int64
	herdCount int
	herdBest  int
	herdAt    int64

	id        uint32
	block     int32 // its slot in Analyzer.cur: its latest block; -1: none
	lastWaker int32
	wakePair  int32
	wakeGroup int32
	herdEpoch int32 // as a waker: its current herd window
	// As a woken goroutine: the waker and window it was last counted in.
	herdBy, herdIn int32
	// As a woken goroutine: the wake pair of its last waker, which most
	// often wakes it again (saves the pairs map on the hot path).
	lastPairWaker, lastPair int32

	wakeParked int16
	// wakeWorker is the P the wake put it on; wakeBusy, that P was
	// running a goroutine then.
	wakeWorker  uint8
	wakeBusy    bool
	ranAfter    bool // a PollStart since the latest block's last record
	spawned     bool // its TaskSpawn is in the records (for the verdicts)
	hasLastWak  bool
	wakePending bool
	gone        bool // it ended and was released (end.go)

	// Its wake pairs not folded, as waker and as woken (the heads of
	// lists through pair's nextW, nextG), and the pair sums keyed by it
	// (the head of a list through pairSum.next): -1 for none (end.go).
	pairsW, pairsG, sums int32
}

type block struct {
	start, last int64
	dur         int64
	seq         int64 // the blocks numbered in the order they began to be reported
	group       int32
	task        int32
	waker       int32 // -1: none
}

type group struct {
	reason string
	frames []string
	sum    groupSum // its blocks summed (groupsum.go)
	outer  string   // the outermost frame's function: the goroutine's entry
}

type pair struct {
	count int64
	lat   dist
	// noGroup sums the latencies of its wakes of no block group (the
	// common case), saving the latSum map on the hot path; groups are
	// the other groups of its latSum entries, with their sums (searched
	// in order while there are few: a pair most often ends blocks of one
	// group, and the map's lookup for each wake ending one was 4% of
	// report's CPU on the corpus's idle trace).
	noGroup *latAcc
	groups  []pairGroup
	// The links of its waker's and its woken's lists of pairs (-1: none).
	nextW, prevW, nextG, prevG int32
	folded                     bool // into a pairSum at the end of its waker or woken (end.go)
}

// pairGroup is a group of a pair's latSum entries and the entry.
type pairGroup struct {
	group int32
	acc   *latAcc
}

// pairScan is how many groups of a pair addLatency searches in order
// before it looks in latSum.
const pairScan = 8

// pairSkel is what stays of a wake pair (index as in pairL) once folded:
// its goroutines, for the edges' distinct goroutines and locations.
type pairSkel struct {
	waker, woken int32
}

// latKey and latAcc sum the latencies for the latency profile: by wake
// pair and the woken goroutine's block group (-1: none).
type latKey struct{ pair, group int32 }

type latAcc struct{ n, us int64 }

// worstWake is a candidate for the worst latencies.
type worstWake struct {
	us   uint32
	t    int64
	pair int32
}

type workerState struct {
	seen           bool
	running        bool
	runStart       int64
	runTask        int32
	parked         bool
	parkSince      int64
	lastPark       int64 // the time of its last WorkerPark, if parkSeen
	parkSeen       bool
	busy, parkedNS int64
	polls          int64
}

// Analyzer accumulates events; Report ends the analysis.
type Analyzer struct {
	cfg Config

	tasks   pages[task]
	taskIdx map[uint64]int32
	// hot caches taskIdx for recently seen goroutines, direct-mapped by id:
	// most records name a goroutine seen a moment ago, and the map lookup
	// otherwise costs more than the rest of the bookkeeping.
	hot     [1024]hotTask
	nblocks int64        // blocks seen
	cur     pages[block] // the goroutines' latest blocks (task.block)
	kept    []block      // with cfg.KeepBlocks, the blocks folded (groupsum.go)
	stuck   []int32      // after foldLatest, the goroutines still blocked, in their blocks' order
	folded  bool
	groups  []group
	byPtr   map[*string]int32
	byKey   map[string]int32
	pairs   map[[2]int32]int32
	pairL   pages[pair]
	pairSk  pages[pairSkel]
	all     dist
	latSum  map[latKey]*latAcc
	worst   []worstWake // a min-heap on (us, -t) of at most cfg.Worst
	workers [256]workerState
	parkedN int16
	queue   []QueuePoint

	records, wakes, pendingRecs int64
	lastT                       int64
	tl                          timeline
	slow                        slowWakes
	pauses                      pauses
	// closureNames caches fn's names of anonymous functions' goroutines,
	// by spawn location.
	closureNames map[string]string
	order        []int32 // groups in report order, after Report
	ch           chainState

	// What is kept of the goroutines that ended (end.go): their names
	// (by task index, the strings in strs), their herds; ended counts
	// them, curFree the slots of cur they freed.
	names     pages[deadName]
	strs      []string
	strIdx    map[string]uint32
	deadHerds []deadHerd
	ended     int64
	curFree   []int32
	// The wake pairs folded (end.go): their sums, indexed by their
	// sides, the free slots; inflight, the sums of the folded pairs whose
	// woken has not run since the wake.
	sums     []pairSum
	sumIdx   map[[2]int32]int32
	sumFree  []int32
	inflight map[int32]int32
	// runtimeSide is the runtime's side of a pairSum (0: not yet made).
	runtimeSide int32
}

// slowWakes counts the wakes that waited at least SlowWake to run while a
// P was parked, by cause (docs/report.md, "slow_wake"): behind, those
// that ran on the P they were woken onto, which had kept running since
// the wake (queued behind the goroutines running there: the woken
// goroutine sits in that P's run queue, where an idle P's thread may not
// take it); free, the others (a P was free and no thread ran the
// goroutine: the machine's CPUs busy with other threads or processes, or
// a CPU limit). big counts those of at least 10 x SlowWake.
//
// A wake that spent at least half its wait in stop-the-world pauses is
// counted as pause instead (held up by the pause, which the records of a
// converted trace or the shim's pauses file show), and not in big: a
// long pause is its own finding.
type slowWakes struct {
	count               int64
	behind, free, pause int64
	// allBusy counts the slow wakes apart from count: those woken with
	// every P running, which waited in a run queue for one (a CPU-bound
	// program, or GOMAXPROCS too low for its load).
	allBusy   int64
	big       int64
	max       int64
	task      int32
	ts        int64
	parked    int16
	maxBehind bool
	maxHeld   bool // the longest one was held up by a pause: maxPause
	maxPause  pause
}

// New returns an Analyzer.
func New(cfg Config) (*Analyzer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Analyzer{cfg: cfg, taskIdx: map[uint64]int32{}, byPtr: map[*string]int32{}, byKey: map[string]int32{},
		pairs: map[[2]int32]int32{}, latSum: map[latKey]*latAcc{}, strs: []string{""}}
	a.tasks.push(task{block: -1, wakeGroup: -1, herdBy: -1, pairsW: -1, pairsG: -1, sums: -1})
	a.tl.init(&a.cfg)
	return a, nil
}

type hotTask struct {
	key uint64 // process<<32 | id, +1 so that the zero value matches nothing
	idx int32
}

func (a *Analyzer) task(process int, id uint32) int32 {
	if id == 0 {
		return 0
	}
	k := uint64(process)<<32 | uint64(id)
	h := &a.hot[id%uint32(len(a.hot))]
	if h.key == k+1 {
		return h.idx
	}
	i, ok := a.taskIdx[k]
	if !ok {
		i = int32(a.tasks.len())
		a.tasks.push(task{id: id, process: process, block: -1, wakeGroup: -1, herdBy: -1, pairsW: -1, pairsG: -1, sums: -1})
		a.taskIdx[k] = i
	}
	*h = hotTask{k + 1, i}
	return i
}

// Add takes the next event of the run (in time-line order).
func (a *Analyzer) Add(ev *records.Event) {
	a.records++
	if ev.T > a.lastT {
		a.lastT = ev.T
	}
	switch ev.Code {
	case format.CodeTaskSpawn:
		if ev.Location != "" {
			a.tasks.at(a.task(ev.Process, ev.Task)).loc = ev.Location
		}
		a.spawnedTask(ev)
	case format.CodePollStart:
		a.pollStart(ev)
	case format.CodePollEnd:
		a.pollEnd(ev.T, ev.Worker)
	case format.CodeWorkerPark:
		w := &a.workers[ev.Worker]
		w.seen = true
		if !w.parked {
			w.parked, w.parkSince = true, ev.T
			a.parkedN++
		}
		w.lastPark, w.parkSeen = ev.T, true
	case format.CodeWorkerUnpark:
		w := &a.workers[ev.Worker]
		w.seen = true
		if w.parked {
			w.parkedNS += ev.T - w.parkSince
			w.parked = false
			a.parkedN--
		}
	case format.CodeQueueSample:
		a.queue = append(a.queue, QueuePoint{TS: ev.T, GlobalQ: int(ev.GlobalQ)})
	case format.CodeWakeEvent:
		a.wake(ev)
	case format.CodeTaskPending:
		a.pending(ev)
	}
}

func (a *Analyzer) pollStart(ev *records.Event) {
	ti := a.task(ev.Process, ev.Task)
	t := a.tasks.at(ti)
	if ev.Location != "" {
		t.loc = ev.Location
	}
	t.ranAfter = true
	if t.wakePending {
		t.wakePending = false
		lat := ev.T - t.wakeT
		us := uint32(min(lat/1000, 1<<32-1))
		a.addLatency(t.wakePair, t.wakeGroup, us, t.wakeT)
		if lat >= int64(a.cfg.SlowWake) && t.wakeParked == 0 {
			a.slow.allBusy++ // every P running: the run queue's wait
		}
		if lat >= int64(a.cfg.SlowWake) && t.wakeParked > 0 {
			s := &a.slow
			s.count++
			tw := &a.workers[t.wakeWorker]
			behind := t.wakeBusy && ev.Worker == t.wakeWorker && (!tw.parkSeen || tw.lastPark < t.wakeT)
			held, pi := int64(0), -1
			if len(a.pauses.list) > 0 {
				held, pi = a.pauseOverlap(ev.Process, t.wakeT, ev.T)
			}
			switch {
			case 2*held >= lat:
				s.pause++
			case behind:
				s.behind++
				pi = -1
			default:
				s.free++
				pi = -1
			}
			if lat >= 10*int64(a.cfg.SlowWake) && pi < 0 {
				s.big++
			}
			if lat > s.max {
				s.max, s.task, s.ts, s.parked, s.maxBehind, s.maxHeld = lat, ti, t.wakeT, t.wakeParked, behind, pi >= 0
				if pi >= 0 {
					s.maxPause = a.pauses.list[pi]
				}
			}
		}
	}
	w := &a.workers[ev.Worker]
	w.seen = true
	if w.running { // no PollEnd for the previous poll: end it here
		a.pollEnd(ev.T, ev.Worker)
	}
	w.running, w.runStart, w.runTask = true, ev.T, ti
	w.polls++
	a.chainPollStart(ti, ev.Worker, ev.T)
	a.tl.advance(a, ev.T)
}

func (a *Analyzer) pollEnd(t int64, worker uint8) {
	w := &a.workers[worker]
	w.seen = true
	if !w.running {
		return
	}
	w.running = false
	w.busy += t - w.runStart
	a.chainPollEnd(w.runTask, t)
	a.tl.addPoll(a, int(worker), w.runStart, t, w.runTask)
}

func (a *Analyzer) wake(ev *records.Event) {
	a.wakes++
	wi := a.task(ev.Process, ev.Waker)
	gi := a.task(ev.Process, ev.Task)
	t := a.tasks.at(gi)
	var pi int32
	if t.lastPair > 0 && t.lastPairWaker == wi {
		pi = t.lastPair - 1
	} else {
		k := [2]int32{wi, gi}
		var ok bool
		pi, ok = a.pairs[k]
		if !ok {
			pi = a.newPair(wi, gi)
			a.pairs[k] = pi
		}
		t.lastPairWaker, t.lastPair = wi, pi+1
	}
	a.pairL.at(pi).count++
	t.lastWakeT, t.lastWaker, t.hasLastWak = ev.T, wi, true
	t.wakeGroup = -1
	if t.block >= 0 && !t.ranAfter {
		if b := a.cur.at(t.block); b.waker < 0 {
			b.waker = wi
			t.hasLastWak = false
			t.wakeGroup = b.group
		}
	}
	if !t.wakePending { // the first wake since it last ran counts
		t.wakePending, t.wakeT, t.wakePair, t.wakeParked = true, ev.T, pi, a.parkedN
		t.wakeWorker, t.wakeBusy = ev.Worker, a.workers[ev.Worker].running
	}
	if wi != 0 {
		// Distinct goroutines woken by wi within HerdWindow of the first.
		w := a.tasks.at(wi)
		if ev.T-w.herdStart > int64(a.cfg.HerdWindow) || w.herdCount == 0 {
			w.herdStart, w.herdCount = ev.T, 0
			w.herdEpoch++
		}
		if g := a.tasks.at(gi); g.herdBy != wi || g.herdIn != w.herdEpoch {
			g.herdBy, g.herdIn = wi, w.herdEpoch
			w.herdCount++
			if w.herdCount > w.herdBest {
				w.herdBest, w.herdAt = w.herdCount, w.herdStart
			}
		}
	}
	a.tl.addWake(a, ev.T, wi, gi, int(ev.Worker))
	a.chainWake(wi, gi, ev.T)
}

func (a *Analyzer) pending(ev *records.Event) {
	a.pendingRecs++
	gi := a.group(ev.Stack)
	ti := a.task(ev.Process, ev.Task)
	t := a.tasks.at(ti)
	dur := int64(ev.Duration) * 1000
	start := ev.T - dur
	var b *block
	if t.block >= 0 {
		prev := a.cur.at(t.block)
		if prev.group == gi && abs(prev.start-start) <= reReportSlack {
			b = prev // the same block, re-reported
			b.dur = max(b.dur, dur)
			b.last = max(b.last, ev.T)
		} else {
			a.fold(prev, true) // final: the goroutine ran, and blocked again
		}
	}
	if b == nil {
		if t.block < 0 { // its first block: a slot of its own, reused for the next ones
			if n := len(a.curFree); n > 0 {
				t.block = a.curFree[n-1]
				a.curFree = a.curFree[:n-1]
			} else {
				t.block = a.cur.push(block{})
			}
		}
		b = a.cur.at(t.block)
		*b = block{group: gi, task: ti, waker: -1, start: start, last: ev.T, dur: dur, seq: a.nblocks}
		a.nblocks++
		a.groups[gi].sum.seen(ti)
	}
	t.ranAfter = false
	if t.entry == "" {
		t.entry = a.groups[gi].outer
	}
	if b.waker < 0 && t.hasLastWak && t.lastWakeT >= start-reReportSlack && t.lastWakeT <= ev.T {
		b.waker = t.lastWaker
		t.hasLastWak = false
	}
	if t.wakePending && t.wakeT >= start-reReportSlack && t.wakeT <= ev.T {
		t.wakeGroup = gi
	}
	a.chainPending(ti, gi, start, ev.T)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// group returns the group of a resolved stack; the records package shares
// one slice per distinct stack of a file, so its address is a cheap key.
func (a *Analyzer) group(stk []string) int32 {
	if len(stk) > 0 {
		if gi, ok := a.byPtr[&stk[0]]; ok {
			return gi
		}
	}
	key := strings.Join(stk, "\n")
	gi, ok := a.byKey[key]
	if !ok {
		reason, frames := records.Reason(stk)
		gi = int32(len(a.groups))
		g := group{reason: reason, frames: append([]string{}, frames...)}
		for i := len(frames) - 1; i >= 0; i-- {
			fn, _, _ := strings.Cut(frames[i], " ")
			if fn != "runtime.goexit" && fn != "runtime.main" {
				g.outer = fn
				break
			}
		}
		a.groups = append(a.groups, g)
		a.byKey[key] = gi
	}
	if len(stk) > 0 {
		a.byPtr[&stk[0]] = gi
	}
	return gi
}

// Name returns the name of a goroutine for per-goroutine fields:
// "gN ENTRY" (ENTRY without its package path), "gN" when its entry is
// unknown, "runtime" for no goroutine.
func (a *Analyzer) name(ti int32) string {
	if ti == 0 {
		return "runtime"
	}
	g := "g" + strconv.FormatUint(uint64(a.taskID(ti)), 10)
	if f := a.fn(ti); f != g {
		return g + " " + f
	}
	return g
}

// fn returns the name of a goroutine for aggregated fields: its entry
// function, "gN" when unknown, "runtime" for no goroutine.
func (a *Analyzer) fn(ti int32) string {
	if ti == 0 {
		return "runtime"
	}
	id, loc, entry := a.ident(ti)
	if _, ok := records.Entry(loc); !ok {
		return AggregateName(id, loc, entry)
	}
	// The name is the location's alone.
	if n, ok := a.closureNames[loc]; ok {
		return n
	}
	n := AggregateName(id, loc, entry)
	if strings.Contains(n, " created at ") {
		// Cached by location: the aggregations ask once per block and
		// per wake pair, and a name made for each of a million
		// goroutines of one go statement was a fifth of report's peak
		// memory.
		if a.closureNames == nil {
			a.closureNames = map[string]string{}
		}
		a.closureNames[loc] = n
	}
	return n
}

// AggregateName is the name of goroutine id in aggregated fields (wake
// edges, wakers, profiles' labels), from its spawn location loc and, when
// that names no entry, entry, the outermost frame of a stack where it
// blocked: its entry function without the package path; an anonymous
// function's with its go statement, as a dump names it
// ("main.main.func1 created at main.go:84"), since ".func1" alone says
// nothing; "go@CREATOR FILE:LINE" for an old-style location; "gN" when
// nothing is known; "runtime" for id 0 (no goroutine). Package fleet
// names the goroutines it ships with it, so that the fleet's report and
// a file's agree.
func AggregateName(id uint32, loc, entry string) string {
	if id == 0 {
		return "runtime"
	}
	if e, ok := records.Entry(loc); ok {
		fn := ShortFunc(e)
		if isClosure(fn) {
			_, createdAt := creation(loc)
			return DisplayName(fn, createdAt)
		}
		return fn
	}
	if entry != "" {
		return ShortFunc(entry)
	}
	if f := funcName(loc); f != "" {
		return f
	}
	if id == 1 {
		return "runtime.main" // the main goroutine: no go statement created it
	}
	return "g" + strconv.FormatUint(uint64(id), 10)
}

// isClosure reports whether fn is a function literal's name as the
// compiler spells it: "main.main.func1", "pkg.(*T).m.func2.1", or a go
// statement's wrapper "main.main.gowrap1".
func isClosure(fn string) bool {
	i := strings.LastIndex(fn, ".func")
	if j := strings.LastIndex(fn, ".gowrap"); j > i {
		return j+len(".gowrap") < len(fn) && isDigit(fn[j+len(".gowrap")])
	}
	return i > 0 && i+len(".func") < len(fn) && isDigit(fn[i+len(".func")])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// funcName names a goroutine from its spawn location: its entry function
// without the package path; for an old-style location (the creator's
// "FUNC FILE:LINE") "go@" and the creator's short frame.
func funcName(loc string) string {
	if loc == "" {
		return ""
	}
	entry, ok := records.Entry(loc)
	if ok {
		return ShortFunc(entry)
	}
	file, line := "", ""
	if _, pos, found := strings.Cut(loc, " "); found {
		if i := strings.LastIndexByte(pos, ':'); i > 0 {
			file, line = pos[:i], pos[i+1:]
			if j := strings.LastIndexAny(file, `/\`); j >= 0 {
				file = file[j+1:]
			}
		}
	}
	if file == "" {
		return "go@" + ShortFunc(entry)
	}
	return "go@" + ShortFunc(entry) + " " + file + ":" + line
}

// ShortFunc drops the package path of a function name:
// "github.com/x/server.(*client).readLoop" is "server.(*client).readLoop".
func ShortFunc(fn string) string {
	// The package path ends at the last slash before the first dot after it.
	i := strings.LastIndexByte(fn, '/')
	if b := strings.IndexByte(fn, '['); b >= 0 && b < i {
		i = strings.LastIndexByte(fn[:b], '/')
	}
	if i >= 0 {
		return fn[i+1:]
	}
	return fn
}

func (a *Analyzer) addLatency(pi, group int32, us uint32, at int64) {
	if !a.pairL.has(pi) || a.pairL.at(pi).folded { // the waker ended before the woken ran (end.go)
		a.addLatencySum(pi, group, us, at)
		return
	}
	p := a.pairL.at(pi)
	p.lat.add(us)
	a.all.add(us)
	var acc *latAcc
	switch {
	case group < 0:
		acc = p.noGroup
	case len(p.groups) <= pairScan:
		for i := range p.groups {
			if p.groups[i].group == group {
				acc = p.groups[i].acc
				break
			}
		}
	}
	if acc == nil {
		k := latKey{pi, group}
		if group < 0 || len(p.groups) > pairScan { // (else not found above: new)
			acc = a.latSum[k]
		}
		if acc == nil {
			acc = &latAcc{}
			a.latSum[k] = acc
			if group >= 0 {
				p.groups = append(p.groups, pairGroup{group, acc})
			}
		}
		if group < 0 {
			p.noGroup = acc
		}
	}
	acc.n++
	acc.us += int64(us)
	a.addWorst(us, at, pi)
}

// addWorst takes a latency for the worst ones.
func (a *Analyzer) addWorst(us uint32, at int64, pi int32) {
	w := worstWake{us: us, t: at, pair: pi}
	if len(a.worst) < a.cfg.Worst {
		a.worst = append(a.worst, w)
		heapUp(a.worst, len(a.worst)-1)
	} else if worse(w, a.worst[0]) {
		a.worst[0] = w
		heapDown(a.worst, 0)
	}
}

// worse orders the worst latencies: longer, then earlier.
func worse(x, y worstWake) bool {
	if x.us != y.us {
		return x.us > y.us
	}
	return x.t < y.t
}

// The heap's root is the least bad of the kept ones. Written out rather
// than container/heap: its interface would box every worstWake pushed, an
// allocation for each wake of the hot path.
func heapUp(h []worstWake, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[p], h[i]) {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func heapDown(h []worstWake, i int) {
	for {
		l, m := 2*i+1, i
		if l < len(h) && worse(h[m], h[l]) {
			m = l
		}
		if r := l + 1; r < len(h) && worse(h[m], h[r]) {
			m = r
		}
		if m == i {
			return
		}
		h[m], h[i] = h[i], h[m]
		i = m
	}
}
