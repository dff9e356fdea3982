package tracewire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	exptrace "golang.org/x/exp/trace"
)

// describe renders what the converter reads of an event, stacks as frame
// strings, so that the two paths can be compared. stacks caches the
// rendering of the generation's stacks (nil: none): rendered frame by
// frame for every event, the stacks were most of TestSameEvents' time on
// traces of deep stacks (the runtime tests' took 6 minutes of CPU). A
// handle stands for its stack while its generation lasts, and a
// generation begins with a Sync: the cache is cleared there.
func describe(e *Event, stacks map[Stack]string) string {
	render := func(s Stack) string {
		if stacks == nil {
			return frames(s)
		}
		f, ok := stacks[s]
		if !ok {
			f = frames(s)
			stacks[s] = f
		}
		return f
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d k%d", e.Time, e.Kind)
	switch e.Kind {
	case KindSync:
		clear(stacks)
		if e.Clock != nil {
			fmt.Fprintf(&b, " clock=%d/%d/%d", e.Clock.Trace, e.Clock.Mono, e.Clock.Wall.UnixNano())
		}
	case KindSTW:
		fmt.Fprintf(&b, " stw %d cur=%d/%d r=%q", e.To, e.CurG, e.CurP, e.Reason)
	case KindGo, KindProc:
		fmt.Fprintf(&b, " g=%d p=%d %d->%d cur=%d/%d r=%q", e.G, e.P, e.From, e.To, e.CurG, e.CurP, e.Reason)
		if e.Kind == KindGo {
			fmt.Fprintf(&b, " ts=%v", render(e.TStack))
			if e.From == uint8(exptrace.GoNotExist) {
				fmt.Fprintf(&b, " s=%v", render(e.Stack))
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

// events yields the descriptions of a trace's events by one parser, one
// at a time: next returns false at the end, err then says why (nil at a
// clean end). Only the current event is held, so that two parsers can be
// compared in lockstep on traces of any size.
type events interface {
	next() (string, bool)
	err() error
}

// expSource reads a trace with x/exp's parser (a panic in it is an error).
type expSource struct {
	r      *exptrace.Reader
	e      Event
	stacks map[Stack]string
	fail   error
	done   bool
}

func newExpSource(r io.Reader) *expSource {
	s := &expSource{stacks: map[Stack]string{}}
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.fail, s.done = fmt.Errorf("panic: %v", p), true
			}
		}()
		s.r, s.fail = exptrace.NewReader(r)
		s.done = s.fail != nil
	}()
	return s
}

func (s *expSource) next() (desc string, ok bool) {
	if s.done {
		return "", false
	}
	defer func() {
		if p := recover(); p != nil {
			s.fail, s.done, desc, ok = fmt.Errorf("panic: %v", p), true, "", false
		}
	}()
	ev, err := s.r.ReadEvent()
	if err != nil {
		if err != io.EOF {
			s.fail = err
		}
		s.done = true
		return "", false
	}
	FromExpEvent(&ev, &s.e)
	return describe(&s.e, s.stacks), true
}

func (s *expSource) err() error { return s.fail }

// wireSource reads a trace with the decoder, from a stream (NewDecoder) or
// a file (NewFileDecoder); off is where it stopped once it has ended.
type wireSource struct {
	d      *Decoder
	stacks map[Stack]string
	fail   error
	off    int64
	done   bool
}

func newWireSource(d *Decoder, err error) *wireSource {
	return &wireSource{d: d, stacks: map[Stack]string{}, fail: err, done: err != nil}
}

func (s *wireSource) next() (string, bool) {
	if s.done {
		return "", false
	}
	e, err := s.d.Next()
	if err != nil {
		if err != io.EOF {
			s.fail = err
		}
		s.off, s.done = s.d.Offset(), true
		return "", false
	}
	return describe(e, s.stacks), true
}

func (s *wireSource) err() error { return s.fail }

// outcome is what lockstep found: each parser's count of events and
// error, where the decoders stopped, and the first event at which x/exp
// and the stream decoder, or the stream and the file decoders, differ
// (an index of -1: none; an event one parser has and the other has not
// is a difference, at the shorter one's count).
type outcome struct {
	nexp, nstream, nfile    int
	werr, gerr, ferr        error
	off, foff               int64
	diff                    int // x/exp against the stream decoder
	diffExp, diffWire       string
	fileDiff                int // the stream against the file decoder
	fileDiffStr, fileDiffFl string
}

// lockstep reads the three parsers (exp may be nil: the decoders only)
// one event each at a time to their ends, comparing as it goes: it holds
// one event of each and the first difference found, whatever the
// trace's size.
func lockstep(exp events, stream, file *wireSource) outcome {
	o := outcome{diff: -1, fileDiff: -1}
	for {
		var w string
		wok := false
		if exp != nil {
			if w, wok = exp.next(); wok {
				o.nexp++
			}
		}
		g, gok := stream.next()
		if gok {
			o.nstream++
		}
		f, fok := file.next()
		if fok {
			o.nfile++
		}
		if !wok && !gok && !fok {
			break
		}
		if exp != nil && o.diff < 0 && (wok != gok || w != g) {
			o.diff, o.diffExp, o.diffWire = min(o.nexp, o.nstream)-1, w, g
			if wok != gok {
				o.diff++
			}
		}
		if o.fileDiff < 0 && (gok != fok || g != f) {
			o.fileDiff, o.fileDiffStr, o.fileDiffFl = min(o.nstream, o.nfile)-1, g, f
			if gok != fok {
				o.fileDiff++
			}
		}
	}
	if exp != nil {
		o.werr = exp.err()
	}
	o.gerr, o.ferr = stream.err(), file.err()
	o.off, o.foff = stream.off, file.off
	return o
}

// bytesOutcome runs lockstep on a trace in memory (exp: with x/exp too).
func bytesOutcome(in []byte, exp bool) outcome {
	var x events
	if exp {
		x = newExpSource(bytes.NewReader(in))
	}
	return lockstep(x,
		newWireSource(NewDecoder(bytes.NewReader(in))),
		newWireSource(NewFileDecoder(bytes.NewReader(in), int64(len(in)))))
}

// fileOutcome runs lockstep on a trace file, each parser reading it
// through a handle of its own (the file decoder with ReadAt, as convert
// and report read a file), so that not even the file is held in memory.
func fileOutcome(t testing.TB, name string) outcome {
	t.Helper()
	open := func() *os.File {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	xf, sf, ff := open(), open(), open()
	st, err := ff.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return lockstep(newExpSource(bufio.NewReader(xf)),
		newWireSource(NewDecoder(sf)),
		newWireSource(NewFileDecoder(ff, st.Size())))
}

// checkWire fails t unless the stream and the file decoders gave the same
// events and the same error, and stopped at the same byte (Offset: what
// a caller reports as read).
func checkWire(t testing.TB, o outcome) {
	t.Helper()
	if fmt.Sprint(o.gerr) != fmt.Sprint(o.ferr) {
		t.Fatalf("stream: %v; file: %v", o.gerr, o.ferr)
	}
	if o.fileDiff >= 0 {
		t.Fatalf("stream and file decoders differ: %d and %d events; event %d:\nstream: %s\nfile:   %s",
			o.nstream, o.nfile, o.fileDiff, o.fileDiffStr, o.fileDiffFl)
	}
	if o.off != o.foff {
		t.Fatalf("the stream decoder stopped at byte %d, the file decoder at %d (%v)", o.off, o.foff, o.gerr)
	}
}

// wireBoth fails t unless both decoders, from a stream and from a file,
// give the same events and the same error; it returns the error.
func wireBoth(t testing.TB, in []byte) error {
	t.Helper()
	o := bytesOutcome(in, false)
	checkWire(t, o)
	return o.gerr
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
// reasons and stacks. The parsers are read in lockstep, each from the
// file: the corpus's traces of make bench (60 MB) are compared in the
// memory of one event each, beside the parsers' own.
func TestSameEvents(t *testing.T) {
	for _, name := range append(testTraces(t), realTraces(t)...) {
		t.Run(traceName(name), func(t *testing.T) {
			if filepath.Base(name) == "busy.trace" && (testing.Short() || raceEnabled) {
				t.Skip("short")
			}
			checkOutcome(t, fileOutcome(t, name))
		})
	}
}

// compare fails t unless the decoders (from a stream and from a file) and
// x/exp give the same events of in, or all reject it.
func compare(t *testing.T, in []byte) {
	t.Helper()
	checkOutcome(t, bytesOutcome(in, true))
}

func checkOutcome(t *testing.T, o outcome) {
	t.Helper()
	checkWire(t, o)
	if (o.werr == nil) != (o.gerr == nil) {
		t.Fatalf("x/exp: %v; tracewire: %v", firstLine(o.werr), o.gerr)
	}
	if o.werr != nil {
		return // both reject: events before the error may differ
	}
	if o.diff >= 0 && o.diff < min(o.nexp, o.nstream) {
		t.Fatalf("event %d differs:\nx/exp:     %s\ntracewire: %s", o.diff, o.diffExp, o.diffWire)
	}
	if o.nexp != o.nstream {
		t.Fatalf("x/exp gives %d events, tracewire %d", o.nexp, o.nstream)
	}
}

func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// altered passes on the events of a parser but the k-th (from 0), which
// it changes, or, with drop, leaves out with all after it.
type altered struct {
	events
	k, n int
	drop bool
}

func (a *altered) next() (string, bool) {
	s, ok := a.events.next()
	if ok && a.n == a.k {
		if a.drop {
			return "", false
		}
		s += " altered"
	}
	if ok {
		a.n++
	}
	return s, ok
}

// TestLockstep: lockstep finds the first event at which the parsers
// differ, and an event one of them lacks, on a real trace; and with
// nothing altered, none.
func TestLockstep(t *testing.T) {
	in, err := os.ReadFile("../testdata/traces/pingpong.trace")
	if err != nil {
		t.Fatal(err)
	}
	run := func(a *altered) outcome {
		a.events = newExpSource(bytes.NewReader(in))
		return lockstep(a,
			newWireSource(NewDecoder(bytes.NewReader(in))),
			newWireSource(NewFileDecoder(bytes.NewReader(in), int64(len(in)))))
	}
	o := run(&altered{k: -1})
	if o.diff != -1 || o.fileDiff != -1 || o.werr != nil || o.gerr != nil || o.nexp != o.nstream || o.nexp < 10 {
		t.Fatalf("unaltered: %+v", o)
	}
	n := o.nexp
	o = run(&altered{k: 7})
	if o.diff != 7 || o.diffExp != o.diffWire+" altered" || o.fileDiff != -1 {
		t.Fatalf("event 7 altered: %+v", o)
	}
	o = run(&altered{k: n - 3, drop: true})
	if o.diff != n-3 || o.diffExp != "" || o.diffWire == "" || o.nexp != n-3 || o.nstream != n {
		t.Fatalf("events from %d of %d dropped: %+v", n-3, n, o)
	}
}

// TestSTWEvents: the decoder gives a GC-heavy trace's stop-the-world
// pauses as KindSTW events, each begin followed by its end on the same
// goroutine with the same reason, and both of the GC's reasons among
// them (TestSameEvents checks that x/exp gives the same ones).
func TestSTWEvents(t *testing.T) {
	f, err := os.Open("../testdata/shapes/alloc.trace")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := NewDecoder(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	open := map[GoID]string{}
	for {
		e, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != KindSTW {
			continue
		}
		if e.To == 1 {
			if r, ok := open[e.CurG]; ok {
				t.Fatalf("%d: STW %q begins on g%d inside %q", e.Time, e.Reason, e.CurG, r)
			}
			open[e.CurG] = e.Reason
			reasons[e.Reason]++
			continue
		}
		if r, ok := open[e.CurG]; !ok || r != e.Reason {
			t.Fatalf("%d: STW end %q on g%d, begun as %q (%v)", e.Time, e.Reason, e.CurG, r, ok)
		}
		delete(open, e.CurG)
	}
	for _, r := range []string{"GC sweep termination", "GC mark termination"} {
		if reasons[r] == 0 {
			t.Errorf("no STW %q in %v", r, reasons)
		}
	}
}
