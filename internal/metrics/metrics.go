// Package metrics turns the records of a live conversion (the shim's
// inside a program, wakeshim attach's beside one) into numbers to graph and
// alert on: wait time by wait reason, wake-to-run latency, wakes, records
// written and dropped, the goroutines blocked now by verdict and entry
// function, and the share of time the records cover. docs/fleet.md lists
// the metrics.
//
// A Tracker sits between the converter and its files (Wrap): it sees every
// record the converter writes, in the converter's goroutine, and keeps
// what the metrics need in atomic counters and small maps, so that reading
// the metrics (Families, from any goroutine) never blocks the conversion
// and the conversion never waits for a reader. It does not depend on
// Prometheus' client library: the shim is linked into programs that must
// not pay for its initialisation (shim/auto's TestInitAllocs); WriteText
// renders the Prometheus text exposition format, and package
// internal/metrics/promcoll gives the same families as a
// prometheus.Collector.
package metrics

import (
	"cmp"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/rotate"
	"github.com/wakeshim/wakeshim/internal/waitreason"
)

// MaxEntries bounds the entry label of NameBlocked and NameLeaked: the
// entry functions with the most goroutines blocked now (of each verdict,
// for NameBlocked) get a series each, the rest are summed under
// entry="other".
const MaxEntries = 10

// Verdicts are the values of NameBlocked's verdict label, the verdicts of
// the report (package analyze) on goroutines blocked now: leaked (the last
// goroutineleak profile names it), idle (a wait on the runtime or for
// outside events, or one it or its pool were woken from before), suspect
// (the rest; the report's deadlocked too, which takes the whole wake
// graph to tell). NameBlocked has at most len(Verdicts)*(MaxEntries+1)
// series.
var Verdicts = [...]string{analyze.VerdictLeaked, analyze.VerdictSuspect, analyze.VerdictIdle}

const (
	vLeaked = iota
	vSuspect
	vIdle
	numVerdicts
)

// maxStacks bounds what a Tracker remembers of the stacks waits ended at
// (for the verdict idle): past it, waits at new stacks are judged without
// their history. maxOwnWoken bounds the (goroutine, stack) pairs a
// goroutine was woken at (an arbitrary one is forgotten for a new one).
const (
	maxStacks   = 1 << 16
	maxOwnWoken = 1 << 14
)

// What a Tracker remembers of a stack: a wait ended there (the goroutine
// ran again, or blocked anew), one of them woken by the runtime (a timer,
// the network poller: waker 0).
const (
	stackEnded uint8 = 1 << iota
	stackRuntimeWoke
)

// OtherLabel is the label value of what the bounds leave out: a wait
// reason outside waitreason.All, the entry functions past MaxEntries.
const OtherLabel = "other"

// The histograms' upper bounds, in microseconds (the records' unit).
var (
	waitBoundsUS = []int64{1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
		1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000, 300_000_000}
	latBoundsUS = []int64{1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000, 1_000_000}
)

// reReportSlack is how far apart (µs) the starts of two TaskPendings of
// one goroutine and stack may be for them to be one block re-reported (as
// package analyze folds them).
const reReportSlack = 1000

// staleSlack is how long past its next expected re-report (µs of the
// records' time) a block in progress is still counted as blocked now: a
// goroutine that exited while the tracer was paused is never reported
// again.
const staleSlack = 30_000_000

// hist is a histogram of microseconds, updated by the converter's
// goroutine (plain counts: no atomic on the records' path) and published
// in atomics for any goroutine to read (publish).
type hist struct {
	bounds []int64
	counts []uint64 // len(bounds)+1: the last is +Inf
	sumUS  int64
	dirty  bool
	pub    []atomic.Uint64
	pubSum atomic.Int64
}

func newHist(bounds []int64) *hist {
	return &hist{bounds: bounds, counts: make([]uint64, len(bounds)+1), pub: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *hist) observe(us int64) {
	us = max(us, 0)
	i, _ := slices.BinarySearch(h.bounds, us) // the first bound >= us: le is inclusive
	h.counts[i]++
	h.sumUS += us
	h.dirty = true
}

func (h *hist) publish() {
	if !h.dirty {
		return
	}
	h.dirty = false
	for i, n := range h.counts {
		h.pub[i].Store(n)
	}
	h.pubSum.Store(h.sumUS)
}

// Histogram is a histogram as the exposition formats give it: cumulative
// counts per upper bound (seconds), then the count and the sum (seconds).
type Histogram struct {
	Bounds     []float64
	Cumulative []uint64
	Count      uint64
	Sum        float64
}

func (h *hist) snapshot() Histogram {
	out := Histogram{Bounds: make([]float64, len(h.bounds)), Cumulative: make([]uint64, len(h.bounds))}
	var n uint64
	for i := range h.pub {
		n += h.pub[i].Load()
		if i < len(h.bounds) {
			out.Bounds[i] = float64(h.bounds[i]) / 1e6
			out.Cumulative[i] = n
		}
	}
	out.Count = n
	out.Sum = float64(h.pubSum.Load()) / 1e6
	return out
}

// reasonIndex returns the histogram of a wait reason: its index in
// waitreason.All, or the last one (OtherLabel's). (A search, not a map
// built at init: the shim's package inits must not allocate.)
func reasonIndex(r string) int {
	if i := slices.Index(waitreason.All, r); i >= 0 {
		return i
	}
	return len(waitreason.All)
}

// block is a wait of one goroutine seen in its TaskPending records (a
// long one is reported again while it lasts).
type block struct {
	reason      int
	key         uint64 // its stack (reason included), hashed
	entry       string
	start, last int64 // µs on the records' time line
	dur         int64 // µs, the largest reported
	ended       bool  // woken: no longer blocked now (it has yet to run)
	// The verdict's facts of its reason and stack (analyze's rules): idle
	// whatever its history (analyze.IdleReason, IdleFrame), a pool's wait
	// (analyze.PoolWait), a nil channel's.
	idle, pool, nilChan bool
	wakerSet            bool   // the wake that ended it is known: waker is set
	waker               uint32 // (0: the runtime)
}

// Tracker observes the records of one conversion. Its record methods (the
// Output Wrap returns, Gap, Publish) are for the converter's goroutine
// alone; Families is safe from any goroutine.
type Tracker struct {
	start time.Time
	step  int64 // µs: the converter's re-report step (Refresh's)

	written [format.NumCodes]atomic.Int64
	dropped atomic.Int64
	// hs holds the histograms, made by the converter's goroutine at the
	// first wait or latency (h): nothing of their size is allocated where
	// the Tracker is made (in the shim, the host's goroutine calling Start).
	hs      atomic.Pointer[histSet]
	h       *histSet
	covered atomic.Int64 // µs of the records' time line inside trace windows

	mu           sync.Mutex
	blockedTop   [numVerdicts][]EntryCount
	blockedOther [numVerdicts]int64
	leakSet      bool // SetLeaked was called
	leakedTop    []EntryCount
	leakedOther  int64
	leakIDs      []uint64 // the goroutines the last profile names, for Publish
	leakNew      bool     // leakIDs is new

	// The converter's goroutine only.
	base, last  int64 // µs: the current segment's start, the latest record, on one time line
	seen        bool  // a timestamped record came
	winStart    int64
	inWin       bool
	coveredDone int64
	frames      []frame                // the current segment's FrameDefs, by id
	locs        []string               // and its SpawnLocationDefs
	counts      [format.NumCodes]int64 // records written, published to written
	nDropped    int64
	spawn       map[uint32]uint16 // task -> spawn location, the current segment
	// gs holds the goroutines woken and not yet run, or with a block in
	// progress (nothing else); hot caches it for the goroutines seen a
	// moment ago (a wake, then the run: most records), free recycles.
	gs      map[uint32]*gstate
	hot     *[1024]hotG // (made on first use)
	free    []*gstate
	nBlocks int // of gs, with a block in progress
	// byVerdict counts the goroutines blocked now (in progress, not
	// woken) by verdict and entry, at Publish; leaked is the goroutines
	// the last goroutineleak profile names; stacks what is known of the
	// waits ended at a stack (key: stackEnded...), ownWoken the
	// (goroutine, stack) pairs a goroutine was woken at (ownKey). (Made
	// on first use.)
	byVerdict [numVerdicts]map[string]int64
	leaked    map[uint32]bool
	stacks    map[uint64]uint8
	ownWoken  map[uint64]struct{}
}

// gstate is what a Tracker knows of one goroutine.
type gstate struct {
	woken   bool   // a wake since it last ran: wake is set
	wake    wakes  // (µs)
	waker   uint32 // of the last wake
	blocked bool   // a block in progress: blk is set
	blk     block
}

// histSet is a Tracker's histograms: the waits by reason (then other),
// the latency.
type histSet struct {
	wait []*hist
	lat  *hist
}

// hists returns the histograms, made on first use.
func (t *Tracker) hists() *histSet {
	if t.h == nil {
		h := &histSet{wait: make([]*hist, len(waitreason.All)+1), lat: newHist(latBoundsUS)}
		for i := range h.wait {
			h.wait[i] = newHist(waitBoundsUS)
		}
		t.h = h
		t.hs.Store(h)
	}
	return t.h
}

type hotG struct {
	id uint32 // +1: the zero value matches no goroutine
	g  *gstate
}

// frame is a FrameDef, digested once: its hash, its function (for the
// entry: "" for those that are not one), whether it marks a wait for
// outside events (analyze.IdleFrame) and, for the "[reason]"
// pseudo-frame, the reason's histogram (-1 otherwise).
type frame struct {
	hash   uint64
	fn     string
	idle   bool
	reason int
}

func newFrame(s string) frame {
	h := fnv.New64a()
	h.Write([]byte(s))
	f := frame{hash: h.Sum64(), reason: -1}
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		f.reason = reasonIndex(s[1 : len(s)-1])
		return f
	}
	if fn, _, _ := strings.Cut(s, " "); fn != "runtime.goexit" && fn != "runtime.main" {
		f.fn = strings.Clone(fn)
	}
	f.idle = analyze.IdleFrame(s) != ""
	return f
}

// reasonName is the wait reason of a histogram index ("" for other).
func reasonName(i int) string {
	if i < len(waitreason.All) {
		return waitreason.All[i]
	}
	return ""
}

// wakes are the first and the last wake of a goroutine since it last ran
// (µs): the first starts its wake-to-run latency, the last is the one
// that ended its block.
type wakes struct{ first, last int64 }

// EntryCount is the number of goroutines blocked now in one entry function.
type EntryCount struct {
	Entry string
	N     int64
}

// New returns a Tracker. refreshStep is the step of the converter's
// re-reports of long blocks (live.Ops.Refresh), from which a block that
// is no longer reported is judged gone.
func New(refreshStep time.Duration) *Tracker {
	return &Tracker{start: time.Now(), step: max(refreshStep.Microseconds(), 1),
		spawn: map[uint32]uint16{}, gs: map[uint32]*gstate{}}
}

// Wrap returns the Output for the converter: out, with t seeing every
// record on its way.
func (t *Tracker) Wrap(out *rotate.Files) *Output { return &Output{f: out, t: t} }

// Output is a convert.Output (and format.HotWriter): the files, observed.
type Output struct {
	f *rotate.Files
	t *Tracker
}

// WriteRecord observes r and writes it.
func (o *Output) WriteRecord(r *format.Record) error {
	d := o.f.Dropped()
	err := o.f.WriteRecord(r)
	o.t.count(r.Code, o.f.Dropped() != d)
	o.t.Record(r)
	return err
}

// WriteHot observes h and writes it.
func (o *Output) WriteHot(h format.Hot) error {
	d := o.f.Dropped()
	err := o.f.WriteHot(h)
	o.t.count(h.Code, o.f.Dropped() != d)
	o.t.hot1(h.Code, h.TS, h.Task, h.Waker)
	return err
}

// Close closes the files.
func (o *Output) Close() error { return o.f.Close() }

// WritePause keeps a stop-the-world pause beside the files
// (convert.PauseOutput).
func (o *Output) WritePause(p *format.Pause) error { return o.f.WritePause(p) }

// NextSegment starts the files' next segment.
func (o *Output) NextSegment() error {
	o.t.Segment()
	return o.f.NextSegment()
}

func (t *Tracker) count(c format.Code, dropped bool) {
	if dropped {
		t.nDropped++
	} else if c.Valid() {
		t.counts[c]++
	}
}

// now places a record's timestamp on the time line.
func (t *Tracker) now(ts uint32) int64 {
	n := t.base + int64(ts)
	if n > t.last || !t.seen {
		t.last = n
	}
	t.seen = true
	if !t.inWin {
		t.inWin, t.winStart = true, n
	}
	return n
}

// Record observes one record (WriteRecord does it for the converter's;
// tests and other readers of a record stream may call it directly, with
// Segment at each new segment).
func (t *Tracker) Record(r *format.Record) {
	switch r.Code {
	case format.CodePollStart, format.CodeWakeEvent:
		t.hot1(r.Code, r.TS, r.Task, r.Waker)
	case format.CodePollEnd, format.CodeWorkerPark, format.CodeWorkerUnpark, format.CodeQueueSample:
		t.now(r.TS)
	case format.CodeFrameDef:
		if int(r.ID) >= len(t.frames) {
			t.frames = append(t.frames, make([]frame, int(r.ID)+1-len(t.frames))...)
		}
		t.frames[r.ID] = newFrame(r.Str)
	case format.CodeSpawnLocationDef:
		if int(r.ID) >= len(t.locs) {
			t.locs = append(t.locs, make([]string, int(r.ID)+1-len(t.locs))...)
		}
		t.locs[r.ID] = strings.Clone(r.Str) // (the converter reuses its record)
	case format.CodeTaskSpawn:
		t.spawn[r.Task] = r.SpawnLoc
		if g := t.get(r.Task); g != nil && g.blocked {
			// A better name for it (the converter names a goroutine's
			// function once a stack shows what its literal calls).
			g.blk.entry = t.entryOf(r.Task, g.blk.entry)
		}
	case format.CodeTaskPending:
		t.pending(r)
	}
}

// get returns the state of goroutine id, nil if none.
func (t *Tracker) get(id uint32) *gstate {
	if t.hot == nil {
		return nil // (nothing was ever added)
	}
	h := &t.hot[id%uint32(len(t.hot))]
	if h.id == id+1 {
		return h.g
	}
	if len(t.gs) == 0 {
		return nil
	}
	g := t.gs[id]
	if g != nil {
		*h = hotG{id + 1, g}
	}
	return g
}

// ensure returns the state of goroutine id, made if none.
func (t *Tracker) ensure(id uint32) *gstate {
	if g := t.get(id); g != nil {
		return g
	}
	var g *gstate
	if n := len(t.free); n > 0 {
		g, t.free = t.free[n-1], t.free[:n-1]
		*g = gstate{}
	} else {
		g = new(gstate)
	}
	t.gs[id] = g
	if t.hot == nil {
		t.hot = new([1024]hotG)
	}
	t.hot[id%uint32(len(t.hot))] = hotG{id + 1, g}
	return g
}

// release forgets goroutine id once nothing of it is left to know.
func (t *Tracker) release(id uint32, g *gstate) {
	if g.woken || g.blocked {
		return
	}
	delete(t.gs, id)
	if h := &t.hot[id%uint32(len(t.hot))]; h.id == id+1 {
		*h = hotG{}
	}
	if len(t.free) < 1024 {
		t.free = append(t.free, g)
	}
}

func (t *Tracker) hot1(c format.Code, ts uint32, task, waker uint32) {
	switch c {
	case format.CodePollStart:
		n := t.now(ts)
		g := t.get(task)
		if g == nil {
			return
		}
		if g.woken {
			g.woken = false
			t.hists().lat.observe(n - g.wake.first)
		}
		if g.blocked {
			t.close(task, g, true)
		}
		t.release(task, g)
	case format.CodeWakeEvent:
		n := t.now(ts)
		g := t.ensure(task)
		if !g.woken { // the first wake since it last ran starts the latency
			g.woken, g.wake.first = true, n
		}
		g.wake.last, g.waker = n, waker
		if g.blocked && !g.blk.ended {
			t.end(&g.blk, waker)
		}
	default:
		t.now(ts)
	}
}

// end marks b woken by waker: no longer blocked now.
func (t *Tracker) end(b *block, waker uint32) {
	b.ended, b.wakerSet, b.waker = true, true, waker
}

// close ends goroutine id's block for good: observed as a wait (when the
// goroutine ran again, or blocked anew), and remembered for the verdicts
// of the waits at its stack to come, or forgotten.
func (t *Tracker) close(id uint32, g *gstate, observe bool) {
	b := &g.blk
	b.ended = true
	g.blocked = false
	t.nBlocks--
	if !observe {
		return
	}
	t.hists().wait[b.reason].observe(b.dur)
	if b.idle {
		return // (idle whatever its history)
	}
	if t.stacks == nil {
		t.stacks = map[uint64]uint8{}
	}
	f, ok := t.stacks[b.key]
	if ok || len(t.stacks) < maxStacks {
		f |= stackEnded
		if b.wakerSet && b.waker == 0 {
			f |= stackRuntimeWoke
		}
		t.stacks[b.key] = f
	}
	if b.pool || f&stackRuntimeWoke != 0 {
		return // (the stack's history judges it: any wait ended there)
	}
	if t.ownWoken == nil {
		t.ownWoken = map[uint64]struct{}{}
	}
	k := ownKey(id, b.key)
	if _, ok := t.ownWoken[k]; !ok && len(t.ownWoken) >= maxOwnWoken {
		for old := range t.ownWoken {
			delete(t.ownWoken, old)
			break
		}
	}
	t.ownWoken[k] = struct{}{}
}

// ownKey is the key of goroutine id's waits at stack key in ownWoken.
func ownKey(id uint32, key uint64) uint64 { return key ^ (uint64(id)+1)*0x9e3779b97f4a7c15 }

// verdict judges goroutine id, blocked now in b, by the rules of the
// report's verdicts (analyze: the goroutineleak profile's proof first,
// then a nil channel's wait, deadlocked there, suspect here; then idle:
// analyze.IdleReason, IdleFrame, woken before from this same wait, one of
// a pool some of which were woken from it, or a wait here ended by the
// runtime; suspect otherwise). The report's deadlocked cycles are waits
// with none of the idle evidence: suspect here.
func (t *Tracker) verdict(id uint32, b *block) int {
	switch {
	case t.leaked[id]:
		return vLeaked
	case b.nilChan:
		return vSuspect
	case b.idle:
		return vIdle
	}
	f := t.stacks[b.key]
	if f&stackRuntimeWoke != 0 || b.pool && f&stackEnded != 0 {
		return vIdle
	}
	if _, ok := t.ownWoken[ownKey(id, b.key)]; ok {
		return vIdle
	}
	return vSuspect
}

func (t *Tracker) pending(r *format.Record) {
	n := t.now(r.TS)
	dur := int64(r.Duration)
	start := n - dur
	reason, entry := len(waitreason.All), ""
	key := uint64(14695981039346656037)
	idle := false
	for i, id := range r.Frames {
		f := frame{reason: -1}
		if int(id) < len(t.frames) {
			f = t.frames[id]
		}
		key = (key ^ f.hash) * 1099511628211
		if i == 0 && f.reason >= 0 {
			reason = f.reason
		} else if f.fn != "" {
			entry = f.fn // the outermost wins
		}
		idle = idle || f.idle
	}
	entry = t.entryOf(r.Task, entry)
	g := t.ensure(r.Task)
	b := &g.blk
	if g.blocked && (b.key != key || abs(b.start-start) > reReportSlack) {
		t.close(r.Task, g, true) // (a new block of a goroutine that did not run between: its last one ended)
	}
	if !g.blocked {
		g.blocked = true
		t.nBlocks++
		rn := reasonName(reason)
		*b = block{reason: reason, key: key, entry: entry, start: start,
			idle: idle || analyze.IdleReason(rn) != "", pool: analyze.PoolWait(rn), nilChan: analyze.NilChannelWait(rn)}
	}
	b.dur = max(b.dur, dur)
	b.last = max(b.last, n)
	if g.woken && !b.ended && g.wake.last >= start-reReportSlack && g.wake.last <= n {
		t.end(b, g.waker) // its final report, after the wake that ended it
	}
}

// entryOf returns the entry function of a goroutine: the one its spawn
// location names, else fromStack (the outermost function of its block's
// stack), else "unknown"; main.main for the main goroutine.
func (t *Tracker) entryOf(task uint32, fromStack string) string {
	if task == 1 {
		// The main goroutine runs main.main; its spawn location names
		// whatever it ran when first seen (a package init starting the
		// shim, for shim/auto).
		return "main.main"
	}
	if li, ok := t.spawn[task]; ok && int(li) < len(t.locs) {
		// "ENTRY (created at CREATOR FILE:LINE)", or a bare "ENTRY"; an
		// older "FUNC FILE:LINE" names the creator (records.Entry).
		loc := t.locs[li]
		if e, _, found := strings.Cut(loc, " (created at "); found {
			return e
		}
		if loc != "" && !strings.Contains(loc, " ") {
			return loc
		}
	}
	if fromStack == "" || fromStack == "unknown" {
		return "unknown"
	}
	return fromStack
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// Segment starts a new segment of the records: its clock starts at the
// last record of the one before (the QueueSample the converter ends a
// segment with) and its definitions are new.
func (t *Tracker) Segment() {
	t.base = t.last
	t.frames, t.locs = t.frames[:0], t.locs[:0]
	clear(t.spawn)
}

// Gap says the records to come follow a gap in the trace (a new trace
// window: the tracer paused, generations were lost): the time before is
// covered up to the last record, and the wakes not yet followed by a run
// are forgotten (their run is not in the records).
func (t *Tracker) Gap() {
	if t.inWin {
		t.coveredDone += t.last - t.winStart
		t.inWin = false
	}
	for id, g := range t.gs {
		g.woken = false
		t.release(id, g)
	}
	t.covered.Store(t.coveredDone)
}

// NewProcess says the records to come are another process's (wakeshim
// attach's target restarted: goroutine ids start over, in a new file):
// what was known of the goroutines is forgotten, blocks in progress
// unobserved, and the time line goes on from the last record. (What is
// known of the waits ended at each stack stays: the same program, most
// likely.)
func (t *Tracker) NewProcess() {
	t.Gap()
	for id, g := range t.gs {
		if g.blocked {
			t.close(id, g, false)
		}
		t.release(id, g)
	}
	clear(t.ownWoken)
	clear(t.leaked)
	t.Segment()
}

// Publish makes the goroutines blocked now and the time covered visible to
// Families; the converter's goroutine calls it after each run of records
// (every flush). Blocks no longer re-reported when they should have been
// (the goroutine is gone) are forgotten.
func (t *Tracker) Publish() {
	for c, n := range t.counts {
		t.written[c].Store(n)
	}
	t.dropped.Store(t.nDropped)
	if h := t.h; h != nil {
		for _, w := range h.wait {
			w.publish()
		}
		h.lat.publish()
	}
	t.mu.Lock()
	ids, newIDs := t.leakIDs, t.leakNew
	t.leakIDs, t.leakNew = nil, false
	t.mu.Unlock()
	if newIDs {
		if t.leaked == nil {
			t.leaked = map[uint32]bool{}
		}
		clear(t.leaked)
		for _, id := range ids {
			if id <= math.MaxUint32 {
				t.leaked[uint32(id)] = true
			}
		}
	}
	for v := range t.byVerdict {
		if t.byVerdict[v] == nil {
			t.byVerdict[v] = map[string]int64{}
		}
		clear(t.byVerdict[v])
	}
	if t.nBlocks > 0 {
		for id, g := range t.gs {
			if !g.blocked {
				continue
			}
			b := &g.blk
			if age := b.last - b.start; t.last-b.last > 2*max(age/8, t.step)+staleSlack {
				t.close(id, g, false)
				t.release(id, g)
				continue
			}
			if !b.ended {
				t.byVerdict[t.verdict(id, b)][b.entry]++
			}
		}
	}
	if t.inWin {
		t.covered.Store(t.coveredDone + t.last - t.winStart)
	}
	var top [numVerdicts][]EntryCount
	var other [numVerdicts]int64
	for v, m := range t.byVerdict {
		top[v], other[v] = topEntries(m)
	}
	t.mu.Lock()
	t.blockedTop, t.blockedOther = top, other
	t.mu.Unlock()
}

// SetLeaked gives the goroutines the last goroutineleak profile names
// (the Go runtime's proof that nothing can wake them), by entry function,
// and their ids: from then on Families has NameLeaked, bounded as
// NameBlocked is, and the goroutines of ids blocked now are NameBlocked's
// verdict="leaked" from the next Publish (a leaked goroutine cannot run
// again: its block in the records is the one the profile saw). Safe from
// any goroutine.
func (t *Tracker) SetLeaked(byEntry map[string]int64, ids []uint64) {
	top, other := topEntries(byEntry)
	t.mu.Lock()
	t.leakSet, t.leakedTop, t.leakedOther = true, top, other
	t.leakIDs, t.leakNew = ids, true
	t.mu.Unlock()
}

// topEntries returns the MaxEntries entries with the most goroutines
// (most first, then by name) and the sum of the others.
func topEntries(m map[string]int64) ([]EntryCount, int64) {
	top := make([]EntryCount, 0, len(m))
	for e, n := range m {
		if n > 0 {
			top = append(top, EntryCount{e, n})
		}
	}
	slices.SortFunc(top, func(a, b EntryCount) int {
		return cmp.Or(cmp.Compare(b.N, a.N), strings.Compare(a.Entry, b.Entry))
	})
	var other int64
	if len(top) > MaxEntries {
		for _, e := range top[MaxEntries:] {
			other += e.N
		}
		top = top[:MaxEntries]
	}
	return top, other
}

// Kind is a metric family's type.
type Kind int

// The kinds of metric families.
const (
	Counter Kind = iota
	Gauge
	HistogramKind
)

// Family is one metric family, whichever exposition renders it.
type Family struct {
	Name, Help string
	Kind       Kind
	Labels     []string // the label names, the same for every metric of it
	Metrics    []Metric
}

// Metric is one series of a Family: its label values (in Family.Labels'
// order) and its value, or its histogram.
type Metric struct {
	Values []string
	Value  float64
	Hist   *Histogram
}

// Extra is what a Tracker cannot see in the records, from its owner.
type Extra struct {
	// GensLost counts the trace generations recorded but not converted, by
	// cause (the shim's Stats: evicted, dropped, skipped, failed); nil
	// when the owner has none.
	GensLost map[string]int64
}

// The metric names.
const (
	NameWait       = "wakeshim_wait_seconds"
	NameLatency    = "wakeshim_wake_latency_seconds"
	NameWakes      = "wakeshim_wakes_total"
	NameWritten    = "wakeshim_records_written_total"
	NameDropped    = "wakeshim_records_dropped_total"
	NameBlocked    = "wakeshim_blocked_goroutines"
	NameLeaked     = "wakeshim_leaked_goroutines"
	NameCoverage   = "wakeshim_records_coverage_ratio"
	NameCovered    = "wakeshim_records_covered_seconds_total"
	NameGensLost   = "wakeshim_trace_generations_lost_total"
	causeLabelName = "cause"
)

// Families returns the metrics now, in a fixed order; safe for concurrent
// use with the conversion. A wait reason has a histogram once a wait of it
// ended; every record type has its written counter.
func (t *Tracker) Families(x Extra) []Family {
	var fams []Family
	wait := Family{Name: NameWait, Kind: HistogramKind, Labels: []string{"reason"},
		Help: "Time goroutines spent blocked, one observation per wait of at least the threshold when it ends (the goroutine runs again), by wait reason."}
	hs := t.hs.Load()
	if hs == nil {
		hs = &histSet{lat: newHist(latBoundsUS)} // (no wait nor latency yet)
	}
	for i, h := range hs.wait {
		s := h.snapshot()
		if s.Count == 0 {
			continue
		}
		r := OtherLabel
		if i < len(waitreason.All) {
			r = waitreason.All[i]
		}
		wait.Metrics = append(wait.Metrics, Metric{Values: []string{r}, Hist: &s})
	}
	lat := hs.lat.snapshot()
	fams = append(fams, wait,
		Family{Name: NameLatency, Kind: HistogramKind, Metrics: []Metric{{Hist: &lat}},
			Help: "Time from a goroutine's wake (the first since it last ran) to its running on a P."},
		Family{Name: NameWakes, Kind: Counter, Metrics: []Metric{{Value: float64(t.written[format.CodeWakeEvent].Load())}},
			Help: "Wakes (WakeEvent records) written."})
	wr := Family{Name: NameWritten, Kind: Counter, Labels: []string{"record"},
		Help: "Records written to the files, by record type."}
	for c := range format.Code(format.NumCodes) {
		wr.Metrics = append(wr.Metrics, Metric{Values: []string{c.String()}, Value: float64(t.written[c].Load())})
	}
	fams = append(fams, wr,
		Family{Name: NameDropped, Kind: Counter, Metrics: []Metric{{Value: float64(t.dropped.Load())}},
			Help: "Records lost to write errors (a full disk)."})
	if x.GensLost != nil {
		g := Family{Name: NameGensLost, Kind: Counter, Labels: []string{causeLabelName},
			Help: "Trace generations recorded but not converted, by cause: evicted from the flight recorder's ring, dropped with the converter behind, skipped for the CPU budget, after a failure."}
		for _, c := range []string{"evicted", "dropped", "skipped", "failed"} {
			g.Metrics = append(g.Metrics, Metric{Values: []string{c}, Value: float64(x.GensLost[c])})
		}
		fams = append(fams, g)
	}
	t.mu.Lock()
	top, other := t.blockedTop, t.blockedOther
	leakSet, leaked, leakedOther := t.leakSet, t.leakedTop, t.leakedOther
	t.mu.Unlock()
	bl := Family{Name: NameBlocked, Kind: Gauge, Labels: []string{"verdict", "entry"},
		Help: "Goroutines blocked now (a wait re-reported while it lasts, from the refresh age on), by the report's verdict " +
			"(leaked: named by the goroutineleak profile; idle: waits on the runtime or for outside events, or was woken from this wait before; " +
			"suspect: the rest) and entry function: the 10 with the most of each verdict, the rest as entry=\"other\"."}
	for v, es := range top {
		for _, e := range es {
			bl.Metrics = append(bl.Metrics, Metric{Values: []string{Verdicts[v], e.Entry}, Value: float64(e.N)})
		}
		if other[v] > 0 {
			bl.Metrics = append(bl.Metrics, Metric{Values: []string{Verdicts[v], OtherLabel}, Value: float64(other[v])})
		}
	}
	if leakSet {
		lk := Family{Name: NameLeaked, Kind: Gauge, Labels: []string{"entry"},
			Help: "Goroutines the last goroutineleak profile names leaked (the GC proved nothing alive can wake them), by entry function: the " +
				"10 with the most, the rest as entry=\"other\"."}
		for _, e := range leaked {
			lk.Metrics = append(lk.Metrics, Metric{Values: []string{e.Entry}, Value: float64(e.N)})
		}
		if leakedOther > 0 {
			lk.Metrics = append(lk.Metrics, Metric{Values: []string{OtherLabel}, Value: float64(leakedOther)})
		}
		fams = append(fams, lk)
	}
	cov := float64(t.covered.Load()) / 1e6
	share := 0.0
	if el := time.Since(t.start).Seconds(); el > 0 {
		share = math.Min(cov/el, 1)
	}
	fams = append(fams, bl,
		Family{Name: NameCovered, Kind: Counter, Metrics: []Metric{{Value: cov}},
			Help: "Time covered by the trace windows the records come from."},
		Family{Name: NameCoverage, Kind: Gauge, Metrics: []Metric{{Value: share}},
			Help: "Share of the time since the start that the records cover (the rest: tracer paused for the budget, generations lost)."})
	return fams
}
