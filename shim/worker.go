package shim

import (
	"bytes"
	"errors"
	"io"
	"math"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/internal/live"
	"github.com/wakeshim/wakeshim/internal/rotate"
	"github.com/wakeshim/wakeshim/shim/internal/budget"
	"github.com/wakeshim/wakeshim/tracewire"
)

// worker is the session's one goroutine that parses and converts: it owns
// the trace reader, the converter, the CPU account and the files. It waits
// for chunks inside Read (the trace reader asks for more input only between
// generations, when every event before has been converted), and while it
// waits it also takes the goroutine dumps, reports the long blocks and
// flushes the files, so that the converter, which is not safe for
// concurrent use, is only ever used by it.
type worker struct {
	s    *Session
	c    *convert.Converter
	lv   live.Ops // c's live hooks
	out  *rotate.Files
	acct *budget.Account

	tr tracewire.Reader
	// With the decoder, the converter takes most events straight from it
	// as its Sink (event): fill is tr then, q the events left for the
	// worker to see, qerr what ends them.
	fill tracewire.Filler
	q    []tracewire.Event
	qi   int
	qerr error
	// filling: in fill.Fill, whose Read (between generations) may wait
	// for a chunk; evMark is the converter's event count the events
	// taken are counted from (settle).
	filling bool
	evMark  int64

	cur     []byte // unread part of the current chunk
	lastGen uint64 // last generation handed to the reader (0: none yet)
	epoch   int    // the flight recorder lastGen belongs to
	next    *chunk // a chunk that does not follow lastGen: needs a new reader
	closed  bool   // no more chunks
	failed  bool   // the converter failed: chunks are drained, not parsed

	window    exptrace.Time // first event of the current reader
	newWindow bool          // the next event is the first of a new reader

	acks      []chan struct{}
	busySince time.Time
	// flushC ticks every Interval while the worker parses: a long parse
	// (a big window, a slow machine) still flushes, reports the long
	// blocks and takes the dumps on time. polled counts events between
	// looks at it.
	flushC <-chan time.Time
	polled int

	sampleC <-chan time.Time
	samples []sample // dumps waiting for the trace to reach their time
	sampler sampler
	leak    leaker
	// sampleNext is the earliest time of the next dump (budget.NextSample).
	sampleNext time.Time
	// lastSampleCost is what the last dump took (finalSample).
	lastSampleCost time.Duration
	// skipClock is the clock of a generation skipped before the
	// converter had one (clock).
	skipClock *exptrace.ClockSnapshot
	retryAt   time.Time // when to try the files again after a write error
	// writeFailing is set from the report of a write error to that of the
	// retry that succeeded; droppedBefore is files.dropped at the error.
	writeFailing  bool
	droppedBefore int64
	outDirty      bool

	stats Stats
}

func (w *worker) run() {
	s := w.s
	defer close(s.workerDone)
	defer func() {
		if r := recover(); r != nil {
			s.recovered("worker", r)
			func() {
				defer func() { recover() }()
				w.out.Close()
			}()
			w.publish()
			for _, a := range w.acks {
				close(a)
			}
			// Let the snapshot loop finish: it never blocks on us once
			// workerDone is closed.
		}
	}()
	s.registerSelf()
	if s.cfg.Sample > 0 {
		t := time.NewTicker(s.cfg.Sample)
		defer t.Stop()
		w.sampleC = t.C
	}
	w.busySince = time.Now()
	flush := time.NewTicker(s.cfg.Interval)
	defer flush.Stop()
	w.flushC = flush.C
	for {
		if w.tr == nil {
			var ch chunk
			if w.next != nil {
				ch, w.next = *w.next, nil
			} else {
				var ok bool
				if ch, ok = w.waitChunk(); !ok {
					break
				}
				if !w.accept(&ch) {
					continue
				}
			}
			w.startReader(ch)
			continue
		}
		ev, err := w.event()
		if err != nil {
			if err != io.EOF {
				w.stats.ParseErrors++
				s.reportOnce("parse", "trace reader: %v (the generation is skipped)", err)
				w.cur = nil
			}
			w.tr = nil
			continue
		}
		if w.failed {
			continue
		}
		t := ev.Time
		if w.newWindow {
			w.newWindow = false
			if len(w.samples) > 0 {
				clk := ev.Clock // (the first event is the Sync that has it)
				if clk == nil {
					clk = w.clock()
				}
				w.applyAlone(t, clk)
			}
			w.s.tracker.Gap()
			w.lv.Gap(t)
			w.window = t
		}
		if len(w.samples) > 0 {
			w.applySamples(t)
		}
		if err := w.lv.Consume(ev); err != nil {
			w.fail(err)
			continue
		}
		w.outDirty = true
		if w.out.Full() {
			if err := w.c.Rotate(); err != nil {
				w.fail(err)
			}
		}
		if w.polled++; w.polled >= pollEvents {
			w.polled = 0
			w.poll()
		}
	}
	// The end: no more chunks.
	w.finalSample(time.Now())
	w.idle()
	w.takeLeak(time.Now(), true)
	if !w.failed {
		if err := w.c.Close(); err != nil && !errors.Is(err, convert.ErrClosed) {
			w.fail(err)
		}
	}
	if err := w.out.Close(); err != nil && w.stats.WriteError == nil {
		w.stats.WriteError = err
	}
	w.publish()
	for _, a := range w.acks {
		close(a)
	}
	w.acks = nil
}

func (w *worker) fail(err error) {
	if !w.failed {
		w.failed = true
		w.s.reportOnce("convert", "conversion stopped: %v", err)
		w.s.statsMu.Lock()
		w.s.err = err
		w.s.statsMu.Unlock()
	}
}

// startReader starts a new trace reader on ch.
func (w *worker) startReader(ch chunk) {
	w.noteGens(ch)
	w.cur = ch.data
	w.lastGen = ch.last
	in := io.MultiReader(bytes.NewReader(ch.hdr[:]), w)
	tr, fellBack, err := tracewire.NewReader(in, w.s.cfg.Parser == "exp")
	if fellBack {
		w.stats.ParserFallbacks++
	}
	if err != nil {
		w.stats.ParseErrors++
		w.s.reportOnce("parse", "trace reader: %v", err)
		w.cur = nil
		return
	}
	w.tr = tr
	w.fill, _ = tr.(tracewire.Filler)
	w.q, w.qi, w.qerr = w.q[:0], 0, nil
	w.newWindow = true
}

// event returns the next event of the reader for the worker to see. With
// the decoder, the events its fast lane decodes (nearly all of them) go
// straight to the converter, as its Sink, and are counted here: up to
// the time of the next goroutine dump due, so that the dump is applied
// before the first event after it, as applySamples does; never the first
// event of a reader (a Gap comes before it), nor once the worker failed.
func (w *worker) event() (*tracewire.Event, error) {
	if w.fill == nil {
		return w.tr.Next()
	}
	for w.qi == len(w.q) {
		if err := w.qerr; err != nil {
			w.qerr = nil
			return nil, err
		}
		var sink tracewire.Sink
		if !w.newWindow && !w.failed {
			sink = w.c
			w.lv.SetTakeLimit(w.takeLimit())
		}
		w.fill.SetSink(sink)
		w.evMark = w.lv.Events()
		w.filling = true
		w.q, w.qerr = w.fill.Fill(w.q[:0], 1)
		w.filling = false
		w.qi = 0
		w.settle()
	}
	ev := &w.q[w.qi]
	w.qi++
	return ev, nil
}

// takeLimit is the latest time the converter may take events to: the
// time of the next dump due, if the trace's clock places it.
func (w *worker) takeLimit() exptrace.Time {
	clk := w.c.Clock()
	if len(w.samples) == 0 || clk == nil {
		return math.MaxInt64 // (applySamples waits for a clock too)
	}
	return w.rawTraceTime(w.samples[0].wall, clk)
}

// settle does for the events the converter took since evMark what the
// parse loop does after each event it converts, and fails the worker if
// the converter failed taking them (Take cannot return its error). Read
// calls it too, before it waits for a chunk: what was taken is then on
// its way to the files, flushed while the worker waits.
func (w *worker) settle() {
	if n := w.lv.Events() - w.evMark; n > 0 {
		w.evMark += n
		w.taken(int(n))
	}
	if err := w.c.Err(); err != nil {
		w.fail(err)
	}
}

// taken does for n events the converter took what the parse loop does
// after each event it converts.
func (w *worker) taken(n int) {
	w.outDirty = true
	if w.out.Full() {
		if err := w.c.Rotate(); err != nil {
			w.fail(err)
		}
	}
	if w.polled += n; w.polled >= pollEvents {
		w.polled = 0
		w.poll()
	}
}

// noteGens counts the generations of ch, taken for conversion. (What is
// lost is counted where it is lost: the snapshot loop counts generations
// evicted from the ring or dropped from a full queue, accept those skipped
// for the budget.)
func (w *worker) noteGens(ch chunk) {
	if ch.epoch != w.epoch {
		// A new flight recorder: the time between is the tracer's pause.
		w.epoch, w.lastGen = ch.epoch, 0
	}
	w.stats.Gens += int64(ch.last - ch.first + 1)
	w.stats.TraceBytes += int64(len(ch.data))
}

// Read feeds the trace reader: the rest of the current chunk, then the next
// one if it follows. A chunk that does not follow (generations were lost)
// or that the budget skips ends the reader (io.EOF); the run loop starts a
// new one.
func (w *worker) Read(p []byte) (int, error) {
	if w.filling {
		w.settle()
	}
	for len(w.cur) == 0 {
		if w.next != nil || w.closed {
			return 0, io.EOF
		}
		ch, ok := w.waitChunk()
		if !ok {
			return 0, io.EOF
		}
		if !w.accept(&ch) {
			return 0, io.EOF
		}
		if ch.epoch != w.epoch || ch.first != w.lastGen+1 {
			w.next = &ch
			return 0, io.EOF
		}
		w.noteGens(ch)
		w.cur = ch.data
		w.lastGen = ch.last
	}
	n := copy(p, w.cur)
	w.cur = w.cur[n:]
	return n, nil
}

// pollEvents is how many events the worker converts between looks at its
// tickers while it parses.
const pollEvents = 4096

// poll does, in the middle of a parse, what the worker does when it waits:
// takes the dump that is due (it waits for the trace to reach its time,
// like any dump taken while the tracer runs), settles the budget (asking
// the tracer to pause if it is spent), reports the long blocks and flushes
// the files.
func (w *worker) poll() {
	select {
	case now := <-w.sampleC:
		w.takeSample(now, false)
	case <-w.flushC:
		w.housekeep(time.Now())
		if w.s.inDebt.Load() {
			w.pauseTracer()
		}
	default:
	}
}

// retryWrite is how long the worker waits to try a new file after a write
// error.
const retryWrite = 5 * time.Second

// accept decides whether to parse ch, within the CPU budget (Flush and
// Stop want theirs converted). When the budget is spent it asks the
// snapshot loop to pause the tracer.
func (w *worker) accept(ch *chunk) bool {
	if w.failed {
		w.stats.GensFailed += int64(ch.last - ch.first + 1)
		return false
	}
	now := time.Now()
	if !w.acct.Accept(now, int64(len(ch.data)), ch.ack != nil) {
		if w.skipClock == nil && w.c.Clock() == nil {
			w.skipClock = tracewire.ClockOf(ch.data)
		}
		w.pauseTracer()
		w.stats.GensSkipped += int64(ch.last - ch.first + 1)
		return false
	}
	if w.acct.InDebt(now) {
		w.pauseTracer()
	}
	return true
}

// pauseTracer marks the budget spent and asks the snapshot loop to stop
// the tracer now: what it would record until the next snapshot would be
// skipped anyway.
func (w *worker) pauseTracer() {
	w.s.inDebt.Store(true)
	select {
	case w.s.pauseNow <- struct{}{}:
	default:
	}
}

// waitChunk returns the next chunk with data, or false when there are no
// more. While it waits, it takes samples, flushes and acknowledges. A chunk
// already queued is taken before a dump: a dump applied alone (the tracer
// paused) must come after every trace event before it.
func (w *worker) waitChunk() (chunk, bool) {
	w.idle()
	defer func() { w.busySince = time.Now() }()
	if w.closed {
		return chunk{}, false
	}
	for {
		var (
			ch  chunk
			ok  bool
			got bool
		)
		select {
		case ch, ok = <-w.s.chunks:
			got = true
		default:
			select {
			case ch, ok = <-w.s.chunks:
				got = true
			case now := <-w.sampleC:
				w.takeSample(now, true)
				w.busySince = time.Now()
				w.idle()
			case <-w.flushC:
				w.busySince = time.Now()
				w.idle()
			}
		}
		if !got {
			continue
		}
		if !ok {
			w.closed = true
			return chunk{}, false
		}
		if ch.ack != nil {
			w.acks = append(w.acks, ch.ack)
		}
		if len(ch.data) == 0 {
			w.busySince = time.Now()
			w.idle()
			continue
		}
		return ch, true
	}
}

// idle is called whenever the worker is about to wait: everything handed
// to the converter so far has been converted. It does the housekeeping and
// closes the pending Flush acknowledgements.
func (w *worker) idle() {
	w.housekeep(time.Now())
	for _, a := range w.acks {
		close(a)
	}
	w.acks = w.acks[:0]
}

// housekeep settles the busy time with the budget, reports the long blocks
// again (their age on disk while they last), retries the files after a
// write error, flushes them and publishes the stats.
func (w *worker) housekeep(now time.Time) {
	if !w.busySince.IsZero() {
		d := now.Sub(w.busySince)
		w.stats.ParseTime += d
		w.acct.Busy(now, d)
		w.busySince = now
	}
	if c := w.s.shipCost.Swap(0); c > 0 {
		w.acct.Charge(time.Duration(c)) // (the shipper's loads: ship.go)
	}
	w.s.inDebt.Store(w.acct.InDebt(now))
	if sh := w.s.ship; sh != nil && !w.s.inDebt.Load() {
		sh.budgetSettled()
	}
	if !w.failed {
		n, err := w.lv.Refresh(w.refreshAge(), w.s.cfg.Interval)
		if err != nil {
			w.fail(err)
		}
		if n > 0 {
			w.stats.Refreshed += int64(n)
			w.outDirty = true
		}
	}
	if w.out.Failed() != nil && !w.failed {
		// The files failed (a full disk): try a new file every 5s.
		if !w.writeFailing {
			w.writeFailing = true
			w.droppedBefore = w.out.Dropped()
			w.s.report("writing the records failed: %v; records are dropped until a new file can be written (retrying every 5s)", w.out.Failed())
		}
		if w.retryAt.IsZero() {
			w.retryAt = now.Add(retryWrite)
		} else if now.After(w.retryAt) {
			w.retryAt = time.Time{}
			if err := w.c.Rotate(); err != nil {
				w.fail(err)
			}
		}
	}
	if w.writeFailing && w.out.Failed() == nil && w.out.Open() {
		w.writeFailing = false
		w.s.report("writing the records again, to %s: %d records were dropped", w.out.CurrentName(), w.out.Dropped()-w.droppedBefore)
	}
	w.takeLeak(now, false)
	if w.outDirty || len(w.acks) > 0 {
		w.out.Flush()
		w.outDirty = false
	}
	w.publish()
}

// refreshAge is the age from which a block still in progress is reported
// (and again as it grows): the sampler's interval, the age from which a
// stuck goroutine's age is to be on disk.
func (w *worker) refreshAge() time.Duration {
	if w.s.cfg.Sample > 0 {
		return w.s.cfg.Sample
	}
	return DefaultSample
}

// publish copies the worker's counts to the session.
func (w *worker) publish() {
	s := w.s
	st := w.stats
	st.Tracing = s.tracing
	st.GensEvicted = s.evicted.Load()
	st.GensDropped = s.queueDrops.Load()
	st.GensLost = st.GensEvicted + st.GensDropped + st.GensSkipped + st.GensFailed
	st.TracerCostEst = w.acct.TracerCost
	st.Convert = w.c.Stats()
	s.tracker.Publish()
	st.BytesWritten = w.out.BytesWritten()
	st.Files = len(w.out.Names())
	st.FilesRemoved = w.out.Removed()
	st.RecordsDropped = w.out.Dropped()
	if st.WriteError == nil {
		st.WriteError = w.out.Failed()
	}
	s.statsMu.Lock()
	s.stats = st
	s.statsMu.Unlock()
}
