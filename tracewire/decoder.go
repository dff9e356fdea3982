package tracewire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	exptrace "golang.org/x/exp/trace"
)

// Header is the 16-byte header of the one format version the decoder
// reads.
const Header = "go 1.26 trace\x00\x00\x00"

// Supported reports whether a trace starting with head (its first 16
// bytes) is in the format the decoder reads. Other traces go to x/exp's
// parser.
func Supported(head []byte) bool { return bytes.HasPrefix(head, []byte(Header)) }

// ErrUnsupported is returned by NewDecoder for a trace of another format
// version (or not a trace).
var ErrUnsupported = errors.New("tracewire: not a Go 1.26 execution trace")

// Error is a decoding error: what is wrong, and where.
type Error struct {
	Offset int64 // byte offset in the input of the batch or event at fault
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("byte %d: %s", e.Offset, e.Msg) }

// Decoder reads a Go 1.26 execution trace event by event, in the order
// golang.org/x/exp/trace's Reader gives them. It reads the input one
// generation at a time, and only as far as the end of the generation it
// needs next (a live reader can wait in Read between generations).
type Decoder struct {
	r   *bufio.Reader
	off int64 // bytes consumed

	// ra is the input of a decoder of a file (NewFileDecoder), of size
	// bytes; r is then nil. Its batch headers are read through win, a
	// small window at winOff.
	ra     io.ReaderAt
	size   int64
	win    []byte
	winOff int64

	gen      *generation
	frontier []*cursor
	cpu      []cpuSample
	order    ordering

	q        []Event // events advanced, not yet returned
	qhead    int
	sink     Sink // during Fill, fillSink; nil otherwise
	fillSink Sink // SetSink's
	inSink   bool // in the sink's Take: a panic there is the sink's
	stepMark int  // len(q) before Fill's current step
	// fillN and runLeft are Fill's target and the events it may still
	// advance (hotStep runs on while the same M stays first).
	fillN, runLeft int
	direct         Event // the fast lane's event for sink
	lastTs         Time
	syncs          int
	genErr         error
	done           bool

	// Reused across generations.
	chunks  [][]byte // batch memory, chunkSize each
	cursors []cursor
	free    []*generation
}

// ReadBufferSize is the size of the buffer the decoder reads r through
// (when r is not a *bufio.Reader already; such a reader is best given with
// this size). It is small on purpose: the decoder reads batch headers byte
// by byte, but batch data (up to 64 KB a batch) in one ReadFull, which a
// bufio.Reader hands to r directly, into the batch memory, whenever its
// buffer is empty and what is left to read is at least its size. With a
// buffer of a batch's size, every byte of the trace would be copied once
// more, from the buffer to the batch memory.
const ReadBufferSize = 4096

// NewDecoder reads the trace header from r and returns a decoder of the
// trace; ErrUnsupported if the trace is not one it reads.
func NewDecoder(r io.Reader) (*Decoder, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, ReadBufferSize)
	}
	var hdr [len(Header)]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil || string(hdr[:]) != Header {
		return nil, ErrUnsupported
	}
	d := &Decoder{r: br, off: int64(len(Header))}
	d.order.init()
	return d, nil
}

// NewFileDecoder returns a decoder of the trace that is the first size
// bytes of r: a trace file (an *os.File is an io.ReaderAt). Reading from a
// file rather than a stream, it keeps a generation's event batches where
// they are: it reads their headers as it goes (and whole only the batches
// of strings, stacks, CPU samples and clocks), then each M's batches one
// at a time, into a buffer of the M's, as the M's events are ordered. So it
// holds a batch for each M instead of the whole generation: its memory
// does not grow with the trace's rate, and it saves the page faults of
// that memory, which cost a tenth of a conversion (docs/decoder.md). The
// file must not change while it is read.
func NewFileDecoder(r io.ReaderAt, size int64) (*Decoder, error) {
	var hdr [len(Header)]byte
	if n, _ := r.ReadAt(hdr[:], 0); n != len(hdr) || string(hdr[:]) != Header {
		return nil, ErrUnsupported
	}
	d := &Decoder{ra: r, size: size, off: int64(len(Header))}
	d.order.init()
	return d, nil
}

// Offset returns the number of input bytes consumed so far.
func (d *Decoder) Offset() int64 { return d.off }

// Next returns the next event. It returns io.EOF at the end of a trace
// read without error, an *Error for bad input. The event is valid until
// the next call.
func (d *Decoder) Next() (*Event, error) {
	for d.qhead == len(d.q) {
		d.q, d.qhead = d.q[:0], 0
		if d.done {
			return nil, io.EOF
		}
		if err := d.step(); err != nil {
			d.done = true
			return nil, err
		}
	}
	e := &d.q[d.qhead]
	d.qhead++
	return e, nil
}

// Sink takes events straight from the decoder during Fill (SetSink):
// those of its fast lane (the goroutine transitions and heap metrics
// that make nearly all of a busy trace) without their going through
// Fill's buffer, the others without Fill's returning them.
type Sink interface {
	// Take is given an event when every event before it has been
	// returned (or taken). It returns false, having done nothing, to
	// have the event returned by Fill as any other. e is the decoder's,
	// valid for the call only.
	Take(e *Event) bool
}

// SetSink makes Fill give its events to s first (nil: none): those of
// its fast lane as they are decoded, the others once the step that
// decoded them is done. Fill then returns as soon as it holds an event
// (one s did not take), or after a few thousand events taken.
func (d *Decoder) SetSink(s Sink) { d.fillSink = s }

// InSink reports whether the decoder is in its sink's Take: after a
// panic, whether the panic was the sink's rather than the decoder's.
func (d *Decoder) InSink() bool { return d.inSink }

// fillSteps bounds the events one Fill advances (runLeft): with a sink,
// which may take every event, Fill would otherwise run to the end of the
// trace, and its caller reports progress and looks at its tickers between
// Fills.
const fillSteps = 4096

// Fill appends the next events to buf, until it holds at least n (or a
// few more) or the trace ends, and returns it: with io.EOF at the end of
// a trace read without error, an *Error for bad input (buf then holds
// the events before it). It saves Next's copy of each event.
func (d *Decoder) Fill(buf []Event, n int) ([]Event, error) {
	for ; d.qhead < len(d.q); d.qhead++ {
		buf = append(buf, d.q[d.qhead])
	}
	own := d.q[:0]
	d.q, d.qhead = buf, 0
	var err error
	d.sink = d.fillSink // (Next never gives events to the sink)
	if d.sink != nil {
		n = 1
	}
	d.fillN, d.runLeft = n, fillSteps
	for ; len(d.q) < n && d.runLeft > 0; d.runLeft-- {
		if d.done {
			err = io.EOF
			break
		}
		d.stepMark = len(d.q)
		if err = d.step(); err != nil {
			d.done = true
			break
		}
		if d.sink != nil && len(d.q) != 0 {
			d.offer()
		}
	}
	d.sink = nil
	d.fillN, d.runLeft = 0, 0
	buf = d.q
	d.q, d.qhead = own, 0
	return buf, err
}

// offer hands the events the step just queued, with a sink and none
// queued before them, to the sink, in order, up to the first it does not
// take: the general path's events (a P's start and stop, a goroutine's
// status, a third of a mostly idle program's events) would otherwise
// end the Fill, each, to be returned and converted one by one.
func (d *Decoder) offer() {
	i := 0
	d.inSink = true
	for i < len(d.q) && d.sink.Take(&d.q[i]) {
		i++
	}
	d.inSink = false
	if i != 0 {
		d.q = d.q[:copy(d.q, d.q[i:])]
	}
}

// step advances the trace by at least one event.
func (d *Decoder) step() error {
	if len(d.frontier) == 0 && len(d.cpu) == 0 {
		if d.genErr != nil {
			return d.genErr
		}
		g, err := d.readGeneration()
		if err != nil {
			// As the reference parser: the Sync that ends what was good,
			// then the error.
			d.genErr = err
			d.release(d.gen)
			d.gen = nil
			d.sync(d.lastTs, nil)
			return nil
		}
		if g == nil {
			d.release(d.gen)
			d.gen = nil
			d.sync(d.lastTs, nil) // the final Sync
			d.done = true
			return nil
		}
		return d.install(g)
	}
	if len(d.cpu) != 0 && (len(d.frontier) == 0 || d.cpu[0].time < d.frontier[0].ev.time) {
		s := d.cpu[0]
		d.cpu = d.cpu[1:]
		e := d.push(s.time)
		e.CurG, e.CurP = s.g, s.p
		return nil
	}
	if ok, err := d.hotStep(); ok || err != nil {
		return err
	}
	ok, err := d.tryAdvance(0)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	// The rare path: the earliest event cannot happen yet; try the others
	// in time order.
	slices.SortFunc(d.frontier, func(a, b *cursor) int {
		switch {
		case a.ev.time < b.ev.time:
			return -1
		case a.ev.time > b.ev.time:
			return 1
		}
		return 0
	})
	for i := 1; i < len(d.frontier); i++ {
		if ok, err := d.tryAdvance(i); err != nil {
			return err
		} else if ok {
			return nil
		}
	}
	c := d.frontier[0]
	return &Error{Offset: c.ev.off, Msg: fmt.Sprintf("broken trace: cannot order generation %d: no M's next event can happen next (M %d: %s)", d.gen.gen, c.m, eventName(c.ev.typ))}
}

func (d *Decoder) tryAdvance(i int) (bool, error) {
	c := d.frontier[i]
	if ok, err := d.order.advance(d, c); !ok || err != nil {
		if err != nil {
			err = &Error{Offset: c.ev.off, Msg: err.Error()}
		}
		return ok, err
	}
	ok, err := c.next(d.gen)
	if err != nil {
		return false, err
	}
	if ok {
		heapUpdate(d.frontier, i)
	} else {
		d.frontier = heapRemove(d.frontier, i)
	}
	return true, nil
}

// install makes g the current generation: its Sync, then its events.
func (d *Decoder) install(g *generation) error {
	d.release(d.gen)
	d.gen = g
	d.cpu = g.cpu
	d.frontier = d.frontier[:0]
	if cap(d.cursors) < len(g.ms) {
		cs := make([]cursor, len(g.ms))
		copy(cs, d.cursors[:cap(d.cursors)]) // (their buffers)
		d.cursors = cs
	}
	d.cursors = d.cursors[:len(g.ms)]
	for i := range g.ms {
		c := &d.cursors[i]
		*c = cursor{m: g.ms[i].m, batches: g.ms[i].batches, buf: c.buf}
		ok, err := c.next(g)
		if err != nil {
			return err
		}
		if ok {
			d.frontier = heapInsert(d.frontier, c)
		}
	}
	var clk *exptrace.ClockSnapshot
	if g.hasClock {
		clk = &exptrace.ClockSnapshot{Trace: g.mul(g.snapTime), Wall: g.snapWall, Mono: g.snapMono}
	}
	d.sync(g.mul(g.minTs), clk)
	return nil
}

// release keeps g's buffers for the next generation. (Its tables are not
// reused: stacks handed out point to them.)
func (d *Decoder) release(g *generation) {
	if g != nil {
		d.chunks = g.chunks
	}
}

// chunkSize is the unit of batch memory; a batch is at most
// maxBatchSize, so a chunk holds several.
const chunkSize = 1 << 20

// alloc returns n bytes of batch memory of g.
func (g *generation) alloc(n int) []byte {
	if g.nchunk == 0 || chunkSize-g.used < n {
		if g.nchunk == len(g.chunks) {
			g.chunks = append(g.chunks, newChunks(len(g.chunks))...)
		}
		g.nchunk++
		g.used = 0
	}
	c := g.chunks[g.nchunk-1]
	b := c[g.used : g.used+n : g.used+n]
	g.used += n
	return b
}

func (d *Decoder) sync(t Time, clk *exptrace.ClockSnapshot) {
	d.syncs++
	e := d.push(t)
	e.Kind = KindSync
	e.Clock = clk
}

// push appends an event at time t, keeping times strictly increasing as
// the reference parser does (an event at or before the last one is moved
// to 1ns after it), and returns it for its details.
func (d *Decoder) push(t Time) *Event {
	t = d.nextTime(t)
	// (The event is built in its slot: append(d.q, Event{...}) built it
	// on the stack and copied it, 136 bytes twice for each event.)
	n := len(d.q)
	if n == cap(d.q) {
		d.q = append(d.q, Event{})
	} else {
		d.q = d.q[:n+1]
	}
	e := &d.q[n]
	newEvent(e, t)
	return e
}

// newEvent makes *e an event at time t, of no goroutine or P.
func newEvent(e *Event, t Time) {
	*e = Event{Time: t, CurG: exptrace.NoGoroutine, CurP: exptrace.NoProc, P: exptrace.NoProc}
}

// setFreq sets the nanoseconds per tick from the frequency event's ticks
// per second f, as the reference parser computes it, and mul's integer
// shortcut when that is a whole number.
func (g *generation) setFreq(f uint64) {
	g.freq = 1.0 / (float64(f) / 1e9)
	g.ifreq, g.exactBelow = 0, 0
	if g.freq >= 1 && g.freq <= 1<<20 && g.freq == math.Trunc(g.freq) {
		g.ifreq = uint64(g.freq)
		g.exactBelow = (1 << 53) / g.ifreq
	}
}

// nextTime returns the time of the event after the last at t.
func (d *Decoder) nextTime(t Time) Time {
	if t <= d.lastTs {
		t = d.lastTs + 1
	}
	d.lastTs = t
	return t
}

// generation is one generation of the trace, read whole.
type generation struct {
	gen   uint64
	t     *tables
	ms    []mBatches
	mIdx  map[ThreadID]int
	cpu   []cpuSample
	minTs uint64

	freq       float64
	ifreq      uint64 // freq, if a whole number from 1 to 2^20
	exactBelow uint64 // (mul)
	hasFreq    bool
	hasClock   bool
	snapTime   uint64
	snapMono   uint64
	snapWall   time.Time

	chunks [][]byte // batch memory: chunks[:nchunk] in use, the last up to used
	nchunk int
	used   int
	// ra is a file decoder's input, from which cursors read event
	// batches (whose data is then nil).
	ra io.ReaderAt
}

type mBatches struct {
	m       ThreadID
	batches []batch
}

// batch is an event batch.
type batch struct {
	time uint64
	data []byte // nil if not read yet (file decoder)
	n    int    // its size
	off  int64  // input offset of its first byte of data
}

type cpuSample struct {
	time Time
	m    ThreadID
	p    ProcID
	g    GoID
}

// mul converts a timestamp to nanoseconds, exactly as the reference
// parser does (the same float64 arithmetic, so that both give the same
// times).
//
// With an integer frequency (64 on Linux: nanotime/64), a product below
// 2^53 is exact in float64 too, and multiplying integers is faster than
// the two conversions; exactBelow says where that holds.
func (g *generation) mul(ts uint64) Time {
	if ts < g.exactBelow {
		return Time(ts * g.ifreq)
	}
	return Time(float64(ts) * g.freq)
}

func (d *Decoder) readByte() (byte, error) {
	if d.ra != nil {
		return d.readByteAt()
	}
	b, err := d.r.ReadByte()
	if err == nil {
		d.off++
	}
	return b, err
}

func (d *Decoder) readUvarint(what string) (uint64, error) {
	start := d.off
	var x uint64
	var s uint
	for i := 0; ; i++ {
		b, err := d.readByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, &Error{Offset: start, Msg: "reading " + what + ": " + err.Error()}
		}
		if i == binary.MaxVarintLen64-1 && b > 1 || i >= binary.MaxVarintLen64 {
			return 0, &Error{Offset: start, Msg: "reading " + what + ": varint overflows a 64-bit integer"}
		}
		if b < 0x80 {
			return x | uint64(b)<<s, nil
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
}

// winSize is the size of a file decoder's window on batch headers: a
// header, up to 41 bytes, and the first byte of the data (which says what
// the batch holds).
const winSize = 256

// readByteAt is readByte for a file: through the window, at d.off.
func (d *Decoder) readByteAt() (byte, error) {
	i := d.off - d.winOff
	if i < 0 || i >= int64(len(d.win)) {
		if d.off >= d.size {
			return 0, io.EOF
		}
		if d.win == nil {
			d.win = make([]byte, winSize)
		}
		n, err := d.ra.ReadAt(d.win[:min(int64(winSize), d.size-d.off)], d.off)
		d.win, d.winOff = d.win[:n], d.off
		if n == 0 {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF // (the file was cut short)
			}
			return 0, err
		}
		i = 0
	}
	d.off++
	return d.win[i], nil
}

// readBatch reads the data of a batch of n bytes, into batch memory of
// the generation being read, and returns it with its input offset. A
// file decoder reads only the first byte of an event batch, which says it
// is one, and leaves its data for its M's cursor to read (data is then
// nil).
func (d *Decoder) readBatch(g *generation, exp byte, n int) ([]byte, int64, error) {
	doff := d.off
	short := func(k int, err error) error { return shortBatch(doff, k, n, err) }
	if d.ra != nil {
		if d.size-doff < int64(n) {
			d.off = d.size // (where the stream decoder stops: all read)
			return nil, doff, short(int(d.size-doff), nil)
		}
		if n == 0 || exp != 0 {
			d.off += int64(n)
			return nil, doff, nil
		}
		first, err := d.readByteAt()
		if err != nil {
			return nil, doff, short(0, err)
		}
		if !tableBatch(first) {
			d.off = doff + int64(n)
			return nil, doff, nil
		}
		b := g.alloc(n)
		k, err := d.ra.ReadAt(b, doff)
		d.off = doff + int64(k)
		if k < n {
			return nil, doff, short(k, err)
		}
		return b, doff, nil
	}
	b := g.alloc(n)
	k, err := io.ReadFull(d.r, b)
	d.off += int64(k)
	if err != nil {
		return nil, doff, short(k, err)
	}
	return b, doff, nil
}

// shortBatch is the error of a batch of n bytes at input offset off of
// which only k could be read; err, the read's error, is named if it is
// not the end of the input.
func shortBatch(off int64, k, n int, err error) *Error {
	msg := fmt.Sprintf("failed to read full batch: read %d but wanted %d", k, n)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		msg += ": " + err.Error() // (an I/O error, not the end of the input)
	}
	return &Error{Offset: off, Msg: msg}
}

// readGeneration reads the next generation, up to its end marker; nil at
// the clean end of the input.
func (d *Decoder) readGeneration() (*generation, error) {
	g := &generation{t: &tables{}, chunks: d.chunks, mIdx: make(map[ThreadID]int), ra: d.ra}
	eof := func() (*generation, error) {
		// (The reference parser counts only event batches here.)
		if len(g.ms) != 0 {
			return nil, &Error{Offset: d.off, Msg: "incomplete generation found; trace likely truncated"}
		}
		return nil, nil
	}
	for {
		boff := d.off
		typ, err := d.readByte()
		if err == io.EOF {
			return eof()
		}
		if err != nil {
			return nil, &Error{Offset: d.off, Msg: err.Error()}
		}
		if typ == evEndOfGeneration {
			break
		}
		if typ != evEventBatch && typ != evExperimentalBatch {
			return nil, &Error{Offset: boff, Msg: fmt.Sprintf("expected batch event, got event %d", typ)}
		}
		exp := byte(0)
		if typ == evExperimentalBatch {
			if exp, err = d.readByte(); err == io.EOF {
				return eof() // (the reference parser takes this for the end too)
			} else if err != nil {
				return nil, &Error{Offset: d.off, Msg: err.Error()}
			}
		}
		gen, err := d.readUvarint("batch gen")
		if err != nil {
			return nil, err
		}
		m, err := d.readUvarint("batch M ID")
		if err != nil {
			return nil, err
		}
		ts, err := d.readUvarint("batch timestamp")
		if err != nil {
			return nil, err
		}
		size, err := d.readUvarint("batch size")
		if err != nil {
			return nil, err
		}
		if size > maxBatchSize {
			return nil, &Error{Offset: boff, Msg: fmt.Sprintf("invalid batch size %d, maximum is %d", size, maxBatchSize)}
		}
		b, doff, err := d.readBatch(g, exp, int(size))
		if err != nil {
			return nil, err
		}
		if g.gen == 0 {
			g.gen = gen
		}
		if gen == 0 {
			return nil, &Error{Offset: boff, Msg: "invalid generation number 0"}
		}
		if gen != g.gen {
			return nil, &Error{Offset: boff, Msg: "broken trace: missing end-of-generation event, or generations are interleaved"}
		}
		if g.minTs == 0 || ts < g.minTs {
			g.minTs = ts
		}
		if err := g.process(exp, ThreadID(m), ts, b, batch{time: ts, data: b, n: int(size), off: doff}); err != nil {
			if err == io.EOF {
				return nil, io.EOF
			}
			if e, ok := err.(*Error); ok {
				return nil, e
			}
			return nil, &Error{Offset: boff, Msg: err.Error()}
		}
	}
	d.chunks = g.chunks
	if !g.hasFreq {
		return nil, &Error{Offset: d.off, Msg: fmt.Sprintf("generation %d: no frequency event found", g.gen)}
	}
	if !g.hasClock {
		return nil, &Error{Offset: d.off, Msg: fmt.Sprintf("generation %d: no clock snapshot event found", g.gen)}
	}
	if err := g.t.validate(); err != nil {
		return nil, &Error{Offset: d.off, Msg: fmt.Sprintf("generation %d: %v", g.gen, err)}
	}
	for i := range g.cpu {
		g.cpu[i].time = g.mul(uint64(g.cpu[i].time))
	}
	slices.SortFunc(g.cpu, func(a, b cpuSample) int {
		switch {
		case a.time < b.time:
			return -1
		case a.time > b.time:
			return 1
		}
		return 0
	})
	return g, nil
}

// process files one batch: strings, stacks, CPU samples and the clock go
// to the generation's tables, event batches to their M.
func (g *generation) process(exp byte, m ThreadID, ts uint64, b []byte, ref batch) error {
	if exp == 0 && len(b) > 0 && tableBatch(b[0]) {
		switch b[0] {
		case evStrings:
			return g.addStrings(b, ref.off)
		case evStacks:
			return g.addStacks(b, ref.off)
		case evCPUSamples:
			return g.addCPUSamples(b, ref.off)
		case evSync:
			return g.setSync(b, ts, ref.off)
		}
	}
	if exp != 0 {
		return nil // experimental data: not read
	}
	i, ok := g.mIdx[m]
	if !ok {
		i = len(g.ms)
		g.mIdx[m] = i
		g.ms = append(g.ms, mBatches{m: m})
	}
	g.ms[i].batches = append(g.ms[i].batches, ref)
	return nil
}

// tableBatch reports whether a batch whose data starts with first holds
// strings, stacks, CPU samples or a clock, rather than an M's events.
func tableBatch(first byte) bool {
	switch first {
	case evStrings, evStacks, evCPUSamples, evSync:
		return true
	}
	return false
}

// byteReader reads varints from a batch, tracking the input offset.
type byteReader struct {
	b       []byte
	i       int
	off     int64 // input offset of b[0]
	eofEnds bool  // a varint missing at the end of the batch ends the trace
}

func (r *byteReader) uvarint(what string) (uint64, error) {
	if r.i == len(r.b) && r.eofEnds {
		// The reference parser reads most table batches with
		// binary.ReadUvarint, whose bare io.EOF at the end of the batch
		// it takes for the end of the trace: so does this decoder, so
		// that both accept the same traces.
		return 0, io.EOF
	}
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 {
		return 0, &Error{Offset: r.off + int64(r.i), Msg: "reading " + what + ": bad varint"}
	}
	r.i += n
	return v, nil
}

func (r *byteReader) errf(format string, args ...any) error {
	return &Error{Offset: r.off + int64(r.i), Msg: fmt.Sprintf(format, args...)}
}

func (g *generation) addStrings(b []byte, off int64) error {
	// One string holds the batch's bytes; the table's strings are slices of it.
	all := string(b)
	r := &byteReader{b: b, i: 1, off: off, eofEnds: true}
	for r.i < len(b) {
		if b[r.i] != evString {
			return r.errf("expected string event, got %d", b[r.i])
		}
		r.i++
		id, err := r.uvarint("string ID")
		if err != nil {
			return err
		}
		n, err := r.uvarint("string length")
		if err != nil {
			return err
		}
		if n > maxStringSize {
			return r.errf("invalid string size %d, maximum is %d", n, maxStringSize)
		}
		if uint64(len(b)-r.i) < n {
			return r.errf("failed to read full string: read %d but wanted %d", len(b)-r.i, n)
		}
		g.t.strings.add(id, all[r.i:r.i+int(n)])
		r.i += int(n)
	}
	return nil
}

func (g *generation) addStacks(b []byte, off int64) error {
	r := &byteReader{b: b, i: 1, off: off}
	t := g.t
	// A frame takes at least 4 bytes and most 6-8: the frame indexes grown
	// once for the batch, to at least twice their capacity, not by
	// append's 1.25x for a large slice (growing and copying them was 7% of
	// converting the corpus's stacks trace and 21% of its alloc trace,
	// whose generations hold tens of stack batches each).
	if need := len(b) / 6; cap(t.fidx)-len(t.fidx) < need {
		fidx := make([]uint32, len(t.fidx), max(2*cap(t.fidx), len(t.fidx)+need))
		copy(fidx, t.fidx)
		t.fidx = fidx
	}
	for r.i < len(b) {
		if b[r.i] != evStack {
			return r.errf("expected stack event, got %d", b[r.i])
		}
		r.i++
		r.eofEnds = true
		id, err := r.uvarint("stack ID")
		if err != nil {
			return err
		}
		n, err := r.uvarint("stack frame count")
		if err != nil {
			return err
		}
		r.eofEnds = false
		if n > maxFramesPerStack {
			return r.errf("invalid stack size %d, maximum is %d", n, maxFramesPerStack)
		}
		start := len(t.fidx)
		for range n {
			pc, err := r.uvarint("frame PC")
			if err != nil {
				return err
			}
			fn, err := r.uvarint("frame func ID")
			if err != nil {
				return err
			}
			file, err := r.uvarint("frame file ID")
			if err != nil {
				return err
			}
			line, err := r.uvarint("frame line")
			if err != nil {
				return err
			}
			t.fidx = append(t.fidx, t.addFrame(pc, fn, file, line))
		}
		t.stacks.add(id, pcRange{int32(start), int32(n)})
	}
	return nil
}

func (g *generation) addCPUSamples(b []byte, off int64) error {
	r := &byteReader{b: b, i: 1, off: off, eofEnds: true}
	for r.i < len(b) {
		if b[r.i] != evCPUSample {
			return r.errf("expected CPU sample event, got %d", b[r.i])
		}
		r.i++
		var v [5]uint64
		for k := range v {
			x, err := r.uvarint("CPU sample")
			if err != nil {
				return err
			}
			v[k] = x
		}
		s := cpuSample{time: Time(v[0]), m: ThreadID(v[1]), p: ProcID(v[2]), g: GoID(v[3])}
		if v[3] == 0 {
			s.g = exptrace.NoGoroutine
		}
		g.cpu = append(g.cpu, s)
	}
	return nil
}

func (g *generation) setSync(b []byte, ts uint64, off int64) error {
	r := &byteReader{b: b, i: 1, off: off, eofEnds: true}
	last := ts
	for r.i < len(b) {
		typ := b[r.i]
		r.i++
		switch typ {
		case evFrequency:
			if g.hasFreq {
				return r.errf("found multiple frequency events")
			}
			f, err := r.uvarint("frequency")
			if err != nil {
				return err
			}
			g.setFreq(f)
			// (as the reference: a zero frequency is none)
			g.hasFreq = g.freq != 0
		case evClockSnapshot:
			if g.hasClock {
				return r.errf("found multiple clock snapshot events")
			}
			g.hasClock = true
			var v [4]uint64
			for k := range v {
				x, err := r.uvarint("clock snapshot")
				if err != nil {
					return err
				}
				v[k] = x
			}
			last += v[0]
			g.snapTime, g.snapMono = last, v[1]
			g.snapWall = time.Unix(int64(v[2]), int64(v[3]))
		default:
			return r.errf("expected frequency or clock snapshot event, got %d", typ)
		}
	}
	return nil
}
