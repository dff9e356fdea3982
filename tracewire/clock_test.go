package tracewire

import (
	"bytes"
	"os"
	"testing"
)

// TestClockOf: the clock of a generation read from its batches' headers
// and sync batch alone is the one the decoder gives with the generation's
// first event; a cut or garbled generation gives none, without a panic.
func TestClockOf(t *testing.T) {
	for _, name := range []string{"mutex", "flightrec"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile("../testdata/traces/" + name + ".trace")
			if err != nil {
				t.Fatal(err)
			}
			r, _, err := NewReader(bytes.NewReader(in), false)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Clock == nil {
				t.Fatalf("the first event (%v) has no clock", ev.Kind)
			}
			got := ClockOf(in[len(Header):])
			if got == nil {
				t.Fatal("ClockOf: none")
			}
			if got.Trace != ev.Clock.Trace || !got.Wall.Equal(ev.Clock.Wall) || got.Mono != ev.Clock.Mono {
				t.Errorf("ClockOf = %+v, want %+v", *got, *ev.Clock)
			}
			// Cut anywhere before the sync batch ends, or garbled: none.
			for _, n := range []int{0, 1, 5, 17} {
				if c := ClockOf(in[len(Header) : len(Header)+n]); c != nil {
					t.Errorf("ClockOf of %d bytes = %+v", n, *c)
				}
			}
			bad := bytes.Clone(in[len(Header):])
			bad[0] = 0xff
			if c := ClockOf(bad); c != nil {
				t.Errorf("ClockOf of a garbled generation = %+v", *c)
			}
		})
	}
}

func FuzzClockOf(f *testing.F) {
	in, err := os.ReadFile("../testdata/traces/mutex.trace")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(in[len(Header):min(len(in), len(Header)+4096)])
	f.Fuzz(func(t *testing.T, b []byte) { ClockOf(b) })
}
