package tracewire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	exptrace "golang.org/x/exp/trace"
)

// Reader gives a trace's events as the converter reads them, from either
// parser: the decoder, or golang.org/x/exp/trace's Reader (the reference,
// and the fallback for traces of other format versions). The event is
// valid until the next call. io.EOF ends a trace read without error.
type Reader interface {
	Next() (*Event, error)
}

// NewReader returns a Reader of the trace in r: the decoder if it reads
// r's format version and exp is false, x/exp's Reader otherwise.
// fellBack reports that the decoder was wanted but the trace is of
// another version. Either reader is given r through a buffer of
// ReadBufferSize (see there).
func NewReader(r io.Reader, exp bool) (rd Reader, fellBack bool, err error) {
	br := bufio.NewReaderSize(r, ReadBufferSize)
	if !exp {
		head, _ := br.Peek(len(Header))
		if Supported(head) {
			d, err := NewDecoder(br)
			if err != nil {
				return nil, false, err
			}
			return guarded{d}, false, nil
		}
		// (Not a trace at all is x/exp's to reject, not a fallback.)
		fellBack = bytes.HasPrefix(head, []byte("go 1."))
	}
	xr, err := newExpReader(br)
	if err != nil {
		return nil, fellBack, err
	}
	return xr, fellBack, nil
}

// Filler is a Reader that can give the events of its fast lane to a Sink
// as it decodes them (the decoder's Fill and SetSink; NewReader's reader
// is one when it is the decoder).
type Filler interface {
	Reader
	SetSink(s Sink)
	Fill(buf []Event, n int) ([]Event, error)
}

// guarded is the decoder with a panic on bad input turned into an error:
// the shim's host and attach must outlive any trace. (The decoder is
// meant not to panic, and its fuzzers say so; this is the belt to those
// braces.)
type guarded struct{ d *Decoder }

func (g guarded) Next() (e *Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			e, err = nil, &Error{Offset: g.d.Offset(), Msg: fmt.Sprintf("trace decoder panicked: %v", p)}
		}
	}()
	return g.d.Next()
}

func (g guarded) SetSink(s Sink) { g.d.SetSink(s) }

func (g guarded) Fill(buf []Event, n int) (evs []Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			if g.d.InSink() {
				panic(p) // the sink's: not the input's fault
			}
			// The reader is done; the events queued before the step
			// that panicked are returned.
			evs, g.d.q, g.d.qhead, g.d.done = g.d.q[:g.d.stepMark], nil, 0, true
			err = &Error{Offset: g.d.Offset(), Msg: fmt.Sprintf("trace decoder panicked: %v", p)}
		}
	}()
	evs, err = g.d.Fill(buf, n)
	return evs, err
}

// expReader adapts x/exp's Reader. A panic of x/exp's on a corrupt trace
// (its StateTransition indexes by an unchecked status) is an error.
type expReader struct {
	r  *exptrace.Reader
	ev Event
}

func newExpReader(r io.Reader) (xr *expReader, err error) {
	defer func() {
		if p := recover(); p != nil {
			xr, err = nil, fmt.Errorf("trace parser panicked: %v", p)
		}
	}()
	tr, err := exptrace.NewReader(r)
	if err != nil {
		return nil, err
	}
	return &expReader{r: tr}, nil
}

func (r *expReader) Next() (e *Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			e, err = nil, fmt.Errorf("trace parser panicked: %v", p)
		}
	}()
	ev, err := r.r.ReadEvent()
	if err != nil {
		return nil, err
	}
	FromExpEvent(&ev, &r.ev)
	return &r.ev, nil
}
