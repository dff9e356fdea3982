package convert

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/tracewire/tracetest"
)

// resolved records a conversion with its ids resolved to the strings they
// stand for (spawn locations, frames), so that two conversions compare
// whatever ids they chose.
type resolved struct {
	seg    int
	recs   []string
	locs   map[uint16]string
	frames map[uint16]string
	lastTS []uint32 // per segment
	back   string   // the first timestamp that went back, if any
}

func newResolved() *resolved {
	return &resolved{seg: 1, locs: map[uint16]string{}, frames: map[uint16]string{}, lastTS: []uint32{0}}
}

func (r *resolved) NextSegment() error {
	r.seg++
	clear(r.locs)
	clear(r.frames)
	r.lastTS = append(r.lastTS, 0)
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
		last := &r.lastTS[len(r.lastTS)-1]
		if rec.TS < *last && r.back == "" {
			r.back = b.String()
		}
		*last = max(*last, rec.TS)
	}
	r.recs = append(r.recs, b.String())
	return nil
}

// convertBoth converts in with each parser.
func convertBoth(in []byte, cfg Config) (exp, fast *resolved, expErr, fastErr error) {
	exp, fast = newResolved(), newResolved()
	cfg.Parser = ParserExp
	_, expErr = Convert(bytes.NewReader(in), cfg, exp, nil)
	cfg.Parser = ParserFast
	_, fastErr = Convert(bytes.NewReader(in), cfg, fast, nil)
	return
}

// sameRecords reports how two conversions differ ("" if they do not): the
// same records as sorted multisets, timestamps non-decreasing in each.
func sameRecords(exp, fast *resolved) string {
	if exp.back != "" {
		return "x/exp path: timestamp went back at " + exp.back
	}
	if fast.back != "" {
		return "fast path: timestamp went back at " + fast.back
	}
	a, b := slices.Clone(exp.recs), slices.Clone(fast.recs)
	slices.Sort(a)
	slices.Sort(b)
	if len(a) != len(b) {
		return fmt.Sprintf("x/exp path: %d records, fast path: %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("records differ:\nx/exp: %s\nfast:  %s", a[i], b[i])
		}
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

// wholeTraces returns the traces the whole-trace comparisons run on: every
// testdata trace, the real programs' (testdata/realtraces), the small
// traces of each shape of the bench corpus (testdata/shapes), the busy
// trace of make bench when it is there, unless -short or -race, and the
// corpus's traces when $WAKESHIM_CORPUS names its directory (make bench).
// A shape's or the corpus's trace is named by its directory and base name
// (both have alloc.trace...).
func wholeTraces(t *testing.T) []wholeTrace {
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
	var trs []wholeTrace
	for _, name := range slices.Concat(names, real, shapes, corpus) {
		base := filepath.Base(name)
		if slices.Contains(shapes, name) || slices.Contains(corpus, name) {
			base = filepath.Base(filepath.Dir(name)) + "/" + base
		}
		if base == "busy.trace" && (testing.Short() || raceEnabled) {
			continue
		}
		in, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		trs = append(trs, wholeTrace{base, in})
	}
	return trs
}

// TestDifferential: on every testdata trace (the busy trace of make bench
// too, when it is there) and the real programs' traces
// (testdata/realtraces), both parsers give the same records.
func TestDifferential(t *testing.T) {
	for _, tr := range wholeTraces(t) {
		base, in := tr.base, tr.in
		for i, cfg := range diffConfigs {
			if (base == "busy.trace" || strings.HasPrefix(base, "corpus/")) && i > 0 {
				break // (one configuration on the large traces)
			}
			t.Run(fmt.Sprintf("%s/%d", base, i), func(t *testing.T) {
				exp, fast, expErr, fastErr := convertBoth(in, cfg)
				if expErr != nil || fastErr != nil {
					t.Fatalf("x/exp: %v; fast: %v", expErr, fastErr)
				}
				if d := sameRecords(exp, fast); d != "" {
					t.Fatal(d)
				}
				if len(exp.recs) == 0 {
					t.Fatal("no records")
				}
				if !slices.Equal(exp.recs, fast.recs) {
					t.Log("same records, in another order")
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
		exp, fast, expErr, fastErr := convertBoth(in, diffConfigs[i%len(diffConfigs)])
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
		if d := sameRecords(exp, fast); d != "" {
			t.Fatalf("mutation %d: %s", i, d)
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
		exp, fast, expErr, fastErr := convertBoth(in, Config{Ignore: SystemGoroutine})
		if (expErr == nil) != (fastErr == nil) {
			t.Fatalf("x/exp: %v; fast: %v", expErr, fastErr)
		}
		if expErr == nil {
			if d := sameRecords(exp, fast); d != "" {
				t.Fatal(d)
			}
		}
	})
}
