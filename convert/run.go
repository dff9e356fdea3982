package convert

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/countio"
	"github.com/wakeshim/wakeshim/tracewire"
)

// TraceError reports input the trace parser rejected, on one line: where
// (Offset) and what. With the fast decoder the offset is that of the
// batch or event at fault (Exact); x/exp's parser reads ahead a
// generation at a time, so with it the bad spot is at or before Offset.
// Detail gives the parser's whole message (x/exp's can run to a hundred
// lines of its internal state).
type TraceError struct {
	Offset int64
	Exact  bool
	Err    error
}

func (e *TraceError) Error() string {
	msg := e.Err.Error()
	var we *tracewire.Error
	if errors.As(e.Err, &we) {
		msg = we.Msg
	}
	first, rest, _ := strings.Cut(msg, "\n")
	first = strings.TrimRight(first, ": ")
	if strings.TrimSpace(rest) != "" {
		first += " (more with -v)"
	}
	if e.Exact {
		return fmt.Sprintf("bad execution trace at byte %d: %s", e.Offset, first)
	}
	return fmt.Sprintf("bad execution trace at or before byte %d: %s", e.Offset, first)
}

// Detail returns the parser's whole message, which may run to many lines.
func (e *TraceError) Detail() string { return e.Err.Error() }

func (e *TraceError) Unwrap() error { return e.Err }

// Convert reads a whole execution trace from r and writes its records to
// out (which it does not close). A trace that is cut short or corrupt still
// has the records of every part before the damage written, and then its
// error returned as a *TraceError. progress, if not nil, is called with the
// number of input bytes read so far, every few thousand events.
//
// With the converter's own decoder, decoding and converting run in the
// calling goroutine (runInline says why) unless Config.Concurrent is set;
// with x/exp's parser, in two goroutines, handing over events in batches,
// so that on a machine with a spare core the conversion costs little more
// wall time than the parse alone.
func Convert(r io.Reader, cfg Config, out Output, progress func(read int64)) (Stats, error) {
	c, err := New(cfg, out)
	if err != nil {
		return Stats{}, err
	}
	if f, ok := r.(*os.File); ok && c.cfg.Parser == ParserFast {
		if d := fileDecoder(f); d != nil {
			return c.decode(d, d.Offset, progress)
		}
	}
	cr := &countio.Reader{R: r}
	br := bufio.NewReaderSize(cr, 64<<10)
	head, _ := br.Peek(len(tracewire.Header))
	if c.cfg.Parser == ParserFast {
		if tracewire.Supported(head) {
			// The decoder reads what br holds, then cr through a
			// buffer of its own, whose small size lets its batch reads
			// go to cr directly: each byte of the trace is copied
			// once, not twice (see tracewire.ReadBufferSize).
			held, _ := br.Peek(br.Buffered())
			d, err := tracewire.NewDecoder(io.MultiReader(bytes.NewReader(held), cr))
			if err != nil {
				return c.Stats(), &TraceError{Offset: 0, Exact: true, Err: err}
			}
			return c.decode(d, func() int64 { return cr.N }, progress)
		}
		if bytes.HasPrefix(head, []byte("go 1.")) {
			c.stats.Fallbacks++ // a trace of another format version
		}
	}
	c.stats.Parser = ParserExp
	tr, err := exptrace.NewReader(br)
	if err != nil {
		return c.Stats(), &TraceError{Offset: cr.N, Err: err}
	}
	return c.run(func() int64 { return cr.N }, progress, expSource(tr, cr))
}

// fileDecoder returns a decoder of f if it is a regular file read from
// its start, holding a trace the decoder reads; nil otherwise (f is then
// as it was, read as any other reader). The decoder then reads the trace
// where it lies in the file, each M's batch when its events come
// (tracewire.NewFileDecoder says why).
func fileDecoder(f *os.File) *tracewire.Decoder {
	if pos, err := f.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	d, err := tracewire.NewFileDecoder(f, fi.Size())
	if err != nil {
		return nil
	}
	return d
}

// decode converts the events of the converter's own decoder d; read
// gives the input bytes read so far.
func (c *Converter) decode(d *tracewire.Decoder, read func() int64, progress func(int64)) (Stats, error) {
	c.stats.Parser = ParserFast
	if c.cfg.Concurrent {
		return c.run(read, progress, decoderSource(d, batchLen))
	}
	if hotLane {
		d.SetSink(c)
		c.inSink = d.InSink
	}
	return c.runInline(read, progress, decoderSource(d, inlineLen))
}

// decoderSource fills batches from the converter's own decoder.
func decoderSource(d *tracewire.Decoder, n int) func(*batch) error {
	return func(b *batch) error {
		var err error
		b.wevs, err = d.Fill(b.wevs, n)
		switch err {
		case nil, io.EOF:
			return err
		}
		off := d.Offset()
		var we *tracewire.Error
		if errors.As(err, &we) {
			off = we.Offset
		}
		return &TraceError{Offset: off, Exact: true, Err: err}
	}
}

// expSource fills batches from x/exp's Reader.
func expSource(tr *exptrace.Reader, cr *countio.Reader) func(*batch) error {
	return func(b *batch) error {
		for len(b.evs) < batchLen {
			ev, err := tr.ReadEvent()
			if err != nil {
				if err == io.EOF {
					return io.EOF
				}
				return &TraceError{Offset: cr.N, Err: err}
			}
			b.evs = append(b.evs, ev)
		}
		return nil
	}
}

const batchLen = 1024

// hotBatch is the most Hot records runInline batches (20 bytes each).
const hotBatch = 256

// inlineLen is the batch length of runInline: the events of a batch are
// read back while they are still in the core's first-level cache.
const inlineLen = 64

// runInline converts the events fill gives in this goroutine alone, in
// small batches. It is the default with the converter's own decoder:
// handing its events to a second goroutine, as run does, costs more CPU
// than either side saves (the 136-byte events cross cores, and when no
// core is spare the two goroutines take turns on one, each refilling its
// caches): on the busy trace of make bench, 0.59 s of CPU inline, 0.69 s
// in two goroutines on an idle machine and 0.92 s on a busy one; the
// wall time is 0.59 s against 0.45 s (docs/decoder.md).
func (c *Converter) runInline(read func() int64, progress func(int64), fill func(*batch) error) (st Stats, err error) {
	defer func() {
		// Nor the converter on what the decoder let through (guardFill
		// covers the decoder): the process (the shim's host, above all)
		// must outlive bad input.
		if p := recover(); p != nil {
			st, err = c.Stats(), &TraceError{Offset: read(), Err: fmt.Errorf("converter panicked: %v", p)}
		}
	}()
	b := &batch{}
	if hotLane && c.bin != nil {
		// The Hot records are batched, written in runs by the end of
		// the Fill that made them (flushHots): a Write and a call for
		// each record cost 4% of a conversion.
		c.hots = make([]format.Hot, 0, hotBatch)
	}
	var readErr error
	for n := 0; readErr == nil; n++ {
		b.wevs = b.wevs[:0]
		readErr = guardFill(fill, b, read, c.inSink)
		for i := range b.wevs {
			if err := c.consume(&b.wevs[i]); err != nil {
				return c.Stats(), err
			}
		}
		if err := c.flushHots(); err != nil {
			return c.Stats(), c.fail(err)
		}
		if progress != nil && n%64 == 0 {
			progress(read())
		}
	}
	if progress != nil {
		progress(read())
	}
	if err := c.Close(); err != nil {
		return c.Stats(), err
	}
	if readErr == io.EOF {
		readErr = nil
	}
	return c.Stats(), readErr
}

// guardFill calls fill, a panic of the parser's on bad input made a
// *TraceError: the conversion is then closed (the blocks still open
// reported) with the events before, as for any other bad input. A panic
// of the converter's, in the decoder's sink (inSink, if not nil, says),
// is passed on: runInline reports it, without closing a converter left
// half-way.
func guardFill(fill func(*batch) error, b *batch, read func() int64, inSink func() bool) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if inSink != nil && inSink() {
				panic(p)
			}
			err = &TraceError{Offset: read(), Err: fmt.Errorf("trace parser panicked: %v", p)}
		}
	}()
	return fill(b)
}

// run converts the events fill gives, parsing in one goroutine and
// converting in this one.
func (c *Converter) run(read func() int64, progress func(int64), fill func(*batch) error) (st Stats, err error) {
	full := make(chan *batch, 4)
	free := make(chan *batch, 5)
	for range cap(free) {
		free <- &batch{}
	}
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var b *batch
			select {
			case b = <-free:
			case <-stop:
				return
			}
			b.evs, b.wevs = b.evs[:0], b.wevs[:0]
			// (The parser must not take the process, the shim's host
			// above all, down with it on bad input: guardFill.)
			b.err = guardFill(fill, b, read, nil)
			b.read = read()
			full <- b
			if b.err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		for range full { // let the parser finish
		}
	}()
	var lastRead int64 // (read is the parsing goroutine's)
	defer func() {
		// x/exp's StateTransition panics on some corrupt statuses its
		// parser let through: that is the input's fault too.
		if p := recover(); p != nil {
			st, err = c.Stats(), &TraceError{Offset: lastRead, Err: fmt.Errorf("trace parser panicked: %v", p)}
		}
	}()

	var readErr error
	for b := range full {
		lastRead = b.read
		for i := range b.evs {
			if err := c.Event(&b.evs[i]); err != nil {
				return c.Stats(), err
			}
		}
		for i := range b.wevs {
			if err := c.consume(&b.wevs[i]); err != nil {
				return c.Stats(), err
			}
		}
		if progress != nil {
			progress(b.read)
		}
		if b.err != nil {
			if b.err != io.EOF {
				readErr = b.err
			}
			break
		}
		clear(b.evs) // drop references to parsed generations
		clear(b.wevs)
		free <- b
	}
	if err := c.Close(); err != nil {
		return c.Stats(), err
	}
	return c.Stats(), readErr
}

// batch is a run of events handed from the parsing goroutine to the
// converting one: x/exp's (evs) or the decoder's (wevs).
type batch struct {
	evs  []exptrace.Event
	wevs []tracewire.Event
	read int64 // input bytes read when the batch was full
	err  error // io.EOF or a *TraceError after the last event
}

// IsTraceError reports whether err is the input's fault (a *TraceError)
// rather than the output's.
func IsTraceError(err error) bool {
	var te *TraceError
	return errors.As(err, &te)
}
