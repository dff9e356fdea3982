package shim

import (
	"math"
	"runtime"
	"strings"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/dump"
	"github.com/wakeshim/wakeshim/internal/live"
)

// maxDump bounds the buffer of a goroutine dump (a larger dump is read as
// far as it goes).
const maxDump = 64 << 20

// maxPendingSamples bounds the dumps waiting for the trace to catch up.
const maxPendingSamples = 4

// sample is one goroutine dump: every goroutine it showed but the shim's
// and the tracer's.
type sample struct {
	wall time.Time // just before the dump (which stops the world)
	gs   []live.Sampled
}

// sampler takes the goroutine dumps (runtime.Stack of all goroutines, the
// debug=2 form of /debug/pprof/goroutine). They find the goroutines the
// trace cannot see: those blocked since before it began, and all of them
// while the tracer is paused; and they name every goroutine's origin.
type sampler struct {
	buf  []byte
	last []byte // the last dump's text, kept for Config.Dumps
}

// take dumps every goroutine (runtime.Stack, which stops the world) and
// returns them all but the shim's and the tracer's.
func (sm *sampler) take(s *Session) []live.Sampled {
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
	return sampled(s, d)
}

// sampled turns a parsed dump into the converter's input, leaving out the
// shim's own goroutines and the tracer's.
func sampled(s *Session, d *dump.Dump) []live.Sampled {
	return live.FromDump(d, func(id convert.GoID, outer string) bool {
		return s.isOwn(id) || strings.HasPrefix(outer, shimPkg)
	})
}

// takeSample takes a dump. With the trace running, it waits until the
// trace reaches its time; without (no recorder at Start, none to be had
// again after a pause, or the tracer paused for the budget), it is applied
// at once, alone: so a goroutine stuck through the pauses of a busy program
// keeps its age on disk. idle says the worker has converted everything it
// was given (a dump taken in the middle of a parse always waits for the
// trace). Its cost is charged to the budget like any dump's, and an
// expensive one backs off.
func (w *worker) takeSample(_ time.Time, idle bool) {
	solo := idle && (!w.s.tracing || w.s.samplerOnly.Load() || w.s.inDebt.Load())
	if now := time.Now(); now.Before(w.sampleNext) {
		return // backing off after an expensive dump
	}
	t0 := time.Now()
	gs := w.sampler.take(w.s)
	if w.sampler.last != nil {
		if err := w.out.WriteDump(w.sampler.last); err != nil {
			w.out.Fail(err)
		}
		w.sampler.last = nil
	}
	cost := time.Since(t0)
	w.lastSampleCost = cost
	w.stats.Samples++
	w.stats.SampleTime += cost
	w.acct.Charge(cost)
	w.sampleNext = w.acct.NextSample(t0, cost)
	if w.failed {
		return
	}
	if solo && w.clock() == nil && w.s.tracing && !w.s.samplerOnly.Load() {
		// No trace's clock yet, but a tracer whose first generation
		// will bring one (converted or skipped): the dump waits for it,
		// or its time would be on the session's clock, and a block it
		// starts would be carried into the trace on the wrong one.
		solo = false
	}
	if solo {
		w.applyAlone(math.MaxInt64, w.clock()) // no trace comes for the dumps waiting for one
		w.apply(w.traceTime(t0), gs, true)
		return
	}
	if len(w.samples) == maxPendingSamples {
		w.samples = append(w.samples[:0], w.samples[1:]...)
	}
	w.samples = append(w.samples, sample{wall: t0, gs: gs})
}

// clock is the latest clock snapshot of the trace the worker has: the
// converter's, or, before it converted any, that of a generation skipped
// for the budget (tracewire.ClockOf): a dump taken then is placed on the
// clock of the trace that comes later, not on the session's.
func (w *worker) clock() *exptrace.ClockSnapshot {
	if clk := w.c.Clock(); clk != nil {
		return clk
	}
	return w.skipClock
}

// traceTime maps wall time onto the trace's clock, by the trace's last
// clock snapshot, or onto the session's own clock when there has been no
// trace (never earlier than the converter's last time).
func (w *worker) traceTime(wall time.Time) exptrace.Time {
	return max(w.rawTraceTime(wall, w.clock()), w.lv.LastTime())
}

// rawTraceTime places wall on the trace's clock by clk, or on the
// session's without one.
func (w *worker) rawTraceTime(wall time.Time, clk *exptrace.ClockSnapshot) exptrace.Time {
	if clk != nil {
		return clk.Trace + exptrace.Time(wall.Sub(clk.Wall))
	}
	return exptrace.Time(wall.Sub(w.s.start)) + 1
}

// applySamples applies the dumps taken before trace time t, the time of
// the next event: the converter's state is then the trace's at the time of
// the dump. A dump taken before the current reader's window (in a gap of
// the trace: applyAlone takes those first) or that the clocks put before
// the last event is dropped.
func (w *worker) applySamples(t exptrace.Time) {
	clk := w.c.Clock()
	if clk == nil {
		return
	}
	for len(w.samples) > 0 {
		sm := &w.samples[0]
		tt := w.rawTraceTime(sm.wall, clk)
		if tt >= t {
			return
		}
		gs := sm.gs
		w.samples = w.samples[1:]
		if tt < w.window || tt < w.lv.LastTime() {
			continue
		}
		w.apply(tt, gs, false)
	}
}

// finalSample brings the ages of the blocks up to the end of the session
// when what the converter last saw is stale: with the tracer paused for
// the budget (or no tracer) at Stop, the last evidence is the last dump,
// which the back-off after an expensive one can put long before the end,
// and a goroutine stuck since would end the files younger than it is.
// The dumps still waiting for a trace that will not come are applied
// first; then one more is taken, alone, unless the last one cost more
// than a twentieth of the time Stop may take. (With the tracer running
// to the end, its last snapshot is the evidence, and no dump is taken.)
func (w *worker) finalSample(now time.Time) {
	if w.failed || w.s.cfg.Sample <= 0 {
		return
	}
	w.applyAlone(math.MaxInt64, w.clock())
	stale := max(w.s.cfg.Sample, w.s.cfg.Interval)
	if w.lv.LastTime() != 0 && time.Duration(w.traceTime(now)-w.lv.LastTime()) < stale {
		return
	}
	if w.lastSampleCost > w.s.stopTimeout()/20 {
		return
	}
	w.sampleNext = time.Time{}
	w.takeSample(now, true)
	// With no trace's clock yet, takeSample queued the dump for one;
	// none comes now: it is applied, with those before it, on the clock
	// there is (the session's, with no trace ever).
	w.applyAlone(math.MaxInt64, w.clock())
}

// applyAlone applies, alone (no trace covers them), the dumps waiting for
// the trace to reach their time that it will not reach: those before t,
// the first event of a new reader (they fell into the gap before it), or
// every one (t = MaxInt64) when the tracer is paused or the session ends.
// They are evidence still: a goroutine a dump saw blocked before the gap
// and the new reader restates blocked at the same place has been blocked
// since the dump, not since the window. clk places them on the trace's
// clock (the new reader's first, when it has one); with none, only the
// end applies them, on the session's clock like any dump before a trace.
// One the clocks put before the last event is dropped, as in
// applySamples.
func (w *worker) applyAlone(t exptrace.Time, clk *exptrace.ClockSnapshot) {
	if clk == nil && t != math.MaxInt64 {
		return // (applySamples drops them once the clock comes)
	}
	n := 0
	for ; n < len(w.samples); n++ {
		sm := &w.samples[n]
		tt := w.rawTraceTime(sm.wall, clk)
		if tt >= t {
			break
		}
		if tt >= w.lv.LastTime() {
			w.apply(tt, sm.gs, true)
		}
	}
	w.samples = append(w.samples[:0], w.samples[n:]...)
}

func (w *worker) apply(at exptrace.Time, gs []live.Sampled, solo bool) {
	if err := w.lv.ApplyDump(at, gs, solo); err != nil {
		w.fail(err)
		return
	}
	w.outDirty = true
}
