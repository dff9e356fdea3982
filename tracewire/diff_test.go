package tracewire

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	exptrace "golang.org/x/exp/trace"
)

// describe renders what the converter reads of an event, stacks as frame
// strings, so that the two paths can be compared.
func describe(e *Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d k%d", e.Time, e.Kind)
	switch e.Kind {
	case KindSync:
		if e.Clock != nil {
			fmt.Fprintf(&b, " clock=%d/%d/%d", e.Clock.Trace, e.Clock.Mono, e.Clock.Wall.UnixNano())
		}
	case KindGo, KindProc:
		fmt.Fprintf(&b, " g=%d p=%d %d->%d cur=%d/%d r=%q", e.G, e.P, e.From, e.To, e.CurG, e.CurP, e.Reason)
		if e.Kind == KindGo {
			fmt.Fprintf(&b, " ts=%v", frames(e.TStack))
			if e.From == uint8(exptrace.GoNotExist) {
				fmt.Fprintf(&b, " s=%v", frames(e.Stack))
			}
		}
	}
	return b.String()
}

func frames(s Stack) string {
	if s == NoStack {
		return "none"
	}
	var b strings.Builder
	b.WriteString("[")
	for f := range s.Frames() {
		fmt.Fprintf(&b, "%s %s:%d %x;", f.Func, f.File, f.Line, f.PC)
	}
	b.WriteString("]")
	return b.String()
}

// expEvents and wireEvents return the descriptions of a trace's events by
// each path, and the error that ended it (nil at a clean end).
func expEvents(in []byte) (out []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	r, err := exptrace.NewReader(bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	var e Event
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		FromExpEvent(&ev, &e)
		out = append(out, describe(&e))
	}
}

// wireEvents decodes in from a stream (NewDecoder); fileEvents as a file
// (NewFileDecoder). wireBoth fails t unless both give the same events and
// the same error, and returns them.
func wireEvents(in []byte) (out []string, err error) {
	out, _, err = streamEvents(in)
	return out, err
}

func streamEvents(in []byte) ([]string, int64, error) {
	d, err := NewDecoder(bytes.NewReader(in))
	if err != nil {
		return nil, 0, err
	}
	return decoderEvents(d)
}

func fileEvents(in []byte) ([]string, int64, error) {
	d, err := NewFileDecoder(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		return nil, 0, err
	}
	return decoderEvents(d)
}

// wireBoth also compares where the two decoders stopped (Offset: what a
// caller reports as read).
func wireBoth(t testing.TB, in []byte) ([]string, error) {
	t.Helper()
	got, off, gerr := streamEvents(in)
	fgot, foff, ferr := fileEvents(in)
	if fmt.Sprint(gerr) != fmt.Sprint(ferr) {
		t.Fatalf("stream: %v; file: %v", gerr, ferr)
	}
	if !slices.Equal(got, fgot) {
		t.Fatalf("stream and file decoders differ: %d and %d events", len(got), len(fgot))
	}
	if off != foff {
		t.Fatalf("the stream decoder stopped at byte %d, the file decoder at %d (%v)", off, foff, gerr)
	}
	return got, gerr
}

// decoderEvents returns the descriptions of d's events, where it stopped
// and the error that ended it (nil at a clean end).
func decoderEvents(d *Decoder) (out []string, off int64, err error) {
	for {
		e, err := d.Next()
		if err == io.EOF {
			return out, d.Offset(), nil
		}
		if err != nil {
			return out, d.Offset(), err
		}
		out = append(out, describe(e))
	}
}

// realTraces returns the traces of real programs (testdata/realtraces),
// the small traces of each shape of the bench corpus (testdata/shapes),
// and, when $WAKESHIM_CORPUS names a directory (make bench sets it to
// make corpus's), the corpus's traces: for the differential tests only,
// they are too large to seed mutations.
func realTraces(t testing.TB) []string {
	names, _ := filepath.Glob("../testdata/realtraces/*.trace")
	if len(names) == 0 {
		t.Fatal("no real traces")
	}
	shapes, _ := filepath.Glob("../testdata/shapes/*.trace")
	if len(shapes) < 9 {
		t.Fatalf("%d traces in testdata/shapes, want 9 (make shapes)", len(shapes))
	}
	names = append(names, shapes...)
	if dir := os.Getenv("WAKESHIM_CORPUS"); dir != "" {
		corpus, _ := filepath.Glob(filepath.Join(dir, "*.trace"))
		if len(corpus) == 0 {
			t.Fatalf("WAKESHIM_CORPUS=%s: no traces (make corpus)", dir)
		}
		names = append(names, corpus...)
	}
	return names
}

// traceName names a trace file in a subtest: its directory and base
// name (the corpus and testdata/shapes have the same base names).
func traceName(name string) string {
	return filepath.Base(filepath.Dir(name)) + "/" + filepath.Base(name)
}

func testTraces(t testing.TB) []string {
	names, _ := filepath.Glob("../testdata/traces/*.trace")
	if len(names) == 0 {
		t.Fatal("no testdata traces")
	}
	return names
}

// TestSameEvents: on every testdata trace, the decoder gives the events
// x/exp's parser gives, in the same order, with the same times, states,
// reasons and stacks.
func TestSameEvents(t *testing.T) {
	for _, name := range append(testTraces(t), realTraces(t)...) {
		t.Run(traceName(name), func(t *testing.T) {
			in, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(name) == "busy.trace" && (testing.Short() || raceEnabled) {
				t.Skip("short")
			}
			compare(t, in)
		})
	}
}

func compare(t *testing.T, in []byte) {
	t.Helper()
	want, werr := expEvents(in)
	got, gerr := wireBoth(t, in)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("x/exp: %v; tracewire: %v", firstLine(werr), gerr)
	}
	if werr != nil {
		return // both reject: events before the error may differ
	}
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			t.Fatalf("event %d differs:\nx/exp:     %s\ntracewire: %s", i, want[i], got[i])
		}
	}
	if len(want) != len(got) {
		t.Fatalf("x/exp gives %d events, tracewire %d", len(want), len(got))
	}
}

func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
