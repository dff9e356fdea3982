package convert

import (
	"errors"
	"fmt"
	"io"

	exptrace "golang.org/x/exp/trace"
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
func Convert(r io.Reader, cfg Config, out Output, progress func(read int64)) (Stats, error) {
	c, err := New(cfg, out)
	if err != nil {
		return Stats{}, err
	}
	cr := &countingReader{r: r}
	tr, err := exptrace.NewReader(cr)
	if err != nil {
		return Stats{}, &TraceError{Offset: cr.n, Err: err}
	}
	var readErr error
	for {
		ev, err := tr.ReadEvent()
		if err != nil {
			if err != io.EOF {
				readErr = &TraceError{Offset: cr.n, Err: err}
			}
			break
		}
		if err := c.Event(&ev); err != nil {
			return c.Stats(), err
		}
		if progress != nil && c.stats.Events&0xfff == 0 {
			progress(cr.n)
		}
	}
	if err := c.Close(); err != nil {
		return c.Stats(), err
	}
	if progress != nil {
		progress(cr.n)
	}
	return c.Stats(), readErr
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// IsTraceError reports whether err is the input's fault (a *TraceError)
// rather than the output's.
func IsTraceError(err error) bool {
	var te *TraceError
	return errors.As(err, &te)
}
