// Package convert turns Go execution-trace events into v9 records
// (package format): the converter stage, between the trace decoder
// (package tracewire, or golang.org/x/exp/trace's reader) and the records
// (package records).
//
// It is one streaming pipeline shared by the offline converter (`wakeshim
// convert`), `wakeshim report` and the in-process shim: feed a Converter
// events in trace order with Event and end with Close, or hand a whole
// trace to Convert. Its memory grows with the number of live goroutines and
// of distinct interned strings (spawn locations, frames), never with the
// length of the trace: per-goroutine state lives in a slice indexed through
// a map and is recycled when a goroutine exits, and block stacks are
// resolved to strings at each generation boundary so that no parsed
// generation is kept alive by a goroutine that stays blocked.
//
// A live consumer of the trace (the shim, wakeshim attach) needs more than
// this API: carrying blocks across the tracer's pauses, applying goroutine
// dumps, re-reporting long blocks (live.go). Those hooks are unexported and
// reached through package internal/live (Config.Live), so they stay out of
// the public API.
//
// docs/mapping.md describes the mapping from runtime events to records and
// its limits; the comments here say how, that document says why.
package convert

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unsafe"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/idtab"
	"github.com/wakeshim/wakeshim/internal/live"
	"github.com/wakeshim/wakeshim/internal/waitreason"
	"github.com/wakeshim/wakeshim/tracewire"
)

// Stack is a stack of the trace, as Config.Ignore is given it: its Frames
// yield "function, file, line" innermost first.
type Stack = tracewire.Stack

// NoStack is the absence of a stack.
var NoStack = tracewire.NoStack

// Config controls a Converter. Its zero value means the documented defaults.
type Config struct {
	// Threshold is the shortest block reported as a TaskPending record.
	// Zero means 1ms. Negative is an error.
	Threshold time.Duration

	// SampleInterval is the interval of trace time between QueueSample
	// records. Zero means 10ms; negative disables QueueSample records.
	SampleInterval time.Duration

	// SegmentDuration is the longest span of trace time one output segment
	// covers before the converter starts a new one. Zero means the most the
	// format's u32 microsecond clock holds (MaxSegmentDuration, about 71.6
	// minutes); a larger value is an error.
	SegmentDuration time.Duration

	// Ignore, if set, is asked when the converter first sees a goroutine
	// whether the goroutine's records are to be left out (the shim's and
	// the runtime's own goroutines). stack is the goroutine's start stack
	// when the trace saw it created, otherwise the first stack the trace
	// gave for it; if that was empty, Ignore is asked again when the trace
	// first gives one. An ignored goroutine produces
	// no records of its own, and a wake it makes is reported with waker 0.
	Ignore func(id GoID, stack Stack) bool

	// Parser selects the trace parser of Convert: ParserFast (the
	// default) is the converter's own decoder of the trace format
	// (tracewire), ParserExp golang.org/x/exp/trace's Reader,
	// the reference. A trace in a format version the fast decoder does
	// not read is parsed by x/exp whatever this says (Stats.Fallbacks
	// counts it). Another value is an error.
	Parser Parser

	// Concurrent makes Convert decode the trace in a goroutine of its
	// own with the fast decoder, handing events to the converting one in
	// batches: less wall time where a core is spare (about 0.75x on the
	// busy trace of make bench), more CPU time (about 1.15x, and 1.6x
	// when no core is spare). The default decodes and converts in the
	// calling goroutine, which costs the least CPU. (x/exp's parser
	// always runs in a goroutine of its own.) wakeshim report sets it:
	// its analysis runs beside the conversion, and the three stages share
	// two cores best.
	Concurrent bool

	// Live, if set, is filled in by New with the Converter's hooks for a
	// live consumer of the trace (package internal/live: the shim and
	// wakeshim attach). Outside this module it can only be nil.
	Live *live.Ops
}

// Parser names a trace parser (Config.Parser).
type Parser string

const (
	ParserFast Parser = "fast"
	ParserExp  Parser = "exp"
)

// maxCatchUp is the most QueueSamples written for one gap between events.
const maxCatchUp = 1000

// MaxSegmentDuration is the longest trace time one v9 file can span.
const MaxSegmentDuration = time.Duration(format.MaxTimestampUS) * time.Microsecond

// Defaults of Config.
const (
	DefaultThreshold      = time.Millisecond
	DefaultSampleInterval = 10 * time.Millisecond
)

func (c Config) withDefaults() (Config, error) {
	switch c.Parser {
	case "":
		c.Parser = ParserFast
	case ParserFast, ParserExp:
	default:
		return c, fmt.Errorf("convert: unknown Parser %q (want %q or %q)", c.Parser, ParserFast, ParserExp)
	}
	if c.Threshold < 0 {
		return c, fmt.Errorf("convert: negative Threshold %v", c.Threshold)
	}
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.SampleInterval == 0 {
		c.SampleInterval = DefaultSampleInterval
	}
	if c.SegmentDuration < 0 || c.SegmentDuration > MaxSegmentDuration {
		return c, fmt.Errorf("convert: SegmentDuration %v outside (0, %v]", c.SegmentDuration, MaxSegmentDuration)
	}
	if c.SegmentDuration == 0 {
		c.SegmentDuration = MaxSegmentDuration
	}
	return c, nil
}

// Output receives the records of a conversion. The record WriteRecord is
// given is the converter's, reused for the next records: an Output must
// not modify it, nor keep it (or its Frames) past the call; it copies what
// it keeps.
type Output interface {
	format.RecordWriter
	// NextSegment ends the current segment and starts a new, self-contained
	// one (a new file, with its own header). The converter calls it when
	// the segment's clock or an id table would overflow, and when asked to
	// by Rotate; it then repeats the definitions the new segment needs.
	NextSegment() error
}

// BinaryOutput is an Output all of whose records go to one format.Writer
// and nowhere else, in the current segment: the converter then writes the
// records it makes by the million (format.Hot) to that Writer directly.
// Otherwise an Output that is a format.HotWriter is given them as
// format.Hot values; any other, as Records.
type BinaryOutput interface {
	Output
	// BinaryWriter returns the Writer of the current segment; nil if
	// there is none such. The converter asks again after each
	// NextSegment. Should a write to it fail, the converter writes the
	// record with WriteRecord, for the Output to report the error (the
	// Writer's errors stick) in its own terms.
	BinaryWriter() *format.Writer
}

// PauseOutput is an Output that takes the traced program's
// stop-the-world pauses (format.Pause), which the v9 records have no
// code for: WritePause is called when a pause ends, after the records
// before its end. The Pause is the converter's, reused: copy what you
// keep. An Output that is not a PauseOutput is given none.
type PauseOutput interface {
	WritePause(p *format.Pause) error
}

// EndOutput is an Output that takes the ends of goroutines (the
// trace's GoDestroy: a goroutine that exited), which the v9 records
// have no code for: WriteEnd is called after the records before the
// end, with the goroutine's task_id and the end's ts_us. No record
// names the goroutine after its end (goroutine ids are not reused), so
// a consumer can let go of what it holds for it (the report's analysis
// does: analyze.Analyzer.End). An Output that is not an EndOutput is
// given none.
type EndOutput interface {
	WriteEnd(task, ts uint32) error
}

// Stats counts what a conversion produced.
type Stats struct {
	Events   int64                  // trace events consumed
	Records  [format.NumCodes]int64 // records written, by code
	Segments int                    // output segments started (at least 1 once a record is written)
	// Goroutines is the number of goroutines tracked at the moment.
	Goroutines int
	// Parser is the parser Convert used (Config.Parser, or ParserExp
	// for a fallback); Fallbacks counts the inputs the fast decoder left
	// to x/exp because it does not read their format version.
	Parser    Parser
	Fallbacks int
	// Pauses counts the stop-the-world pauses written (PauseOutput).
	Pauses int64
}

// Wakes returns the number of WakeEvent records written.
func (s *Stats) Wakes() int64 { return s.Records[format.CodeWakeEvent] }

// Pending returns the number of TaskPending records written.
func (s *Stats) Pending() int64 { return s.Records[format.CodeTaskPending] }

// TotalRecords returns the number of records written.
func (s *Stats) TotalRecords() int64 {
	var n int64
	for _, v := range s.Records {
		n += v
	}
	return n
}

// goroutine is the converter's state for one live goroutine.
type goroutine struct {
	id      exptrace.GoID
	state   exptrace.GoState
	ignored bool
	// askAgain: Ignore was asked without a stack; ask again with one.
	askAgain bool

	// Origin: the function the goroutine runs and the go statement that
	// created it, and the spawn location made of them (origin.go).
	entry string // "" when unknown
	// entryFinal: a stack decided the entry (origin.go).
	entryFinal bool
	// plainEntry: entry, known and not a wrapper's, is one that no stack
	// refines (noteStack found so; cleared when entry changes).
	plainEntry bool
	creator    string // "FUNC FILE:LINE", "" when unknown
	loc        string // spawn location, "" when unknown
	locSeg     int    // segment in which locID was defined (0: none)
	locID      uint16
	spawnSeg   int // segment in which its TaskSpawn was written (0: none)

	// The current block, when inBlock (state GoWaiting or GoSyscall).
	inBlock bool
	// exact: the trace saw the block begin; otherwise blockStart is the
	// earliest evidence of it, a lower bound of its start.
	exact       bool
	blockStart  exptrace.Time
	blockReason string // as the source gave it ("" for a restated block)
	blockStack  Stack  // until resolved into blockFrames at a generation boundary
	blockFrames []string
	// carried: the block was in progress at a Gap and the new trace
	// reader has not yet said whether it still is; seen is the latest
	// time it was known to be (for a block the trace watches, the last
	// event's time).
	carried bool
	seen    exptrace.Time
	// nextReport is the age at which the block is reported again while
	// it lasts (Refresh); reported the duration last written.
	nextReport time.Duration
	reported   time.Duration
}

// index returns the index in gs of goroutine id.
func (c *Converter) index(id exptrace.GoID) (int32, bool) { return c.gidx.Get(uint64(id)) }

// proc is the converter's state for one P.
type proc struct {
	running bool
	since   exptrace.Time // when it last started running
	busy    time.Duration // running time in this segment
}

// Converter is one streaming conversion. It is not safe for concurrent use.
type Converter struct {
	cfg Config
	out Output
	hw  format.HotWriter // format.HotOf(out)
	bin *format.Writer   // out's BinaryWriter, if it is a BinaryOutput
	// pauses is out, if it is a PauseOutput; stwOn, stwStart and
	// stwReason the stop-the-world under way (the runtime has at most
	// one), pause the one being written.
	pauses    PauseOutput
	stwOn     bool
	stwStart  exptrace.Time
	stwReason string
	pause     format.Pause
	// ends is out, if it is an EndOutput.
	ends EndOutput

	// gidx maps goroutine ids to indexes in gs: a lookup every event
	// makes, in pages by id (a map's hashing cost more than the rest of
	// the bookkeeping).
	gidx idtab.Table[int32]
	gs   []goroutine
	free []int32

	procs    []proc
	runnable int // goroutines in GoRunnable, not ignored

	started  bool
	genStart exptrace.Time // time of the latest generation's Sync
	window   exptrace.Time // first event of the current trace reader
	// sweepAt counts generation starts since a Gap: at the second, every
	// live goroutine has been restated, and a carried block the new
	// reader never mentioned belongs to a goroutine that exited.
	sweepAt int
	// origins holds the origins that goroutine dumps gave for goroutines
	// the converter did not know yet, for their first sight.
	origins    map[exptrace.GoID]origin
	seg        int // current segment number, from 1
	segBase    exptrace.Time
	last       exptrace.Time
	nextSample exptrace.Time
	// horizon is the latest time the clock can move to with nothing due
	// (no QueueSample, no new segment): advance's shortcut. Below any
	// time until the first event; a value too early only costs the
	// shortcut (live.go moves nextSample later).
	horizon exptrace.Time
	// takeLimit: Take refuses events after it (SetTakeLimit).
	takeLimit exptrace.Time
	// takeFull, if set, makes Take refuse events while it reports true
	// (SetTakeFull: the shim's files at their size limit).
	takeFull func() bool
	// inSink reports whether the decoder runInline reads is in Take.
	inSink func() bool
	locs   format.Table
	frames format.Table

	frameStr map[uint64]string // PC -> "func file:line"
	stackIDs map[Stack][]string
	// stackHot caches stackIDs, direct-mapped by the stack's id: the
	// map's hashing of its 32-byte key was 4% of converting Go's net/http
	// tests' trace. Cleared with stackIDs.
	stackHot [1 << stackHotBits]stackHit
	clock    *exptrace.ClockSnapshot
	// pendIDs caches the frame ids of a TaskPending (its reason and
	// frames, interned) by the frames' slice and the block's reason, for
	// the segment pendSeg: a goroutine that blocks on the same stack again
	// and again (a ticker's, a server's accept loop) is not interned frame
	// by frame at every wake (a third of converting the corpus's idle
	// trace went to those map lookups). The slices are stackIDs' or a
	// goroutine's blockFrames; a key holds its slice, so no other slice
	// can take its address while it is cached. Cleared with stackIDs at
	// each generation, and when the segment changes.
	pendIDs map[pendKey][]uint16
	pendSeg int
	// pendHits caches pendIDs by the block's stack and reason, direct-
	// mapped, valid in the segment it names, cleared with the
	// generation's stacks: a goroutine that blocks at the same place
	// again and again (a server's loops, timers) otherwise pays for the
	// stack's frames and pendIDs' hashing of them at every block (a
	// quarter of converting the corpus's idle trace).
	pendHits [1 << pendHitBits]pendHit
	locStr   map[[2]string]string // spawn locations by entry and creator
	// sites caches the creator, entry and location of goroutines made
	// by a go statement, by the creation's two stacks, direct-mapped;
	// cleared with the generation's stacks. A trace that makes goroutines
	// by the million spent an eighth of its conversion finding the
	// frames and location of each.
	sites [256]spawnSite

	rec    format.Record
	hotRec format.Record // binError's
	// hots batches the Hot records (flushHots), when runInline has made
	// room for them.
	hots   []format.Hot
	ids    []uint16
	ev     tracewire.Event // Event's conversion of an x/exp event
	err    error
	stats  Stats
	closed bool
}

// New returns a Converter writing to out.
func New(cfg Config, out Output) (*Converter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, errors.New("convert: nil Output")
	}
	c := &Converter{
		cfg:       cfg,
		out:       out,
		hw:        format.HotOf(out),
		bin:       binaryWriter(out),
		horizon:   math.MinInt64,
		takeLimit: math.MaxInt64,
		frameStr:  make(map[uint64]string),
		stackIDs:  make(map[Stack][]string),
		pendIDs:   make(map[pendKey][]uint16),
	}
	c.pauses, _ = out.(PauseOutput)
	c.ends, _ = out.(EndOutput)
	if l := cfg.Live; l != nil {
		*l = live.Ops{Consume: c.consume, SetTakeLimit: c.setTakeLimit, SetTakeFull: c.setTakeFull, Events: c.events, LastTime: c.lastTime,
			Gap: c.gap, ApplyDump: c.applyDump, Refresh: c.refresh}
	}
	return c, nil
}

// binaryWriter returns out's BinaryWriter, if it is a BinaryOutput.
func binaryWriter(out Output) *format.Writer {
	if b, ok := out.(BinaryOutput); ok {
		return b.BinaryWriter()
	}
	return nil
}

// Stats returns the counts so far.
func (c *Converter) Stats() Stats {
	s := c.stats
	s.Goroutines = c.gidx.Len()
	return s
}

// Clock returns the most recent clock snapshot of the trace (Go 1.25+), by
// which trace time maps to wall time, or nil.
func (c *Converter) Clock() *exptrace.ClockSnapshot { return c.clock }

// ErrClosed is returned by a Converter used after Close.
var ErrClosed = errors.New("convert: converter closed")

// Event consumes one trace event of x/exp's parser. Events must come in
// the order the trace reader returns them. An error from the Output is
// sticky.
func (c *Converter) Event(ev *exptrace.Event) error {
	tracewire.FromExpEvent(ev, &c.ev)
	return c.consume(&c.ev)
}

// consume consumes one trace event as the converter reads it, from
// either parser, in trace order.
func (c *Converter) consume(e *tracewire.Event) error {
	if c.err != nil {
		return c.err
	}
	if c.closed {
		return ErrClosed
	}
	c.stats.Events++
	if err := c.advance(e.Time); err != nil {
		return c.fail(err)
	}
	var err error
	switch e.Kind {
	case tracewire.KindSync:
		err = c.generation(e)
	case tracewire.KindGo:
		err = c.goTransition(e)
	case tracewire.KindProc:
		err = c.procTransition(e)
	case tracewire.KindSTW:
		err = c.stw(e)
	}
	if err != nil {
		return c.fail(err)
	}
	return nil
}

// stw notes a stop-the-world's begin and, at its end, writes the pause
// to a PauseOutput (after the records before it, so that the order
// holds). An end without its begin (a trace started inside the pause)
// is left out: its length is not known.
func (c *Converter) stw(e *tracewire.Event) error {
	if e.To == 1 {
		c.stwOn, c.stwStart, c.stwReason = true, e.Time, e.Reason
		return nil
	}
	if !c.stwOn {
		return nil
	}
	c.stwOn = false
	if c.pauses == nil || !c.started {
		return nil
	}
	if err := c.flushHots(); err != nil {
		return err
	}
	c.pause = format.Pause{TS: c.ts(c.stwStart), Duration: uint32(min(int64(e.Time-c.stwStart)/1e3, math.MaxUint32)), Reason: c.stwReason}
	if err := c.pauses.WritePause(&c.pause); err != nil {
		return err
	}
	c.stats.Pauses++
	return nil
}

func (c *Converter) fail(err error) error {
	c.err = err
	return err
}

// advance moves the converter's clock to t: it starts the first segment,
// a new one when t would not fit the current one, and writes the
// QueueSamples due before t.
func (c *Converter) advance(t exptrace.Time) error {
	if c.last <= t && t <= c.horizon {
		c.last = t // nothing due: most events
		return nil
	}
	err := c.advanceSlow(t)
	c.setHorizon()
	return err
}

// setHorizon sets the latest time advance can move to without a
// QueueSample due or a new segment.
func (c *Converter) setHorizon() {
	if !c.started {
		c.horizon = math.MinInt64
		return
	}
	h := c.segBase + exptrace.Time(c.cfg.SegmentDuration)
	if c.cfg.SampleInterval > 0 {
		h = min(h, c.nextSample)
	}
	c.horizon = h
}

func (c *Converter) advanceSlow(t exptrace.Time) error {
	if !c.started {
		c.started = true
		c.last = t
		c.nextSample = t
		c.window = t
		c.genStart = t
		return c.startSegment(t, false)
	}
	if t < c.last {
		t = c.last // the reader orders events; never let the clock run back
	}
	c.last = t
	if c.cfg.SampleInterval > 0 {
		// A sample at tick T shows the state after every event up to T.
		// Across a gap of more than maxCatchUp ticks with no events the
		// middle ticks, which could only repeat the same count, are left
		// out: a corrupt timestamp must not make millions of records.
		// (The division is only done when a sample is due: events come
		// far more often than samples, and this runs for every one.)
		step := exptrace.Time(c.cfg.SampleInterval)
		if c.nextSample < t {
			if gap := (t - c.nextSample) / step; gap > maxCatchUp {
				c.nextSample += (gap - maxCatchUp) * step
			}
		}
		for c.nextSample < t {
			if err := c.fitSegment(c.nextSample); err != nil {
				return err
			}
			c.rec = format.Record{Code: format.CodeQueueSample, TS: c.ts(c.nextSample), GlobalQ: sat8(c.runnable)}
			if err := c.write(); err != nil {
				return err
			}
			c.nextSample += step
		}
	}
	return c.fitSegment(t)
}

// fitSegment starts a new segment if the current one cannot hold t. The
// new one starts where the current one ends (its base plus the segment
// duration), so that the files of a run join on one time line, unless
// nothing happened for more than another whole segment: then it starts at t.
func (c *Converter) fitSegment(t exptrace.Time) error {
	for time.Duration(t-c.segBase) > c.cfg.SegmentDuration {
		at := c.segBase + exptrace.Time(c.cfg.SegmentDuration)
		if time.Duration(t-at) > c.cfg.SegmentDuration {
			at = t
		}
		if err := c.startSegment(at, true); err != nil {
			return err
		}
	}
	return nil
}

// startSegment begins a segment whose clock starts at t. next tells whether
// a segment is being ended (the Output must be told): it ends with a
// QueueSample at t, so that the next one's clock starts where the last
// record of this one is (docs/format.md, "Files that continue another").
func (c *Converter) startSegment(t exptrace.Time, next bool) error {
	if next {
		c.rec = format.Record{Code: format.CodeQueueSample, TS: c.ts(t), GlobalQ: sat8(c.runnable)}
		if err := c.write(); err != nil {
			return err
		}
		if err := c.out.NextSegment(); err != nil {
			return err
		}
		c.bin = binaryWriter(c.out)
	}
	c.seg++
	c.stats.Segments++
	c.segBase = t
	c.setHorizon()
	c.locs.Reset()
	c.frames.Reset()
	for i := range c.procs {
		p := &c.procs[i]
		p.busy = 0
		p.since = t
	}
	return nil
}

// Rotate ends the current segment and starts a new one at the time of the
// last event, e.g. because the file reached its size limit.
func (c *Converter) Rotate() error {
	if c.err != nil {
		return c.err
	}
	if !c.started {
		return nil
	}
	if err := c.startSegment(c.last, true); err != nil {
		return c.fail(err)
	}
	return nil
}

// ts converts a trace time to the current segment's microsecond clock.
func (c *Converter) ts(t exptrace.Time) uint32 {
	if t < c.segBase {
		return 0
	}
	return uint32(min(int64(t-c.segBase)/1e3, format.MaxTimestampUS))
}

// writeHot writes one of the records made by the million (PollStart,
// PollEnd, WakeEvent) as a format.Hot: most of what a conversion writes.
// runInline batches them (flushHots); otherwise each goes to the Output
// by the fastest way it offers (writeHot1).
func (c *Converter) writeHot(code format.Code, ts uint32, w uint8, task, waker uint32, loc uint16) error {
	if n := len(c.hots); n < cap(c.hots) {
		// (Set field by field in its slot: a Hot built aside and then
		// copied is read back in 16 bytes from narrower stores, which
		// the processor cannot forward: a stall for each record.)
		c.hots = c.hots[:n+1]
		h := &c.hots[n]
		h.Code, h.TS, h.Worker, h.LocalQ, h.Task, h.Waker, h.SpawnLoc = code, ts, w, 0, task, waker, loc
		c.stats.Records[code]++
		if n+1 == cap(c.hots) {
			return c.flushHots()
		}
		return nil
	}
	h := format.Hot{Code: code, TS: ts, Worker: w, Task: task, Waker: waker, SpawnLoc: loc}
	if err := c.writeHot1(h); err != nil {
		return err
	}
	c.stats.Records[code]++
	return nil
}

// writeHot1 writes h to a BinaryOutput's Writer directly, or else to the
// Output as a Hot (as a Record, if it is not a format.HotWriter).
func (c *Converter) writeHot1(h format.Hot) error {
	if c.bin != nil {
		if err := c.bin.WriteHot(h); err != nil {
			return c.binError(h)
		}
		return nil
	}
	return c.hw.WriteHot(h)
}

// binError is the error of the BinaryOutput's Writer, which failed to
// write h, as the Output reports it: the Writer's errors stick, so the
// Output's WriteRecord of h returns it again (or nil, if the Output drops
// what it cannot write).
func (c *Converter) binError(h format.Hot) error {
	c.hotRec = h.Record()
	return c.out.WriteRecord(&c.hotRec)
}

// flushHots writes the Hot records runInline batched: in runs of whole
// records (format.Writer.WriteHots) to a BinaryOutput's Writer, one by
// one otherwise. Every other record is written after it (write), so the
// records keep their order; runInline calls it after each run of events,
// and Close at the end.
func (c *Converter) flushHots() error {
	hs := c.hots
	if len(hs) == 0 {
		return nil
	}
	c.hots = hs[:0]
	if c.bin != nil {
		if n, err := c.bin.WriteHots(hs); err != nil {
			return c.binError(hs[n])
		}
		return nil
	}
	for _, h := range hs {
		if err := c.writeHot1(h); err != nil {
			return err
		}
	}
	return nil
}

func (c *Converter) write() error {
	if err := c.flushHots(); err != nil {
		return err
	}
	if err := c.out.WriteRecord(&c.rec); err != nil {
		return err
	}
	c.stats.Records[c.rec.Code]++
	return nil
}

// generation handles the Sync event that starts each generation of the
// trace: the stacks of the previous one are about to be dropped by the
// reader, so block stacks still held are resolved to strings now.
func (c *Converter) generation(ev *tracewire.Event) error {
	c.genStart = ev.Time
	if ev.Clock != nil {
		c.clock = ev.Clock
	}
	c.resolveStacks()
	if c.sweepAt > 0 {
		if c.sweepAt++; c.sweepAt > 2 {
			c.sweepAt = 0
			if err := c.sweepCarried(ev.Time); err != nil {
				return err
			}
		}
	}
	clear(c.stackIDs)
	clear(c.stackHot[:])
	clear(c.pendIDs)
	clear(c.sites[:])
	clear(c.pendHits[:])
	// The PC cache belongs to the binary, not the generation, but bound it.
	if len(c.frameStr) > 1<<16 {
		clear(c.frameStr)
	}
	return nil
}

// resolveStacks turns the block stacks still held into strings: the stacks
// of the current generation are about to be dropped by the reader.
func (c *Converter) resolveStacks() {
	for i := range c.gs {
		g := &c.gs[i]
		if g.blockStack != NoStack {
			g.blockFrames = c.stackFrames(g.blockStack)
			g.blockStack = NoStack
		}
	}
}

// lookup returns the state of goroutine id, creating it on first sight.
func (c *Converter) lookup(id exptrace.GoID, stk Stack) (*goroutine, bool) {
	if i, ok := c.index(id); ok {
		return &c.gs[i], false
	}
	var i int32
	if n := len(c.free); n > 0 {
		i = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		c.gs = append(c.gs, goroutine{})
		i = int32(len(c.gs) - 1)
	}
	c.gidx.Set(uint64(id), i)
	g := &c.gs[i]
	*g = goroutine{id: id, state: exptrace.GoNotExist}
	if o, ok := c.origins[id]; ok {
		g.entry, g.creator = o.entry, o.creator
		g.loc = o.loc()
		delete(c.origins, id)
	}
	if c.cfg.Ignore != nil {
		g.ignored = c.cfg.Ignore(id, stk)
		g.askAgain = stk == NoStack
	}
	return g, true
}

// resetGoroutines forgets every goroutine: everything that indexes them
// (keep it next to the fields it clears).
func (c *Converter) resetGoroutines() {
	c.gidx.Clear()
	c.gs = c.gs[:0]
	c.free = c.free[:0]
	c.runnable = 0
	clear(c.stackIDs)
	clear(c.stackHot[:])
	clear(c.sites[:])
	clear(c.pendHits[:])
}

func (c *Converter) drop(id exptrace.GoID) {
	if i, ok := c.index(id); ok {
		c.gs[i] = goroutine{}
		c.gidx.Delete(uint64(id))
		c.free = append(c.free, i)
	}
}

func (c *Converter) goTransition(ev *tracewire.Event) error {
	if hotLane {
		if g := c.hotGoroutine(ev); g != nil {
			return c.goHot(ev, g)
		}
	}
	return c.goGeneral(ev)
}

// goGeneral is goTransition's general path, for any transition.
func (c *Converter) goGeneral(ev *tracewire.Event) error {
	id := ev.G
	from, to := ev.GoFrom(), ev.GoTo()
	t := ev.Time

	// The transition's own stack: a new goroutine's start stack, the stack
	// where a goroutine blocks or enters a syscall, or the one a status
	// event restates (x/exp/trace fills it from the event for those).
	stk := ev.TStack
	g, fresh := c.lookup(id, stk)
	if g.askAgain && stk != NoStack {
		g.askAgain = false
		if c.cfg.Ignore(id, stk) && !g.ignored {
			if g.state == exptrace.GoRunnable {
				c.runnable--
			}
			g.ignored = true
		}
	}
	if stk != NoStack && !g.ignored && from != exptrace.GoNotExist {
		c.noteStack(g, stk)
	}
	if g.carried {
		// The new reader's first word on a block carried across a gap.
		if err := c.resume(g, to, stk, t); err != nil {
			return err
		}
	}
	if !fresh && (from == exptrace.GoUndetermined || from == to) {
		// A generation boundary restating what we know (Waiting->Waiting,
		// Running->Running, or from Undetermined), or, after lost events,
		// correcting it: only a real change of state counts.
		if g.state == to {
			if g.inBlock && g.blockStack == NoStack && g.blockFrames == nil {
				g.blockStack = stk // a first stack for a block seen without one
			}
			return nil
		}
		from = g.state
	}
	if g.ignored {
		if to == exptrace.GoNotExist {
			c.drop(id)
		} else {
			g.state = to
		}
		return nil
	}

	if g.state == exptrace.GoRunnable {
		c.runnable--
	}
	if to == exptrace.GoRunnable {
		c.runnable++
	}
	g.state = to

	// Leaving a state.
	switch from {
	case exptrace.GoNotExist:
		if to != exptrace.GoNotExist {
			if err := c.spawned(ev, g); err != nil {
				return err
			}
		}
	case exptrace.GoRunning:
		if err := c.writeHot(format.CodePollEnd, c.ts(t), worker(ev.CurP), 0, 0, 0); err != nil {
			return err
		}
	case exptrace.GoWaiting, exptrace.GoSyscall:
		if to == exptrace.GoRunnable && from == exptrace.GoWaiting {
			if err := c.wake(g, ev); err != nil {
				return err
			}
		}
		if g.inBlock {
			if err := c.unblocked(g, t); err != nil {
				return err
			}
		}
	}

	// Entering a state.
	switch to {
	case exptrace.GoRunning:
		return c.pollStart(ev, g)
	case exptrace.GoWaiting, exptrace.GoSyscall:
		g.beginBlock(t, ev.Reason, stk)
		if to == exptrace.GoSyscall {
			g.blockReason = "syscall"
		} else if from == exptrace.GoUndetermined {
			// First sight of a goroutine already blocked: the tracer states
			// it lazily, when it is first touched (often right before its
			// wake) or at the generation's end. It has been blocked at
			// least since the generation began, for it would have been
			// seen blocking otherwise; why, the trace does not say (the
			// stack does: waitreason.Canonical).
			g.blockStart = min(t, max(c.genStart, c.segBase))
			g.exact = false
		}
	case exptrace.GoNotExist:
		c.drop(id)
		return c.ended(id, t)
	}
	return nil
}

// ended tells an EndOutput that goroutine id exited at t, after the
// records before (the ignored goroutines, of which no record tells,
// are left out by the caller).
func (c *Converter) ended(id exptrace.GoID, t exptrace.Time) error {
	if c.ends == nil || !c.started {
		return nil
	}
	if err := c.flushHots(); err != nil {
		return err
	}
	return c.ends.WriteEnd(task(id), c.ts(t))
}

// hotLane enables goHot and the decoder's Sink (the tests turn it off to
// compare the lanes with the general path).
var hotLane = true

// Take is consume's fast lane, as the decoder's Sink: it takes a
// goroutine's transition (goHot's, if hotGoroutine says so; the general
// path's otherwise), a P's, a stop-the-world's and the events the
// converter only takes the time of, as Consume would; false, having done
// nothing, for a Sync (which then comes to Consume). (Refusing the transitions goHot does
// not make, as it did, sent them through the decoder's queue, Fill's
// return and Consume: a goroutine's creation and exit, 6% of a loopback
// server's events.)
func (c *Converter) Take(e *tracewire.Event) bool {
	if c.err != nil || c.closed || e.Time > c.takeLimit || (c.takeFull != nil && c.takeFull()) {
		return false // (Consume returns the error)
	}
	var g *goroutine
	switch e.Kind {
	case tracewire.KindGo:
		g = c.hotGoroutine(e)
	case tracewire.KindOther, tracewire.KindProc, tracewire.KindSTW:
	default:
		return false // (a Sync: Consume's, between Fills)
	}
	c.stats.Events++
	err := c.advance(e.Time)
	if err == nil {
		switch {
		case g != nil:
			err = c.goHot(e, g)
		case e.Kind == tracewire.KindGo:
			err = c.goGeneral(e)
		case e.Kind == tracewire.KindProc:
			err = c.procTransition(e)
		case e.Kind == tracewire.KindSTW:
			err = c.stw(e)
		}
	}
	if err != nil {
		c.fail(err)
	}
	return true
}

// setTakeLimit makes Take refuse the events after t (math.MaxInt64, the
// default: none), which then come to Consume: the shim's worker applies a
// goroutine dump before the first event after its time.
func (c *Converter) setTakeLimit(t exptrace.Time) { c.takeLimit = t }

// setTakeFull makes Take refuse events while full reports true. Take runs
// inside the decoder's Fill, which returns only when an event is refused:
// since Take converts goroutines' creations and exits and the general
// path's events, a busy program's Fill took whole batches, and the
// shim's files grew to 2.4 times maxfile before it could rotate them.
func (c *Converter) setTakeFull(full func() bool) { c.takeFull = full }

// events returns the number of events consumed (or taken) so far.
func (c *Converter) events() int64 { return c.stats.Events }

// Err returns the error that stopped the converter (sticky: Consume
// returns it too), if any: Take, which cannot return it, keeps it.
func (c *Converter) Err() error { return c.err }

// hotGoroutine returns the goroutine of ev if goHot makes its transition:
// one of the four that make nearly all of a busy program's, GoStart
// (Runnable to Running), GoBlock (Running to Waiting), GoStop (Running to
// Runnable) and GoUnblock (Waiting to Runnable), or a system call's
// (GoSyscallBegin, Running to Syscall; GoSyscallEnd, Syscall to
// Running; GoSyscallEndBlocked, Syscall to Runnable: 94% of the events of
// the corpus's file I/O trace, a third of a loopback server's), of a goroutine the
// converter knows in that very state, not ignored, not carried across a
// gap, with no question of its Ignore or entry left for a stack to
// answer; nil otherwise.
func (c *Converter) hotGoroutine(ev *tracewire.Event) *goroutine {
	from, to := ev.GoFrom(), ev.GoTo()
	switch {
	case from == exptrace.GoRunnable && to == exptrace.GoRunning,
		from == exptrace.GoRunning && (to == exptrace.GoWaiting || to == exptrace.GoRunnable || to == exptrace.GoSyscall),
		from == exptrace.GoWaiting && to == exptrace.GoRunnable,
		from == exptrace.GoSyscall && (to == exptrace.GoRunning || to == exptrace.GoRunnable):
	default:
		return nil
	}
	i, ok := c.index(ev.G)
	if !ok {
		return nil
	}
	g := &c.gs[i]
	if g.state != from || g.ignored || g.carried || g.askAgain {
		return nil
	}
	if !g.entryFinal && !g.plainEntry && ev.TStack != NoStack {
		return nil // (noteStack may learn the entry from it)
	}
	return g
}

// goHot is goTransition's fast lane, for a transition hotGoroutine
// returned g for. It makes the same records and state changes as the
// general path (TestConverterLanes compares the two on every trace), with
// fewer tests on the way.
func (c *Converter) goHot(ev *tracewire.Event, g *goroutine) error {
	to := ev.GoTo()
	t := ev.Time
	switch ev.GoFrom() {
	case exptrace.GoRunnable: // to Running
		c.runnable--
		g.state = to
		return c.pollStart(ev, g)
	case exptrace.GoRunning: // to Waiting, Runnable or Syscall
		if to == exptrace.GoRunnable {
			c.runnable++
		}
		g.state = to
		if err := c.writeHot(format.CodePollEnd, c.ts(t), worker(ev.CurP), 0, 0, 0); err != nil {
			return err
		}
		if to == exptrace.GoWaiting {
			g.beginBlock(t, ev.Reason, ev.TStack)
		} else if to == exptrace.GoSyscall {
			g.beginBlock(t, ev.Reason, ev.TStack)
			g.blockReason = "syscall"
		}
		return nil
	case exptrace.GoSyscall: // to Running or Runnable
		if to == exptrace.GoRunnable {
			c.runnable++
		}
		g.state = to
		if g.inBlock {
			if err := c.unblocked(g, t); err != nil {
				return err
			}
		}
		if to == exptrace.GoRunning {
			return c.pollStart(ev, g)
		}
		return nil
	default: // Waiting to Runnable
		c.runnable++
		g.state = to
		if err := c.wake(g, ev); err != nil {
			return err
		}
		if g.inBlock {
			return c.unblocked(g, t)
		}
		return nil
	}
}

// wake writes the WakeEvent of g, woken by ev, with the TaskSpawns the
// segment lacks for the two goroutines first.
func (c *Converter) wake(g *goroutine, ev *tracewire.Event) error {
	waker, err := c.wakerTask(ev.CurG)
	if err != nil {
		return err
	}
	if err := c.spawnFor(g); err != nil {
		return err
	}
	return c.writeHot(format.CodeWakeEvent, c.ts(ev.Time), worker(ev.CurP), task(g.id), waker, 0)
}

// spawned handles a goroutine's creation (or first sight).
func (c *Converter) spawned(ev *tracewire.Event, g *goroutine) error {
	// The creator's stack: its top frame is the go statement. The
	// transition's own stack is the new goroutine's start: its entry.
	// Both, and the location they make, are the same for every goroutine
	// a go statement creates: cached by the pair of stacks.
	s := &c.sites[(ev.Stack.Hash()*31+ev.TStack.Hash())%uint64(len(c.sites))]
	if !s.ok || s.stk != ev.Stack || s.tstk != ev.TStack {
		*s = spawnSite{stk: ev.Stack, tstk: ev.TStack, ok: true}
		if f, ok := ev.Stack.Top(); ok {
			s.creator = c.frameString(f)
		}
		if f, ok := ev.TStack.Outer(); ok {
			s.entry = f.Func
		}
		s.loc = c.spawnLoc(s.entry, s.creator)
	}
	if s.creator != "" || s.entry != "" {
		c.setOriginLoc(g, s.entry, s.creator, s.loc)
		if g.loc == s.loc && s.locSeg == c.seg && g.locSeg != c.seg {
			g.locSeg, g.locID = s.locSeg, s.locID // (the table's lookup saved)
		}
	}
	// TaskSpawn even without a location (0): the goroutine was created.
	id, err := c.locID(g)
	if err != nil {
		return err
	}
	if g.loc == s.loc && g.loc != "" {
		s.locSeg, s.locID = g.locSeg, g.locID
	}
	g.spawnSeg = c.seg
	c.rec = format.Record{Code: format.CodeTaskSpawn, Task: task(g.id), SpawnLoc: id}
	return c.write()
}

func (c *Converter) pollStart(ev *tracewire.Event, g *goroutine) error {
	if err := c.spawnFor(g); err != nil {
		return err
	}
	id, err := c.locID(g)
	if err != nil {
		return err
	}
	return c.writeHot(format.CodePollStart, c.ts(ev.Time), worker(ev.CurP), task(g.id), 0, id)
}

// spawnFor writes g's TaskSpawn (and its spawn location) into the current
// segment if it is not there yet and its origin is known: every file
// names the origin of the goroutines in its records.
func (c *Converter) spawnFor(g *goroutine) error {
	if g.spawnSeg == c.seg || g.loc == "" || g.ignored {
		return nil
	}
	id, err := c.locID(g)
	if err != nil {
		return err
	}
	if g.spawnSeg == c.seg { // (locID started a new segment and wrote it)
		return nil
	}
	g.spawnSeg = c.seg
	c.rec = format.Record{Code: format.CodeTaskSpawn, Task: task(g.id), SpawnLoc: id}
	return c.write()
}

// wakerTask returns the task id of the goroutine that made a wake,
// writing its TaskSpawn first if this segment lacks it.
func (c *Converter) wakerTask(id exptrace.GoID) (uint32, error) {
	if id == exptrace.NoGoroutine {
		return 0, nil
	}
	i, ok := c.index(id)
	if !ok {
		return task(id), nil
	}
	g := &c.gs[i]
	if g.ignored {
		return 0, nil
	}
	return task(id), c.spawnFor(g)
}

// locID returns the id of g's spawn location in the current segment,
// writing its definition first if needed.
func (c *Converter) locID(g *goroutine) (uint16, error) {
	if g.loc == "" {
		return 0, nil
	}
	if g.locSeg == c.seg {
		return g.locID, nil
	}
	seg := c.seg
	id, err := c.intern(&c.locs, format.CodeSpawnLocationDef, g.loc)
	if err != nil {
		return 0, err
	}
	if c.seg != seg {
		g.spawnSeg = 0 // a new segment: its TaskSpawn is due there too
	}
	g.locSeg, g.locID = c.seg, id
	return id, nil
}

// intern returns the id of s in table t, writing its definition if new. A
// full table starts a new segment.
func (c *Converter) intern(t *format.Table, code format.Code, s string) (uint16, error) {
	id, isNew, err := t.Intern(s)
	if err == format.ErrTableFull {
		if err := c.startSegment(c.last, true); err != nil {
			return 0, err
		}
		id, isNew, err = t.Intern(s)
	}
	if err != nil {
		return 0, err
	}
	if isNew {
		c.rec = format.Record{Code: code, ID: id, Str: s}
		if err := c.write(); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// unblocked ends g's block at t, reporting it if it lasted long enough:
// the final record of a block carries its whole duration.
func (c *Converter) unblocked(g *goroutine, t exptrace.Time) error {
	d := time.Duration(t - g.blockStart)
	var err error
	if d >= c.cfg.Threshold && d != g.reported {
		err = c.pending(g, t, d)
	}
	g.endBlock()
	return err
}

// beginBlock starts g's block at t, as the trace saw it begin (exact).
func (g *goroutine) beginBlock(t exptrace.Time, reason string, stk Stack) {
	g.inBlock, g.exact = true, true
	g.blockStart = t
	g.blockReason = reason
	g.nextReport, g.reported = 0, 0
	g.blockStack = stk
	g.blockFrames = nil
}

// endBlock forgets g's block.
func (g *goroutine) endBlock() {
	g.inBlock, g.exact, g.carried = false, false, false
	g.blockReason, g.blockStack, g.blockFrames = "", NoStack, nil
	g.nextReport, g.reported = 0, 0
}

// pending writes a TaskPending for g's current block, observed at t after
// lasting d. The frames are the wait reason as a pseudo-frame "[reason]"
// (waitreason.Canonical), then the block stack, innermost first.
func (c *Converter) pending(g *goroutine, t exptrace.Time, d time.Duration) error {
	if err := c.spawnFor(g); err != nil {
		return err
	}
	if c.pendSeg != c.seg {
		clear(c.pendIDs)
		c.pendSeg = c.seg
	}
	// The cache's key: the stack, or the frames it was resolved into at
	// a generation boundary (a block that outlasts a generation: on a
	// mostly idle trace, a third of them).
	var fp *string
	key := g.blockStack.Hash()
	if g.blockStack == NoStack && len(g.blockFrames) > 0 {
		fp = unsafe.SliceData(g.blockFrames)
		key = uint64(uintptr(unsafe.Pointer(fp))) >> 4
	}
	hit := &c.pendHits[(key*0x9e3779b97f4a7c15)>>(64-pendHitBits)]
	if hit.ok && hit.seg == c.seg && hit.stk == g.blockStack && hit.fp == fp && hit.n == len(g.blockFrames) && hit.reason == g.blockReason {
		return c.writePending(g, t, d, hit.ids)
	}
	frames := g.blockFrames
	if g.blockStack != NoStack {
		frames = c.stackFrames(g.blockStack)
	}
	pk := pendKey{unsafe.SliceData(frames), len(frames), g.blockReason}
	if ids, ok := c.pendIDs[pk]; ok {
		*hit = pendHit{stk: g.blockStack, fp: fp, n: len(g.blockFrames), reason: g.blockReason, seg: c.seg, ids: ids, ok: true}
		return c.writePending(g, t, d, ids)
	}
	reason := "[" + waitreason.Canonical(g.blockReason, frames) + "]"
	seg := c.seg
	for {
		c.ids = c.ids[:0]
		ok := true
		for i := -1; i < len(frames) && len(c.ids) < format.MaxFrames; i++ {
			s := reason
			if i >= 0 {
				s = frames[i]
			}
			id, err := c.intern(&c.frames, format.CodeFrameDef, s)
			if err != nil {
				return err
			}
			if c.seg != seg { // the table filled up: define them all again
				seg, ok = c.seg, false
				if err := c.spawnFor(g); err != nil {
					return err
				}
				break
			}
			c.ids = append(c.ids, id)
		}
		if ok {
			break
		}
	}
	if c.seg == c.pendSeg && len(c.pendIDs) < 1<<16 {
		c.pendIDs[pk] = slices.Clone(c.ids)
	}
	return c.writePending(g, t, d, c.ids)
}

// writePending writes g's TaskPending at t, its block d long, with the
// frame ids ids.
func (c *Converter) writePending(g *goroutine, t exptrace.Time, d time.Duration, ids []uint16) error {
	g.reported = d
	c.rec = format.Record{Code: format.CodeTaskPending, TS: c.ts(t), Task: task(g.id), Duration: durationUS(d), Frames: ids}
	return c.write()
}

// pendHit is an entry of Converter.pendHits.
type pendHit struct {
	stk    Stack
	fp     *string // with n, the resolved frames, for a block without stk
	n      int
	reason string
	seg    int
	ids    []uint16
	ok     bool
}

// pendHitBits sizes Converter.pendHits.
const pendHitBits = 10

// pendKey is pendIDs' key: a TaskPending's frames (the slice's first
// element and length) and the block's reason.
type pendKey struct {
	frames *string
	n      int
	reason string
}

// stackFrames returns the frame strings of stk, innermost first, cached
// per stack for the current generation.
func (c *Converter) stackFrames(stk Stack) []string {
	h := &c.stackHot[(stk.Hash()*0x9e3779b97f4a7c15)>>(64-stackHotBits)]
	if h.fs != nil && h.stk == stk {
		return h.fs
	}
	if fs, ok := c.stackIDs[stk]; ok {
		*h = stackHit{stk, fs}
		return fs
	}
	var fs []string
	for f := range stk.Frames() {
		fs = append(fs, c.frameString(f))
	}
	c.stackIDs[stk] = fs
	if fs != nil {
		*h = stackHit{stk, fs}
	}
	return fs
}

// stackHit is an entry of Converter.stackHot.
type stackHit struct {
	stk Stack
	fs  []string // nil: empty
}

const stackHotBits = 9

// frameString renders a frame as "function file:line", cached by PC.
func (c *Converter) frameString(f exptrace.StackFrame) string {
	if s, ok := c.frameStr[f.PC]; ok && f.PC != 0 && len(s) > len(f.Func) && s[:len(f.Func)] == f.Func && s[len(f.Func)] == ' ' {
		return s
	}
	s := f.Func + " " + f.File + ":" + strconv.FormatUint(f.Line, 10)
	if f.PC != 0 {
		c.frameStr[f.PC] = s
	}
	return s
}

// maxProcs bounds the P ids the converter keeps state for: GOMAXPROCS is
// at most 1024 here in practice (and a v9 worker id at most 254); a corrupt
// trace must not make it grow a slice to a P id of two billion.
const maxProcs = 1 << 14

func (c *Converter) procTransition(ev *tracewire.Event) error {
	id := ev.P
	if id < 0 || id >= maxProcs {
		return nil
	}
	for int(id) >= len(c.procs) {
		c.procs = append(c.procs, proc{since: c.segBase})
	}
	p := &c.procs[id]
	to := ev.ProcTo()
	t := ev.Time
	switch {
	case to == exptrace.ProcRunning && !p.running:
		p.running, p.since = true, t
		c.rec = format.Record{Code: format.CodeWorkerUnpark, TS: c.ts(t), Worker: worker(id), CPU: durationUS(p.busy)}
		return c.write()
	case to != exptrace.ProcRunning && p.running:
		p.running = false
		if t > p.since {
			p.busy += time.Duration(t - p.since)
		}
		c.rec = format.Record{Code: format.CodeWorkerPark, TS: c.ts(t), Worker: worker(id), CPU: durationUS(p.busy)}
		return c.write()
	}
	return nil
}

// Close ends the conversion: every goroutine still blocked at the last event
// for at least the threshold gets a TaskPending, with its duration up to
// that event. It does not close the Output.
func (c *Converter) Close() error {
	if c.closed {
		return ErrClosed
	}
	c.closed = true
	if c.err != nil {
		return c.err
	}
	if !c.started {
		return nil
	}
	for i := range c.gs {
		g := &c.gs[i]
		if g.ignored || !g.inBlock {
			continue
		}
		if d := time.Duration(c.last - g.blockStart); d >= c.cfg.Threshold && d != g.reported {
			if err := c.pending(g, c.last, d); err != nil {
				return c.fail(err)
			}
		}
	}
	if err := c.flushHots(); err != nil {
		return c.fail(err)
	}
	return nil
}

// task truncates a goroutine id to the 32 bits of a v9 task id.
func task(id exptrace.GoID) uint32 {
	if id < 0 {
		return 0
	}
	return uint32(id)
}

// worker maps a P to a v9 worker id: 255 for none, or for a P id that does
// not fit below it.
func worker(id exptrace.ProcID) uint8 {
	if id < 0 || id >= format.NoWorker {
		return format.NoWorker
	}
	return uint8(id)
}

func sat8(n int) uint8 { return uint8(min(max(n, 0), 255)) }

func durationUS(d time.Duration) uint32 {
	return uint32(min(max(d.Microseconds(), 0), format.MaxTimestampUS))
}
