package dumpdiffcmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
)

// End to end on the project's real data: testdata/traces/preblocked.trace
// converted by package convert, against the three goroutine dumps the
// traced program took while tracing (see testdata/README.md). P1
// (main.waitChan) and P2 (main.waitMutex) blocked before tracing started
// and were released while tracing; P3 (main.stuckForever) blocked before
// and is still blocked when the trace ends.

const tracesDir = "../../../testdata/traces"

// preFacts is testdata/traces/preblocked.json.
type preFacts struct {
	Main       uint64  `json:"main"`
	P1, P2, P3 preG    `json:"-"`
	Traced     float64 `json:"traced_before_release_ms"`
}

type preG struct {
	ID        uint64  `json:"id"`
	Func      string  `json:"func"`
	Reason    string  `json:"reason"`
	Released  bool    `json:"released"`
	Waker     uint64  `json:"waker"`
	WakerFunc string  `json:"waker_func"`
	BlockedMS float64 `json:"blocked_before_trace_ms"`
}

func readPreFacts(t *testing.T) *preFacts {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tracesDir, "preblocked.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f preFacts
	var gs struct{ P1, P2, P3 preG }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &gs); err != nil {
		t.Fatal(err)
	}
	f.P1, f.P2, f.P3 = gs.P1, gs.P2, gs.P3
	if f.P1.ID == 0 || f.P2.ID == 0 || f.P3.ID == 0 || f.P1.Waker == 0 || f.P2.Waker == 0 || f.P3.Released {
		t.Fatalf("preblocked.json: unexpected facts %+v", f)
	}
	return &f
}

// memSegments is a convert.Output keeping each segment in memory.
type memSegments struct {
	bufs []*bytes.Buffer
	w    *format.Writer
}

func (m *memSegments) open() error {
	b := new(bytes.Buffer)
	w, err := format.NewWriter(b)
	if err != nil {
		return err
	}
	m.bufs, m.w = append(m.bufs, b), w
	return nil
}

func (m *memSegments) WriteRecord(r *format.Record) error { return m.w.WriteRecord(r) }
func (m *memSegments) Close() error                       { return m.w.Close() }
func (m *memSegments) NextSegment() error {
	if err := m.w.Close(); err != nil {
		return err
	}
	return m.open()
}

// convertTrace converts an execution trace with package convert (cfg:
// convert.SystemGoroutine, as cmd/convert does by default, or nil, as
// with convert -runtime), and writes its segments as DIR/NAME.1.v9,
// DIR/NAME.2.v9, ...; it returns their paths.
func convertTrace(t *testing.T, trace string, ignore func(convert.GoID, convert.Stack) bool) []string {
	t.Helper()
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := &memSegments{}
	if err := out.open(); err != nil {
		t.Fatal(err)
	}
	if _, err := convert.Convert(f, convert.Config{Ignore: ignore}, out, nil); err != nil {
		t.Fatalf("converting %s: %v", trace, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	name := strings.TrimSuffix(filepath.Base(trace), filepath.Ext(trace))
	var files []string
	for i, b := range out.bufs {
		p := filepath.Join(dir, name+"."+string(rune('1'+i))+".v9")
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	return files
}

// pendingFrames returns the frame strings of the TaskPending records of
// task in the files (one slice per record).
func pendingFrames(t *testing.T, files []string, task uint64) [][]string {
	t.Helper()
	var out [][]string
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := format.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		frames := map[uint16]string{}
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			switch {
			case rec.Code == format.CodeFrameDef:
				frames[rec.ID] = rec.Str
			case rec.Code == format.CodeTaskPending && uint64(rec.Task) == task:
				var fs []string
				for _, id := range rec.Frames {
					fs = append(fs, frames[id])
				}
				out = append(out, fs)
			}
		}
	}
	return out
}

// groupOf returns the group whose normalised stack has fn as a frame, or
// nil.
func (r *jsonReport) groupOf(fn string) *jsonGroup {
	for i := range r.Groups {
		for _, f := range r.Groups[i].Frames {
			if strings.Fields(f)[0] == fn {
				return &r.Groups[i]
			}
		}
	}
	return nil
}

func (r *jsonReport) noStackGroup() *jsonGroup {
	for i := range r.Groups {
		if len(r.Groups[i].Frames) == 0 {
			return &r.Groups[i]
		}
	}
	return nil
}

// tableRow returns the line of the table that shows fn's group.
func tableRow(table, fn string) string {
	for _, l := range strings.Split(table, "\n") {
		if strings.Contains(l, " "+fn+" ") || strings.HasSuffix(l, " "+fn) {
			return l
		}
	}
	return ""
}

func TestPreblocked(t *testing.T) {
	t.Run("default", func(t *testing.T) { testPreblocked(t, convert.SystemGoroutine) })
	// With the runtime's goroutines in the records (convert -runtime),
	// dumpdiff leaves them out itself.
	t.Run("runtime", func(t *testing.T) { testPreblocked(t, nil) })
}

func testPreblocked(t *testing.T, ignore func(convert.GoID, convert.Stack) bool) {
	facts := readPreFacts(t)
	files := convertTrace(t, filepath.Join(tracesDir, "preblocked.trace"), ignore)

	// The converter's view of the three goroutines: P1 and P2 pending
	// without a stack (first seen blocked right before their wake), P3
	// with the tracer's status stack, from runtime.gopark down.
	for _, p := range []preG{facts.P1, facts.P2} {
		pf := pendingFrames(t, files, p.ID)
		if len(pf) != 1 || !slices.Equal(pf[0], []string{"[unknown]"}) {
			t.Errorf("records of %s (g%d): %q, want one TaskPending with frames [unknown] only", p.Func, p.ID, pf)
		}
	}
	// P3's reason comes from that stack (runtime.chanrecv: chan_receive).
	pf := pendingFrames(t, files, facts.P3.ID)
	if len(pf) != 1 || len(pf[0]) < 3 || pf[0][0] != "[chan_receive]" || !strings.HasPrefix(pf[0][1], "runtime.gopark ") ||
		!slices.ContainsFunc(pf[0], func(s string) bool { return strings.HasPrefix(s, facts.P3.Func+" ") }) {
		t.Fatalf("records of %s (g%d): %q, want one TaskPending: [chan_receive], runtime.gopark, ..., %s", facts.P3.Func, facts.P3.ID, pf, facts.P3.Func)
	}

	for _, tt := range []struct {
		dump string
		ids  bool
	}{
		{"preblocked.goroutines.debug2.txt", true},
		{"preblocked.goroutines.txt", false},
		{"preblocked.goroutines.pb.gz", false},
	} {
		dumpPath := filepath.Join(tracesDir, tt.dump)
		for _, lines := range []bool{false, true} {
			name := tt.dump
			var flags []string
			if lines {
				name += "/lines"
				flags = append(flags, "-lines")
			}
			t.Run(name, func(t *testing.T) {
				args := append(append(slices.Clone(flags), files...), dumpPath)
				js := mustRun(t, append([]string{"-json"}, args...)...)
				table := mustRun(t, append([]string{"-wide"}, args...)...)
				r := decode(t, js)

				// P3: blocked before the records began, still blocked at
				// their end, with a stack on both sides: matched by stack.
				g3 := r.groupOf(facts.P3.Func)
				if g3 == nil || g3.Mark != "both" || g3.MatchedByID || g3.InRecords != 1 || g3.InDump != 1 {
					t.Fatalf("%s: group %+v, want both (by stack), 1 pending, 1 in the dump", facts.P3.Func, g3)
				}
				if len(g3.Wakers) != 1 || g3.Wakers[0].Kind != "blocked at end" || g3.LastUS == nil || *g3.LastUS != r.Records.DurationUS {
					t.Errorf("%s: wakers %+v, last %v of %d: want still blocked at the end of the records", facts.P3.Func, g3.Wakers, g3.LastUS, r.Records.DurationUS)
				}
				if g3.RecordReasons["chan_receive"] != 1 {
					t.Errorf("%s: record wait reasons %v, want chan_receive (from its stack)", facts.P3.Func, g3.RecordReasons)
				}
				row3 := tableRow(table, facts.P3.Func)
				if !strings.Contains(row3, " both ") || strings.Contains(row3, "by id") || !strings.Contains(row3, "still blocked at end ×1") {
					t.Errorf("%s: table row %q", facts.P3.Func, row3)
				}

				released := []preG{facts.P1, facts.P2}
				if tt.ids {
					// debug=2: P1 and P2 are matched by goroutine id.
					if !slices.Equal(g3.IDsInRecords, []uint64{facts.P3.ID}) || !slices.Equal(g3.DumpIDs, []uint64{facts.P3.ID}) {
						t.Errorf("%s: ids %v, in records %v, want [%d]", facts.P3.Func, g3.DumpIDs, g3.IDsInRecords, facts.P3.ID)
					}
					if g3.DumpReasons[facts.P3.Reason] != 1 {
						t.Errorf("%s: dump wait reasons %v, want %q", facts.P3.Func, g3.DumpReasons, facts.P3.Reason)
					}
					for _, p := range released {
						g := r.groupOf(p.Func)
						if g == nil || g.Mark != "both" || !g.MatchedByID || g.InRecords != 1 || g.InDump != 1 ||
							!slices.Equal(g.IDsInRecords, []uint64{p.ID}) {
							t.Errorf("%s: group %+v, want both, matched by id %d", p.Func, g, p.ID)
							continue
						}
						if len(g.Wakers) == 0 || g.Wakers[0].Kind != "goroutine" || uint64(g.Wakers[0].Task) != p.Waker {
							t.Errorf("%s: wakers %+v, want g%d (%s)", p.Func, g.Wakers, p.Waker, p.WakerFunc)
						}
						if g.DumpReasons[p.Reason] != 1 {
							t.Errorf("%s: dump wait reasons %v, want %q", p.Func, g.DumpReasons, p.Reason)
						}
						// The pending lasted from the start of the records
						// to the release.
						if ms := float64(g.PendingMaxUS) / 1e3; ms < facts.Traced/2 || ms > facts.Traced*2 {
							t.Errorf("%s: pending %.3fms, want about %.3fms (traced before the release)", p.Func, ms, facts.Traced)
						}
						if row := tableRow(table, p.Func); !strings.Contains(row, "both (by id)") || !strings.Contains(row, "1/1") {
							t.Errorf("%s: table row %q, want both (by id), IDS 1/1", p.Func, row)
						}
					}
					if ns := r.noStackGroup(); ns != nil {
						t.Errorf("a group of pendings without a stack is left: %+v", ns)
					}
					if !strings.Contains(table, "by goroutine id too: 3 of the dump's goroutines pending in the records under the same stack, 0 under another") {
						t.Errorf("table header:\n%s", table)
					}
					return
				}
				// debug=0/1: no ids; P1 and P2 are dump only, their
				// stack-less pendings a records-only row of their own.
				for _, p := range released {
					g := r.groupOf(p.Func)
					if g == nil || g.Mark != "dump only" || g.InDump != 1 || g.InRecords != 0 {
						t.Errorf("%s: group %+v, want dump only", p.Func, g)
					}
					if row := tableRow(table, p.Func); !strings.Contains(row, "dump only") {
						t.Errorf("%s: table row %q", p.Func, row)
					}
				}
				ns := r.noStackGroup()
				if ns == nil || ns.Mark != "records only" || ns.InRecords != 2 {
					t.Fatalf("stack-less group %+v, want records only with 2 pendings", ns)
				}
				var wakers []uint64
				for _, w := range ns.Wakers {
					wakers = append(wakers, uint64(w.Task))
				}
				slices.Sort(wakers)
				want := []uint64{facts.P1.Waker, facts.P2.Waker}
				slices.Sort(want)
				if !slices.Equal(wakers, want) {
					t.Errorf("stack-less group wakers %+v, want %v", ns.Wakers, want)
				}
				if !strings.Contains(table, "(no stack: blocked before the records began)") ||
					!strings.Contains(table, "2 pending(s) without a stack (blocked before the records began) cannot be matched") {
					t.Errorf("table:\n%s", table)
				}
			})
		}
	}
}

// TestPreblockedGolden keeps the tables of the real case. The traces in
// testdata/traces are regenerated now and then (go generate), which
// changes goroutine ids and timings: a difference in those only is
// logged, not failed; go test -update rewrites the files.
func TestPreblockedGolden(t *testing.T) {
	files := convertTrace(t, filepath.Join(tracesDir, "preblocked.trace"), convert.SystemGoroutine)
	for _, tt := range []struct{ golden, dump string }{
		{"preblocked.debug2.golden", "preblocked.goroutines.debug2.txt"},
		{"preblocked.debug1.golden", "preblocked.goroutines.txt"},
		{"preblocked.pb.golden", "preblocked.goroutines.pb.gz"},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			got := mustRun(t, append(append([]string{"-wide"}, files...), filepath.Join(tracesDir, tt.dump))...)
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			switch {
			case got == string(want):
			case maskVolatile(got) == maskVolatile(string(want)):
				t.Logf("%s differs only in goroutine ids and times (testdata/traces regenerated?); go test -update rewrites it", path)
			default:
				t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

var (
	reGoID     = regexp.MustCompile(`\bg[0-9]+\b`)
	reDuration = regexp.MustCompile(`[0-9]+(\.[0-9]+)?(µs|ms|s)\b|\b[0-9]+m[0-9]+s\b`)
	reTaken    = regexp.MustCompile(`taken [^ ,]+`)
	reSpace    = regexp.MustCompile(`[ \t]+`)
)

// maskVolatile replaces what changes when a trace is regenerated (ids,
// durations, the dump's time) and the column alignment that follows.
func maskVolatile(s string) string {
	s = reTaken.ReplaceAllString(s, "taken T")
	s = reGoID.ReplaceAllString(s, "gN")
	s = reDuration.ReplaceAllString(s, "D")
	return reSpace.ReplaceAllString(s, " ")
}

func TestMaskVolatile(t *testing.T) {
	a := "1  both  1  1  1/1  chan receive  20.5ms  20.5ms  @20.5ms  g8 (main.main main.go:174) ×1  main.x < main.y\n"
	b := "1  both  1  1  1/1  chan receive  9.5ms   950µs   @9.50ms  g12 (main.main main.go:174) ×1  main.x < main.y\n"
	if maskVolatile(a) != maskVolatile(b) {
		t.Errorf("%q != %q", maskVolatile(a), maskVolatile(b))
	}
	if c := strings.Replace(b, "both", "dump only", 1); maskVolatile(a) == maskVolatile(c) {
		t.Errorf("mask hides the mark")
	}
}

// TestPreblockedRuntimeKept checks that records with the runtime's and the
// tracer's goroutines kept (convert -runtime) compare like the default
// ones: those goroutines are left out and counted in the header.
func TestPreblockedRuntimeKept(t *testing.T) {
	trace := filepath.Join(tracesDir, "preblocked.trace")
	dumpPath := filepath.Join(tracesDir, "preblocked.goroutines.debug2.txt")
	def := decode(t, mustRun(t, append(append([]string{"-json"}, convertTrace(t, trace, convert.SystemGoroutine)...), dumpPath)...))
	all := decode(t, mustRun(t, append(append([]string{"-json"}, convertTrace(t, trace, nil)...), dumpPath)...))
	if def.Records.RuntimeOnly != 0 || all.Records.RuntimeOnly == 0 || all.Records.Pending != def.Records.Pending {
		t.Errorf("runtime-only pendings: default %d, kept %d; compared %d, %d", def.Records.RuntimeOnly, all.Records.RuntimeOnly,
			def.Records.Pending, all.Records.Pending)
	}
	strip := func(r *jsonReport) string {
		b, _ := json.Marshal(r.Groups)
		return string(b)
	}
	if strip(def) != strip(all) {
		t.Errorf("groups differ:\n%s\n%s", strip(def), strip(all))
	}
}
