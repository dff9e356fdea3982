package convert

import (
	"bytes"
	"io"
	"testing"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/tracewire/tracetest"
)

// FuzzConvert feeds mutated execution traces to the whole pipeline: it must
// never panic, and whatever it writes must decode.
func FuzzConvert(f *testing.F) {
	for _, b := range tracetest.Seeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var bin bytes.Buffer
		w, err := format.NewWriter(&bin)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Convert(bytes.NewReader(in), Config{}, anySegments{w}, nil)
		if err != nil && !IsTraceError(err) {
			t.Fatalf("not a TraceError: %v", err)
		}
		r, err := format.NewReader(&bin)
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// anySegments writes every segment to one stream (fine for decoding checks:
// only the header is not repeated).
type anySegments struct{ format.RecordWriter }

func (anySegments) NextSegment() error { return nil }

// hotSegments is anySegments with the Hot records' fast lanes
// (format.HotWriter, BinaryOutput).
type hotSegments struct{ *format.Writer }

func (hotSegments) NextSegment() error { return nil }

func (h hotSegments) BinaryWriter() *format.Writer { return h.Writer }

// hotOnly is hotSegments without BinaryWriter: a format.HotWriter.
type hotOnly struct{ *format.Writer }

func (hotOnly) NextSegment() error { return nil }
