package convcore

import (
	"errors"
	"fmt"
	"io"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/internal/countio"
)

// TraceError reports input the trace reader rejected. Offset is how many
// bytes of the input had been read when the error surfaced: the trace
// reader reads ahead a generation at a time, so the bad spot is at or
// before it.
type TraceError struct {
	Offset int64
	Err    error
}

func (e *TraceError) Error() string {
	return fmt.Sprintf("bad execution trace at or before byte %d: %v", e.Offset, e.Err)
}

func (e *TraceError) Unwrap() error { return e.Err }

// Convert reads a whole execution trace from r and writes its records to
// out (which it does not close). A trace that is cut short or corrupt still
// has the records of every part before the damage written, and then its
// error returned as a *TraceError. progress, if not nil, is called with the
// number of input bytes read so far, every few thousand events.
//
// Parsing and converting run in two goroutines, handing over events in
// batches, so that on a machine with a spare core the conversion costs
// little more wall time than the parse alone.
func Convert(r io.Reader, cfg Config, out Output, progress func(read int64)) (Stats, error) {
	c, err := New(cfg, out)
	if err != nil {
		return Stats{}, err
	}
	cr := &countio.Reader{R: r}
	tr, err := exptrace.NewReader(cr)
	if err != nil {
		return Stats{}, &TraceError{Offset: cr.N, Err: err}
	}

	const batchLen = 1024
	full := make(chan *batch, 4)
	free := make(chan *batch, 5)
	for range cap(free) {
		free <- &batch{evs: make([]exptrace.Event, 0, batchLen)}
	}
	stop := make(chan struct{})
	go func() {
		defer close(full)
		defer func() {
			// The trace parser is not ours; bad input must not take the
			// process (the shim's host, above all) down with it.
			if p := recover(); p != nil {
				full <- &batch{read: cr.N, err: &TraceError{Offset: cr.N, Err: fmt.Errorf("trace parser panicked: %v", p)}}
			}
		}()
		for {
			var b *batch
			select {
			case b = <-free:
			case <-stop:
				return
			}
			b.evs = b.evs[:0]
			for len(b.evs) < batchLen {
				ev, err := tr.ReadEvent()
				if err != nil {
					if err != io.EOF {
						b.err = &TraceError{Offset: cr.N, Err: err}
					} else {
						b.err = io.EOF
					}
					break
				}
				b.evs = append(b.evs, ev)
			}
			b.read = cr.N
			full <- b
			if b.err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		for range full { // let the reader finish
		}
	}()

	var readErr error
	for b := range full {
		for i := range b.evs {
			if err := c.Event(&b.evs[i]); err != nil {
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
		free <- b
	}
	if err := c.Close(); err != nil {
		return c.Stats(), err
	}
	return c.Stats(), readErr
}

// batch is a run of events handed from the parsing goroutine to the
// converting one.
type batch struct {
	evs  []exptrace.Event
	read int64 // input bytes read when the batch was full
	err  error // io.EOF or a *TraceError after the last event
}

// IsTraceError reports whether err is the input's fault (a *TraceError)
// rather than the output's.
func IsTraceError(err error) bool {
	var te *TraceError
	return errors.As(err, &te)
}
