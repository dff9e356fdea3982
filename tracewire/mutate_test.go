package tracewire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/wakeshim/wakeshim/tracewire/tracetest"
)

// TestMutatedEvents: on thousands of damaged traces, the decoder (from a
// stream and from a file: wireBoth) and x/exp give the same events, or
// all reject the input.
func TestMutatedEvents(t *testing.T) {
	n := 5000
	switch {
	case testing.Short():
		n = 500
	case raceEnabled:
		// (The race detector slows the decoders most: 5000 mutations,
		// each decoded three times, took 195 s. The fuzzers and a test
		// run without -race see the rest.)
		n = 3000
	}
	ss := tracetest.Seeds(t)
	rng := rand.New(rand.NewPCG(10, 10))
	rejected := 0
	for i := range n {
		in := tracetest.Mutate(rng, ss[rng.IntN(len(ss))])
		o := bytesOutcome(in, true)
		checkWire(t, o)
		werr, gerr := o.werr, o.gerr
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("mutation %d: x/exp: %v; tracewire: %v", i, firstLine(werr), gerr)
		}
		if werr != nil {
			rejected++
			checkError(t, gerr, len(in))
			continue
		}
		if o.nexp != o.nstream {
			t.Fatalf("mutation %d: x/exp gives %d events, tracewire %d", i, o.nexp, o.nstream)
		}
		if o.diff >= 0 {
			t.Fatalf("mutation %d: event %d differs:\nx/exp:     %s\ntracewire: %s", i, o.diff, o.diffExp, o.diffWire)
		}
	}
	t.Logf("%d mutations, %d rejected by both, %d accepted by both with the same events", n, rejected, n-rejected)
}

// checkError: a decoding error is an *Error naming an offset within the
// input, on one line.
func checkError(t testing.TB, err error, size int) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		if err == ErrUnsupported {
			return
		}
		t.Fatalf("not an *Error: %T %v", err, err)
	}
	if e.Offset < 0 || e.Offset > int64(size) {
		t.Fatalf("offset %d outside the input (%d bytes): %v", e.Offset, size, err)
	}
	if bytes.ContainsAny([]byte(e.Error()), "\n") {
		t.Fatalf("error of more than one line: %q", e.Error())
	}
}

// FuzzDecoder: no input makes the decoder panic or run away; every error
// names an offset in the input.
func FuzzDecoder(f *testing.F) {
	for _, s := range tracetest.Seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// (Both decoders, from a stream and from a file, giving the same.)
		if err := wireBoth(t, in); err != nil && err != ErrUnsupported {
			checkError(t, err, len(in))
		}
	})
}

// FuzzDifferential: the decoder and x/exp give the same events or both
// reject the input.
func FuzzDifferential(f *testing.F) {
	for _, s := range tracetest.Seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !Supported(in) {
			return
		}
		compare(t, in)
	})
}
