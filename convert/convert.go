// Package convert turns Go execution-trace events, as parsed by
// golang.org/x/exp/trace, into v9 records (package format).
//
// It is one streaming pipeline shared by the offline converter (cmd/convert,
// `wakeshim convert`) and the in-process shim: feed a Converter events in
// trace order with Event and end with Close, or hand a whole trace to
// Convert. Memory grows with the number of live goroutines and of distinct
// strings (spawn locations, frames), never with the length of the trace.
//
// The implementation lives in internal/convcore, with the hooks that only the
// shim needs (carrying blocks across the tracer's pauses, goroutine dumps);
// this package is the offline API. docs/mapping.md describes the mapping from
// runtime events to records and its limits.
package convert

import (
	"io"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/internal/convcore"
)

// Config controls a Converter. Its zero value means the documented defaults
// (see the fields).
type Config = convcore.Config

// Output receives the records of a conversion, segment by segment. The
// record WriteRecord is given is reused for the next: an Output must not
// modify it, nor keep it past the call.
type Output = convcore.Output

// BinaryOutput is an Output whose records all go to one format.Writer
// (per segment): the converter writes most records to it directly. An
// Output that is a format.HotWriter is given those records as format.Hot
// values.
type BinaryOutput = convcore.BinaryOutput

// Stats counts what a conversion produced.
type Stats = convcore.Stats

// TraceError reports input the trace reader rejected, with the byte offset.
type TraceError = convcore.TraceError

// Stack is a stack of the trace as Config.Ignore is given it; GoID a
// goroutine id.
type (
	Stack = convcore.Stack
	GoID  = convcore.GoID
)

// Parser names the trace parser of Convert (Config.Parser).
type Parser = convcore.Parser

// The parsers: the converter's own decoder of the trace format (the
// default), and golang.org/x/exp/trace's Reader, the reference.
const (
	ParserFast = convcore.ParserFast
	ParserExp  = convcore.ParserExp
)

// Defaults and limits of Config.
const (
	DefaultThreshold      = convcore.DefaultThreshold
	DefaultSampleInterval = convcore.DefaultSampleInterval
	MaxSegmentDuration    = convcore.MaxSegmentDuration
)

// ErrClosed is returned by a Converter used after Close.
var ErrClosed = convcore.ErrClosed

// Converter is one streaming conversion. It is not safe for concurrent use.
type Converter struct{ c *convcore.Converter }

// New returns a Converter writing to out.
func New(cfg Config, out Output) (*Converter, error) {
	c, err := convcore.New(cfg, out)
	if err != nil {
		return nil, err
	}
	return &Converter{c}, nil
}

// Event consumes one trace event. Events must come in the order the trace
// reader returns them. An error from the Output is sticky.
func (c *Converter) Event(ev *exptrace.Event) error { return c.c.Event(ev) }

// Rotate ends the current segment and starts a new one at the time of the
// last event, e.g. because the output file reached its size limit.
func (c *Converter) Rotate() error { return c.c.Rotate() }

// Close ends the conversion: every goroutine still blocked at the last event
// for at least the threshold gets a TaskPending, with its duration up to
// that event. It does not close the Output.
func (c *Converter) Close() error { return c.c.Close() }

// Stats returns the counts so far.
func (c *Converter) Stats() Stats { return c.c.Stats() }

// Convert reads a whole execution trace from r and writes its records to
// out (which it does not close). A trace that is cut short or corrupt still
// has the records of every part before the damage written, and then its
// error returned as a *TraceError. progress, if not nil, is called with the
// number of input bytes read so far, every few thousand events.
//
// Given an *os.File of a regular file at its start, the converter's own
// decoder reads the file where it lies, each part when it is needed,
// rather than as a stream: it then holds one batch of events per thread
// rather than a whole generation of the trace (tens of megabytes on a busy
// program), and uses less CPU. The file must not change meanwhile; it is
// read with ReadAt, and left at its start.
func Convert(r io.Reader, cfg Config, out Output, progress func(read int64)) (Stats, error) {
	return convcore.Convert(r, cfg, out, progress)
}

// IsTraceError reports whether err is the input's fault (a *TraceError)
// rather than the output's.
func IsTraceError(err error) bool { return convcore.IsTraceError(err) }

// SystemGoroutine is a Config.Ignore function that leaves out the runtime's
// own goroutines (the GC's, the tracer's...), as goroutine dumps do.
func SystemGoroutine(id GoID, stack Stack) bool {
	return convcore.SystemGoroutine(id, stack)
}

// TracerGoroutine is a Config.Ignore function that leaves out only the
// execution tracer's own goroutines.
func TracerGoroutine(id GoID, stack Stack) bool {
	return convcore.TracerGoroutine(id, stack)
}
