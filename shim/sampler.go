package shim

import (
	"math"
	"runtime"
	"strings"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/dump"
	"github.com/wakeshim/wakeshim/internal/convcore"
)

// maxDump bounds the buffer of a goroutine dump (a larger dump is read as
// far as it goes).
const maxDump = 64 << 20

// maxPendingSamples bounds the dumps waiting for the trace to catch up.
const maxPendingSamples = 4

// sample is one goroutine dump: the blocked goroutines it showed.
type sample struct {
	wall time.Time // just before the dump (which stops the world)
	gs   []sampledG
}

type sampledG struct {
	id     exptrace.GoID
	reason string        // wait reason as the dump gives it ("sync.Mutex.Lock")
	wait   time.Duration // the dump's "N minutes", 0 under a minute
	frames []string      // normalised stack, innermost first
}

// soloBlock is a block followed by the sampler alone (no trace).
type soloBlock struct {
	key      string
	first    time.Time
	reported bool
}

type sampler struct {
	buf  []byte
	last []byte // the last dump's text, kept for Config.Dumps
	solo map[exptrace.GoID]*soloBlock
	// reported holds the goroutines the sampler reported, by block key
	// (wait reason and innermost frame), as long as later dumps show them
	// still so blocked where the trace cannot tell: across trace windows a
	// block is reported once.
	reported map[exptrace.GoID]reportedBlock
	// still holds the blocks (by start) reported as still pending, as long
	// as later dumps show them: each is reported once.
	still map[exptrace.GoID]stillBlock
}

type stillBlock struct {
	start exptrace.Time // the block's start, as the converter knows it
	key   string        // as in reportedBlock
	since time.Time     // when it was reported
}

type reportedBlock struct {
	key   string
	start exptrace.Time // the block start the sampler gave the converter
	since time.Time     // the same, in wall time
}

func (sm *sampler) init(s *Session) {
	sm.solo = map[exptrace.GoID]*soloBlock{}
	sm.reported = map[exptrace.GoID]reportedBlock{}
	sm.still = map[exptrace.GoID]stillBlock{}
}

// key identifies a block in consecutive dumps.
func (g *sampledG) key() string {
	k := g.reason
	if len(g.frames) > 0 {
		k += "|" + g.frames[0]
	}
	return k
}

// take dumps every goroutine (runtime.Stack, which stops the world) and
// returns the blocked ones that are neither the shim's nor the tracer's.
func (sm *sampler) take(s *Session) []sampledG {
	if sm.buf == nil {
		// Sized for the goroutines there are (a debug=2 entry of a short
		// stack takes about 250 bytes), so that a big program is not
		// dumped over and over (each time stopping the world) while the
		// buffer doubles.
		sm.buf = make([]byte, min(maxDump, 64<<10+512*runtime.NumGoroutine()))
	}
	var n int
	for {
		n = runtime.Stack(sm.buf, true)
		if n < len(sm.buf) || len(sm.buf) >= maxDump {
			break
		}
		sm.buf = make([]byte, 2*len(sm.buf))
	}
	if s.cfg.Dumps {
		sm.last = sm.buf[:n]
	}
	d, err := dump.ParseBytes(sm.buf[:n], "goroutine dump")
	if len(sm.buf) > 1<<20 && n < len(sm.buf)/4 {
		sm.buf = nil // do not keep a big buffer for a shrunk program
	}
	if err != nil || d == nil {
		return nil
	}
	var out []sampledG
	for i := range d.Goroutines {
		g := &d.Goroutines[i]
		if !g.HasID || !g.Blocked() || len(g.Frames) == 0 {
			continue
		}
		id := exptrace.GoID(g.ID)
		outer := g.Frames[len(g.Frames)-1].Func
		if g.CreatedBy != nil && (outer == "runtime.goexit" || outer == "runtime.main") && len(g.Frames) > 1 {
			outer = g.Frames[len(g.Frames)-2].Func
		}
		if s.isOwn(id) || strings.HasPrefix(outer, shimPkg) || convcore.IsTracerFunc(outer) {
			continue
		}
		fr := dump.Normalize(g.Frames)
		frames := make([]string, len(fr))
		for j, f := range fr {
			frames[j] = f.String()
		}
		out = append(out, sampledG{id: id, reason: g.State, wait: time.Duration(g.WaitMinutes) * time.Minute, frames: frames})
	}
	return out
}

// takeSample takes a dump; with the trace, it waits until the trace
// reaches its time; without (no recorder at Start, or none to be had again
// after a pause), it is applied at once.
func (w *worker) takeSample(time.Time) {
	// While the tracer is paused for the budget (or about to be), a dump
	// would fall in a gap of the trace: the sampler works alone then, as
	// when no recorder can be had, so that a goroutine stuck through the
	// pauses of a busy program is still reported. Its cost is charged to
	// the budget like any dump's, and an expensive one backs off.
	solo := !w.s.tracing || w.s.samplerOnly.Load() || w.s.inDebt.Load()
	if now := time.Now(); now.Before(w.sampleNext) {
		return // backing off after an expensive dump
	}
	if w.s.tracing {
		w.switchSolo(solo)
	}
	t0 := time.Now()
	gs := w.sampler.take(w.s)
	if w.sampler.last != nil {
		if err := w.out.writeDump(w.sampler.last); err != nil {
			w.out.fail(err)
		}
		w.sampler.last = nil
	}
	cost := time.Since(t0)
	w.stats.Samples++
	w.stats.SampleTime += cost
	w.chargeSample(t0, cost)
	if w.failed {
		return
	}
	if solo {
		w.applySolo(t0, gs)
		return
	}
	if len(w.samples) == maxPendingSamples {
		w.samples = append(w.samples[:0], w.samples[1:]...)
	}
	w.samples = append(w.samples, sample{wall: t0, gs: gs})
}

// sampleShare is the most of one CPU the sampler's dumps may take, whatever
// the budget: after a dump that cost d, the next waits at least d/share.
const sampleShare = 0.05

// chargeSample charges a dump (taking and reading it) to the budget, like
// the conversion, and sets when the next one may be taken: not before
// cost/share from the start of this one, share being sampleShare or half
// the budget if less (a tenth during a pause), so that dumps of a program with very many goroutines
// (about 150ms for 20,000 blocked ones, more while the tracer runs) keep
// the sampler within its share by taking fewer.
func (w *worker) chargeSample(t0 time.Time, cost time.Duration) {
	share := sampleShare
	if b := w.s.cfg.Budget; !math.IsInf(b, 1) {
		w.allowance -= cost
		// At most half the budget, and a tenth while the tracer is paused
		// to pay its debt back: the sampler works on through the pauses
		// and must not hold the tracer off for long.
		share = min(share, b/2)
		if w.s.inDebt.Load() {
			share = min(share, b/10)
		}
	}
	w.sampleNext = t0.Add(time.Duration(float64(cost) / share))
}

// switchSolo moves a tracing session's worker to the sampler alone (the
// flight recorder could not be had again after a pause) or back to the
// trace. The dumps waiting for the trace are dropped: no trace comes for
// them. Going back, the blocks the sampler alone reported are handed to
// the trace's sampler as reported, so that they are carried on quietly
// rather than reported again.
func (w *worker) switchSolo(solo bool) {
	if solo == w.solo {
		return
	}
	w.solo = solo
	w.samples = nil
	if solo {
		// Blocks already reported (by the sampler, or as still pending)
		// stay reported while the sampler works alone.
		w.sampler.solo = map[exptrace.GoID]*soloBlock{}
		for id, rb := range w.sampler.reported {
			w.sampler.solo[id] = &soloBlock{key: rb.key, first: rb.since, reported: true}
		}
		for id, sb := range w.sampler.still {
			w.sampler.solo[id] = &soloBlock{key: sb.key, first: sb.since, reported: true}
		}
		return
	}
	for id, b := range w.sampler.solo {
		if b.reported {
			w.sampler.reported[id] = reportedBlock{key: b.key, since: b.first}
		}
	}
	w.sampler.solo = map[exptrace.GoID]*soloBlock{}
}

// applySamples applies the dumps taken before trace time t, the time of
// the next event: the converter's state is then the trace's at the time of
// the dump. The sampler reports only the blocks the trace cannot: those
// whose start it did not see. A goroutine that the dump shows blocked and
// that the converter knows as blocked since a time it saw is left to the
// trace (it reports it when it ends, or at Stop); one the converter knows as
// running or runnable blocked just now (the trace will see it). One the
// converter does not know at all, or knows only as already blocked when
// first stated, has not run since the current trace window began: it has
// been blocked at least since then, so its duration is at least the
// window's age (or the dump's minutes, if more). It gets one TaskPending,
// with the dump's stack, and the converter carries the block on from there.
func (w *worker) applySamples(t exptrace.Time) {
	clk := w.c.Clock()
	if clk == nil {
		return
	}
	for len(w.samples) > 0 {
		sm := &w.samples[0]
		tt := clk.Trace + exptrace.Time(sm.wall.Sub(clk.Wall))
		if tt >= t {
			return
		}
		gs := sm.gs
		w.samples = w.samples[1:]
		if tt < w.window || tt < w.c.LastTime() {
			continue // taken in a gap of the trace, or the clocks disagree
		}
		reported := make(map[exptrace.GoID]reportedBlock)
		still := make(map[exptrace.GoID]stillBlock)
		for i := range gs {
			g := &gs[i]
			lg := w.c.Goroutine(g.id)
			if lg.Ignored || lg.Known && !lg.Blocked {
				continue
			}
			rb, had := w.sampler.reported[g.id]
			if lg.Known && lg.StartSeen {
				if had && lg.BlockStart == rb.start {
					reported[g.id] = rb // the block the sampler handed over
					continue
				}
				// The trace saw it begin and reports it when it ends. A
				// block older than the sampler's interval (still there
				// at two dumps) is reported once now as still pending,
				// so that a goroutine stuck for good shows in the
				// records while the program runs.
				if sb, ok := w.sampler.still[g.id]; ok && sb.start == lg.BlockStart {
					still[g.id] = sb
					continue
				}
				ok, err := w.c.StillPending(g.id, tt, w.s.cfg.Sample)
				if err != nil {
					w.fail(err)
					return
				}
				if ok {
					still[g.id] = stillBlock{start: lg.BlockStart, key: g.key(), since: sm.wall}
					w.stats.StillPending++
					w.outDirty = true
				}
				continue
			}
			d := max(time.Duration(tt-w.window), g.wait)
			key := g.key()
			note := w.c.SampledBlock
			since := sm.wall.Add(-d)
			if had && rb.key == key {
				// Reported in an earlier window and, by its wait and
				// frame, still in that block: carry it on, quietly, from
				// the start it was given then.
				note = w.c.NoteSampledBlock
				d = max(d, sm.wall.Sub(rb.since))
				since = rb.since
			}
			ok, err := note(g.id, tt, d, g.reason, g.frames)
			if err != nil {
				w.fail(err)
				return
			}
			if !ok {
				continue
			}
			reported[g.id] = reportedBlock{key: key, start: w.c.Goroutine(g.id).BlockStart, since: since}
			if !had || rb.key != key {
				w.stats.SampledPending++
				w.outDirty = true
			}
		}
		w.sampler.reported = reported
		w.sampler.still = still
	}
}

// applySolo applies a dump without a trace: a goroutine blocked in
// consecutive dumps with the same wait reason and innermost frame is taken
// to be in one block, from the first dump that showed it; it gets one
// TaskPending once that reaches the threshold (the dump's minutes count if
// more).
func (w *worker) applySolo(wall time.Time, gs []sampledG) {
	tt := exptrace.Time(wall.Sub(w.s.start)) + 1
	if clk := w.c.Clock(); clk != nil {
		// A tracing session on the sampler alone: the trace's clock, and
		// a gap since the last event (the converter forgets the trace's
		// goroutines, and writes no run-queue samples for the gap).
		tt = clk.Trace + exptrace.Time(wall.Sub(clk.Wall))
		w.c.Gap(tt)
	}
	cur := make(map[exptrace.GoID]*soloBlock, len(gs))
	for i := range gs {
		g := &gs[i]
		key := g.key()
		b := w.sampler.solo[g.id]
		if b == nil || b.key != key {
			if b != nil && b.reported {
				w.c.Forget(g.id)
			}
			b = &soloBlock{key: key, first: wall}
		}
		cur[g.id] = b
		if b.reported {
			continue
		}
		d := max(wall.Sub(b.first), g.wait)
		ok, err := w.c.SampledBlock(g.id, tt, d, g.reason, g.frames)
		if err != nil {
			w.fail(err)
			return
		}
		if ok {
			b.reported = true
			w.stats.SampledPending++
			w.outDirty = true
		}
	}
	for id, b := range w.sampler.solo {
		if cur[id] == nil && b.reported {
			w.c.Forget(id)
		}
	}
	w.sampler.solo = cur
}
