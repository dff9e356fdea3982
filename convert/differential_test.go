package convert

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/tracewire/tracetest"
)

// resolved renders a conversion's records with their ids resolved to the
// strings they stand for (spawn locations, frames), so that two
// conversions compare whatever ids they chose. It passes them on in
// batches of resolvedBatch (the last one shorter) on out, and holds only
// the batch it fills and the current segment's definitions.
type resolved struct {
	seg    int
	batch  []string
	out    chan<- []string
	n      int // records
	locs   map[uint16]string
	frames map[uint16]string
	lastTS uint32 // in the current segment
	back   string // the first timestamp that went back, if any
}

const resolvedBatch = 256

func newResolved(out chan<- []string) *resolved {
	return &resolved{seg: 1, out: out, locs: map[uint16]string{}, frames: map[uint16]string{}}
}

func (r *resolved) NextSegment() error {
	r.seg++
	clear(r.locs)
	clear(r.frames)
	r.lastTS = 0
	return nil
}

func (r *resolved) Close() error { return nil }

func (r *resolved) WriteRecord(rec *format.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "seg%d %v ts=%d task=%d worker=%d local=%d wait=%d", r.seg, rec.Code, rec.TS, rec.Task, rec.Worker, rec.LocalQ, rec.SchedWait)
	switch rec.Code {
	case format.CodeSpawnLocationDef:
		r.locs[rec.ID] = rec.Str
		return nil
	case format.CodeFrameDef:
		r.frames[rec.ID] = rec.Str
		return nil
	case format.CodePollStart, format.CodeTaskSpawn:
		fmt.Fprintf(&b, " loc=%q", r.locs[rec.SpawnLoc])
	case format.CodeWakeEvent:
		fmt.Fprintf(&b, " waker=%d", rec.Waker)
	case format.CodeTaskPending:
		fmt.Fprintf(&b, " dur=%d", rec.Duration)
		for _, id := range rec.Frames {
			fmt.Fprintf(&b, " %q", r.frames[id])
		}
	case format.CodeQueueSample:
		fmt.Fprintf(&b, " global=%d", rec.GlobalQ)
	case format.CodeWorkerPark, format.CodeWorkerUnpark:
		fmt.Fprintf(&b, " cpu=%d", rec.CPU)
	}
	if rec.Code != format.CodeTaskSpawn {
		if rec.TS < r.lastTS && r.back == "" {
			r.back = b.String()
		}
		r.lastTS = max(r.lastTS, rec.TS)
	}
	r.n++
	r.batch = append(r.batch, b.String())
	if len(r.batch) == resolvedBatch {
		r.out <- r.batch
		r.batch = make([]string, 0, resolvedBatch)
	}
	return nil
}

// conversion is one parser's side of convertBoth.
type conversion struct {
	ch  chan []string
	res *resolved
	err error
}

// start converts the trace open gives with cfg in a goroutine of its own,
// its records on c.ch, which it closes at the end (c.res and c.err are
// then set).
func start(open func() io.Reader, cfg Config) *conversion {
	c := &conversion{ch: make(chan []string, 2)}
	c.res = newResolved(c.ch)
	r := open()
	go func() {
		defer close(c.ch)
		_, c.err = Convert(r, cfg, c.res, nil)
		if len(c.res.batch) > 0 {
			c.ch <- c.res.batch
		}
	}()
	return c
}

// diff is what convertBoth found.
type diff struct {
	expErr, fastErr error
	nexp, nfast     int    // records
	expBack         string // the first record whose timestamp went back
	fastBack        string
	// The least (in string order) of the records one conversion has more
	// often than the other, "" if none: where their sorted lists differ.
	onlyExp, onlyFast string
	reordered         bool // the same records, in another order
	window            int  // the most records unmatched at a time
}

// convertBoth converts a trace with each parser at the same time, and
// compares their records as they come, in batches of the same size: a
// record of one is matched with the same record of the other whatever
// their order. It holds the records not matched yet (the parsers' orders
// differ only locally: at most a few thousand on the corpus's traces),
// not the conversions. open gives a reader of the trace, a new one each
// call.
func convertBoth(open func() io.Reader, cfg Config) diff {
	cfg.Parser = ParserExp
	exp := start(open, cfg)
	cfg.Parser = ParserFast
	fast := start(open, cfg)
	unmatched := map[string]int{} // x/exp's count less the fast path's
	var d diff
	count := func(recs []string, by int) {
		for _, r := range recs {
			n := unmatched[r] + by
			if n == 0 {
				delete(unmatched, r)
			} else {
				unmatched[r] = n
			}
		}
	}
	for {
		a, aok := <-exp.ch
		b, bok := <-fast.ch
		if !aok && !bok {
			break
		}
		if !slices.Equal(a, b) {
			d.reordered = true
		}
		count(a, 1)
		count(b, -1)
		d.window = max(d.window, len(unmatched))
	}
	for r, n := range unmatched {
		if n > 0 && (d.onlyExp == "" || r < d.onlyExp) {
			d.onlyExp = r
		}
		if n < 0 && (d.onlyFast == "" || r < d.onlyFast) {
			d.onlyFast = r
		}
	}
	d.expErr, d.fastErr = exp.err, fast.err
	d.nexp, d.nfast = exp.res.n, fast.res.n
	d.expBack, d.fastBack = exp.res.back, fast.res.back
	return d
}

// bytesOf opens a trace in memory.
func bytesOf(in []byte) func() io.Reader {
	return func() io.Reader { return bytes.NewReader(in) }
}

// sameRecords reports how two conversions differ ("" if they do not): the
// same records as multisets, timestamps non-decreasing in each.
func sameRecords(d diff) string {
	if d.expBack != "" {
		return "x/exp path: timestamp went back at " + d.expBack
	}
	if d.fastBack != "" {
		return "fast path: timestamp went back at " + d.fastBack
	}
	if d.nexp != d.nfast {
		return fmt.Sprintf("x/exp path: %d records, fast path: %d", d.nexp, d.nfast)
	}
	if d.onlyExp != "" || d.onlyFast != "" {
		return fmt.Sprintf("records differ:\nx/exp: %s\nfast:  %s", d.onlyExp, d.onlyFast)
	}
	return ""
}

var diffConfigs = []Config{
	{},
	{Ignore: SystemGoroutine, Threshold: 100 * 1000, SampleInterval: -1},
	{Ignore: TracerGoroutine, SegmentDuration: 50 * 1000 * 1000},
	// The fast decoder in a goroutine of its own (as report runs it).
	{Ignore: SystemGoroutine, Concurrent: true},
}

// wholeTrace is a trace the whole-trace comparisons read (wholeTraces).
type wholeTrace struct {
	base string // file name
	in   []byte
}

// namedTrace is a trace file the whole-trace comparisons read.
type namedTrace struct {
	base string // file name (with its directory for a shape's or the corpus's)
	path string
}

// traceNames returns the traces the whole-trace comparisons run on: every
// testdata trace, the real programs' (testdata/realtraces), the small
// traces of each shape of the bench corpus (testdata/shapes), the busy
// trace of make bench when it is there, unless -short or -race, and the
// corpus's traces when $WAKESHIM_CORPUS names its directory (make bench).
// A shape's or the corpus's trace is named by its directory and base name
// (both have alloc.trace...).
func traceNames(t *testing.T) []namedTrace {
	names, _ := filepath.Glob(traceFile("*.trace"))
	real, _ := filepath.Glob(filepath.Join("..", "testdata", "realtraces", "*.trace"))
	if len(real) == 0 {
		t.Fatal("no real traces in testdata/realtraces")
	}
	shapes, _ := filepath.Glob(filepath.Join("..", "testdata", "shapes", "*.trace"))
	if len(shapes) < 9 {
		t.Fatalf("%d traces in testdata/shapes, want 9 (make shapes)", len(shapes))
	}
	var corpus []string
	if dir := os.Getenv("WAKESHIM_CORPUS"); dir != "" {
		corpus, _ = filepath.Glob(filepath.Join(dir, "*.trace"))
		if len(corpus) == 0 {
			t.Fatalf("WAKESHIM_CORPUS=%s: no traces (make corpus)", dir)
		}
	}
	var trs []namedTrace
	for _, name := range slices.Concat(names, real, shapes, corpus) {
		base := filepath.Base(name)
		if slices.Contains(shapes, name) || slices.Contains(corpus, name) {
			base = filepath.Base(filepath.Dir(name)) + "/" + base
		}
		if base == "busy.trace" && (testing.Short() || raceEnabled) {
			continue
		}
		trs = append(trs, namedTrace{base, name})
	}
	return trs
}

// wholeTraces returns traceNames' traces read into memory.
func wholeTraces(t *testing.T) []wholeTrace {
	var trs []wholeTrace
	for _, tr := range traceNames(t) {
		in, err := os.ReadFile(tr.path)
		if err != nil {
			t.Fatal(err)
		}
		trs = append(trs, wholeTrace{tr.base, in})
	}
	return trs
}

// TestDifferential: on every testdata trace (the busy trace of make bench
// too, when it is there, and the corpus's with $WAKESHIM_CORPUS), the real
// programs' traces (testdata/realtraces) and the shapes', both parsers
// give the same records. The trace is read from its file by each
// conversion, as convert and report read it (the fast path with the file
// decoder) in configurations 0 and 2, and as a stream (the file behind a
// plain io.Reader: the stream decoder) in 1 and 3; the records are
// compared as they come (convertBoth), so a 60 MB trace is compared in
// the memory of its conversions.
func TestDifferential(t *testing.T) {
	for _, tr := range traceNames(t) {
		base := tr.base
		for i, cfg := range diffConfigs {
			if (base == "busy.trace" || strings.HasPrefix(base, "corpus/")) && i > 0 {
				break // (one configuration on the large traces)
			}
			t.Run(fmt.Sprintf("%s/%d", base, i), func(t *testing.T) {
				open := func() io.Reader {
					f, err := os.Open(tr.path)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { f.Close() })
					if i%2 == 1 {
						return struct{ io.Reader }{f}
					}
					return f
				}
				d := convertBoth(open, cfg)
				if d.expErr != nil || d.fastErr != nil {
					t.Fatalf("x/exp: %v; fast: %v", d.expErr, d.fastErr)
				}
				if s := sameRecords(d); s != "" {
					t.Fatal(s)
				}
				if d.nexp == 0 {
					t.Fatal("no records")
				}
				if d.reordered {
					t.Logf("same records, in another order (at most %d unmatched at a time)", d.window)
				}
			})
		}
	}
}

// TestDifferentialMutated: on thousands of damaged traces, both parsers
// give the same records, or both reject the input.
func TestDifferentialMutated(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	seeds := tracetest.Seeds(t)
	rng := rand.New(rand.NewPCG(2, 2))
	rejected := 0
	for i := range n {
		in := tracetest.Mutate(rng, seeds[rng.IntN(len(seeds))])
		d := convertBoth(bytesOf(in), diffConfigs[i%len(diffConfigs)])
		expErr, fastErr := d.expErr, d.fastErr
		if (expErr == nil) != (fastErr == nil) {
			t.Fatalf("mutation %d: x/exp: %v; fast: %v", i, expErr, fastErr)
		}
		if expErr != nil {
			rejected++
			if !IsTraceError(fastErr) || strings.Contains(fastErr.Error(), "\n") {
				t.Fatalf("mutation %d: fast path error %q: want a one-line TraceError", i, fastErr)
			}
			continue
		}
		if s := sameRecords(d); s != "" {
			t.Fatalf("mutation %d: %s", i, s)
		}
	}
	t.Logf("%d mutations: %d rejected by both, %d converted to the same records", n, rejected, n-rejected)
}

// FuzzDifferentialConvert: for any input, both parsers give the same
// records or both reject it.
func FuzzDifferentialConvert(f *testing.F) {
	for _, b := range tracetest.Seeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := convertBoth(bytesOf(in), Config{Ignore: SystemGoroutine})
		if (d.expErr == nil) != (d.fastErr == nil) {
			t.Fatalf("x/exp: %v; fast: %v", d.expErr, d.fastErr)
		}
		if d.expErr == nil {
			if s := sameRecords(d); s != "" {
				t.Fatal(s)
			}
		}
	})
}

// TestConvertBoth: convertBoth counts each conversion's records and
// finds the least record one has more often than the other: given one
// trace for both, none; given two (the x/exp path one, the fast path
// another), each one's count and a record of each the other has not.
func TestConvertBoth(t *testing.T) {
	in, err := os.ReadFile(traceFile("pingpong.trace"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(traceFile("mutex.trace"))
	if err != nil {
		t.Fatal(err)
	}
	one := convertBoth(bytesOf(in), Config{})
	if s := sameRecords(one); s != "" || one.nexp == 0 || one.reordered || one.window != 0 {
		t.Fatalf("one trace: %q %+v", s, one)
	}
	two := convertBoth(bytesOf(other), Config{})
	calls := 0
	d := convertBoth(func() io.Reader {
		calls++
		if calls == 1 {
			return bytes.NewReader(in)
		}
		return bytes.NewReader(other)
	}, Config{})
	if d.expErr != nil || d.fastErr != nil || d.nexp != one.nexp || d.nfast != two.nexp || d.onlyExp == "" || d.onlyFast == "" || !d.reordered {
		t.Fatalf("two traces: %+v", d)
	}
	if s, want := sameRecords(d), fmt.Sprintf("x/exp path: %d records, fast path: %d", one.nexp, two.nexp); s != want {
		t.Fatalf("two traces: %q, want %q", s, want)
	}
}
