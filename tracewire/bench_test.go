package tracewire

import (
	"bytes"
	"io"
	"testing"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/tracewire/tracetest"
)

// BenchmarkDecode compares the decoder with x/exp's ReadEvent loop on
// the trace named by $WAKESHIM_BENCH_TRACE (default the busy trace of
// make bench), in one run: read the ratio of the two.
func BenchmarkDecode(b *testing.B) {
	in := tracetest.BenchTrace(b)
	b.Run("exp", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			r, err := exptrace.NewReader(bytes.NewReader(in))
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := r.ReadEvent(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("tracewire", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			d, err := NewDecoder(bytes.NewReader(in))
			if err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := d.Next(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
