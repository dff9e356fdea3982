package dumpdiffcmd

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wakeshim/wakeshim/format"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The test data come from testdata/prog (see there): records of a traced
// run in two segments (prog.1.v9, prog.2.v9, and their JSONL) and the
// three forms of a goroutine dump taken when the records end.
var recFiles = []string{"testdata/prog.1.v9", "testdata/prog.2.v9"}

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		golden string
		args   []string
	}{
		// -wide: the table as it was before it had to fit 100 columns.
		{"table.debug2.golden", []string{"-wide", "testdata/prog.goroutines.debug2.txt"}},
		{"table.debug1.golden", []string{"-wide", "testdata/prog.goroutines.txt"}},
		{"table.pb.golden", []string{"-wide", "testdata/prog.goroutines.pb.gz"}},
		{"table.debug2.v.golden", []string{"-wide", "-v", "-lines", "testdata/prog.goroutines.debug2.txt"}},
		{"table.debug2.100.golden", []string{"testdata/prog.goroutines.debug2.txt"}},
		{"debug2.json.golden", []string{"-json", "testdata/prog.goroutines.debug2.txt"}},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			args := append(slices.Clone(tt.args[:len(tt.args)-1]), recFiles...)
			args = append(args, tt.args[len(tt.args)-1])
			out, errOut, code := runCmd(t, args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %s", code, errOut)
			}
			golden(t, tt.golden, out)
		})
	}
}

// TestJSONLRecords checks that the JSONL rendering of the records gives the
// same result as the binary files.
func TestJSONLRecords(t *testing.T) {
	bin, _, _ := runCmd(t, "-json", recFiles[0], recFiles[1], "testdata/prog.goroutines.debug2.txt")
	jl, errOut, code := runCmd(t, "-json", "testdata/prog.1.jsonl", "testdata/prog.2.jsonl", "testdata/prog.goroutines.debug2.txt")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	bin = strings.ReplaceAll(bin, ".v9", ".x")
	jl = strings.ReplaceAll(jl, ".jsonl", ".x")
	if bin != jl {
		t.Errorf("JSONL records differ from binary:\n%s\n---\n%s", jl, bin)
	}
}

type jsonReport struct {
	Records struct {
		DurationUS    int64 `json:"duration_us"`
		RuntimeOnly   int   `json:"pending_runtime_only"`
		Pending       int   `json:"pending"`
		OutsideWindow int   `json:"pending_outside_window"`
	} `json:"records"`
	Groups []jsonGroup `json:"groups"`
}

type jsonGroup struct {
	Mark          string         `json:"mark"`
	MatchedByID   bool           `json:"matched_by_id"`
	Frames        []string       `json:"frames"`
	InRecords     int            `json:"in_records"`
	InDump        int            `json:"in_dump"`
	PendingMaxUS  int64          `json:"pending_max_us"`
	LastUS        *int64         `json:"last_us"`
	RecordReasons map[string]int `json:"record_wait_reasons"`
	DumpIDs       []uint64       `json:"dump_ids"`
	IDsInRecords  []uint64       `json:"dump_ids_pending_in_records"`
	DumpReasons   map[string]int `json:"dump_wait_reasons"`
	Wakers        []struct {
		Kind  string `json:"kind"`
		Task  uint32 `json:"task"`
		Spawn string `json:"spawn"`
		Count int    `json:"count"`
	} `json:"wakers"`
}

func decode(t *testing.T, out string) *jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return &r
}

// facts reads testdata/prog.json: the goroutine ids the program observed.
func facts(t *testing.T) map[string]uint64 {
	b, err := os.ReadFile("testdata/prog.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		IDs map[string]uint64 `json:"ids"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.IDs
}

// TestFacts checks the comparison against what the test program knows.
func TestFacts(t *testing.T) {
	ids := facts(t)
	for _, dumpFile := range []string{"prog.goroutines.debug2.txt", "prog.goroutines.txt", "prog.goroutines.pb.gz"} {
		out, errOut, code := runCmd(t, "-json", recFiles[0], recFiles[1], "testdata/"+dumpFile)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", dumpFile, code, errOut)
		}
		r := decode(t, out)
		byLeaf := map[string]int{}
		for i, g := range r.Groups {
			for _, f := range g.Frames {
				if strings.HasPrefix(f, "main.") && !strings.HasPrefix(f, "main.main") {
					byLeaf[strings.Fields(f)[0]] = i
					break
				}
			}
		}
		check := func(fn, mark string, inDump int) {
			i, ok := byLeaf[fn]
			if !ok {
				t.Errorf("%s: no group for %s", dumpFile, fn)
				return
			}
			g := r.Groups[i]
			if g.Mark != mark || g.InDump != inDump {
				t.Errorf("%s: %s: mark %q, in dump %d; want %q, %d", dumpFile, fn, g.Mark, g.InDump, mark, inDump)
			}
		}
		check("main.consumer", "both", 2)         // blocked in the records and in the dump
		check("main.stuckForever", "both", 1)     // blocked before the records began, and still
		check("main.selector", "records only", 0) // woken by main.closer before the dump
		check("main.sleeper", "records only", 0)  // done before the dump
		check("main.deadlocked", "dump only", 1)  // blocked after the records ended
		check("main.waitGroupWaiter", "dump only", 2)

		g := r.Groups[byLeaf["main.consumer"]]
		if len(g.Wakers) == 0 || g.Wakers[0].Kind != "goroutine" || uint64(g.Wakers[0].Task) != ids["producer"] ||
			!strings.HasPrefix(g.Wakers[0].Spawn, "main.main ") {
			t.Errorf("%s: consumer wakers %+v, want the producer g%d first", dumpFile, g.Wakers, ids["producer"])
		}
		if dumpFile == "prog.goroutines.debug2.txt" {
			want := []uint64{ids["consumer0"], ids["consumer1"]}
			slices.Sort(want)
			if !slices.Equal(g.DumpIDs, want) || !slices.Equal(g.IDsInRecords, want) {
				t.Errorf("consumer ids %v, in records %v, want %v", g.DumpIDs, g.IDsInRecords, want)
			}
			if g.DumpReasons["chan receive"] != 2 {
				t.Errorf("consumer dump reasons %v", g.DumpReasons)
			}
			sel := r.Groups[byLeaf["main.selector"]]
			if len(sel.Wakers) == 0 || uint64(sel.Wakers[0].Task) != ids["closer"] {
				t.Errorf("selector wakers %+v, want the closer g%d", sel.Wakers, ids["closer"])
			}
		}
	}
}

// TestByID builds records whose only pending has no stack (a goroutine
// blocked before the records began, as the tracer reports it) and checks
// that a debug=2 dump matches it by goroutine id.
func TestByID(t *testing.T) {
	ids := facts(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "r.v9")
	var buf bytes.Buffer
	w, err := format.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	task := uint32(ids["deadlocked"])
	for _, r := range []format.Record{
		{Code: format.CodeFrameDef, ID: 1, Str: "[unknown]"},
		{Code: format.CodeWakeEvent, TS: 500, Waker: 7, Task: task},
		{Code: format.CodeTaskPending, TS: 500, Task: task, Duration: 400, Frames: []uint16{1}},
		{Code: format.CodeTaskPending, TS: 600, Task: 999, Duration: 10, Frames: []uint16{1}},
	} {
		if err := w.WriteRecord(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "-json", path, "testdata/prog.goroutines.debug2.txt")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	r := decode(t, out)
	var byID, noStack int
	for _, g := range r.Groups {
		if g.MatchedByID {
			byID++
			if g.Mark != "both" || g.InRecords != 1 || g.PendingMaxUS != 400 || !slices.Equal(g.IDsInRecords, []uint64{uint64(task)}) ||
				len(g.Wakers) == 0 || g.Wakers[0].Task != 7 || !strings.HasPrefix(g.Frames[0], "sync.(*Mutex).Lock") {
				t.Errorf("group matched by id: %+v", g)
			}
		}
		if len(g.Frames) == 0 {
			noStack++
			if g.Mark != "records only" || g.InRecords != 1 {
				t.Errorf("stack-less group: %+v", g)
			}
		}
	}
	if byID != 1 || noStack != 1 {
		t.Errorf("%d groups matched by id, %d without stack; want 1, 1:\n%s", byID, noStack, out)
	}
	// Without ids (debug=1) the pending stays apart.
	out, _, _ = runCmd(t, "-json", path, "testdata/prog.goroutines.txt")
	for _, g := range decode(t, out).Groups {
		if g.MatchedByID || (len(g.Frames) == 0 && g.InRecords != 2) {
			t.Errorf("debug=1: %+v", g)
		}
	}
	// The table says so.
	out, _, _ = runCmd(t, path, "testdata/prog.goroutines.debug2.txt")
	if !strings.Contains(out, "both (by id)") || !strings.Contains(out, "by goroutine id too") {
		t.Errorf("table:\n%s", out)
	}
}

func TestWindow(t *testing.T) {
	all := decode(t, mustRun(t, "-json", recFiles[0], recFiles[1], "testdata/prog.goroutines.txt"))
	early := decode(t, mustRun(t, "-json", "-window", ":3ms", recFiles[0], recFiles[1], "testdata/prog.goroutines.txt"))
	late := decode(t, mustRun(t, "-json", "-window", "-1ms:", recFiles[0], recFiles[1], "testdata/prog.goroutines.txt"))
	for name, r := range map[string]*jsonReport{"early": early, "late": late} {
		if r.Records.Pending+r.Records.OutsideWindow != all.Records.Pending || r.Records.Pending == 0 || r.Records.OutsideWindow == 0 {
			t.Errorf("%s: %d pending, %d outside, of %d", name, r.Records.Pending, r.Records.OutsideWindow, all.Records.Pending)
		}
	}
	// In the last millisecond only the goroutines still blocked at the end
	// (and those woken then) are pending.
	for _, g := range late.Groups {
		if g.InRecords > 0 && g.Mark == "records only" && len(g.Frames) > 0 && strings.Contains(g.Frames[0], "main.selector") {
			t.Errorf("late window has the selector: %+v", g)
		}
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("dumpdiff %q: exit %d: %s", args, code, errOut)
	}
	return out
}

func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	write := fileWriter(t, dir)
	bin, err := os.ReadFile(recFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	truncated := write("trunc.v9", bin[:len(bin)-3])
	garbage := write("garbage.v9", []byte("hello world\n"))
	badJSONL := write("bad.jsonl", []byte("{\"event\":\"Nope\"}\n"))
	badDump := write("bad.txt", []byte("goroutine 1 [running]:\nmain.main()\n"))
	undefined := write("undef.jsonl", []byte(`{"event":"TaskPending","timestamp_ns":1000,"task_id":5,"duration_us":3,"frame_ids":[4]}`+"\n"))
	dump2 := "testdata/prog.goroutines.debug2.txt"

	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{recFiles[0], recFiles[1], dump2}, 0, ""},
		{[]string{"-fail-on", "dump-only", recFiles[0], recFiles[1], dump2}, 3, "-fail-on: 2 group(s) dump only"},
		{[]string{"-fail-on", "records-only,both", recFiles[0], recFiles[1], dump2}, 3, "-fail-on"},
		{[]string{"-fail-on", "dump-only", recFiles[0], recFiles[1], "-window", "0:1ms", dump2}, 2, "flag -window after the file arguments"},
		{[]string{"-fail-on", "nope", recFiles[0], dump2}, 2, `-fail-on "nope"`},
		{[]string{"-window", "3s", recFiles[0], dump2}, 2, `-window "3s": want FROM:TO`},
		{[]string{"-window", "5s:1s", recFiles[0], dump2}, 2, "FROM is after TO"},
		{[]string{"-depth", "-1", recFiles[0], dump2}, 2, "-depth"},
		{[]string{dump2}, 2, "need at least one records file and a dump"},
		{[]string{"-nope", recFiles[0], dump2}, 2, "flag provided but not defined"},
		{[]string{truncated, dump2}, 0, "warning: " + truncated + ": offset"}, // read to its last whole record
		{[]string{garbage, dump2}, 1, "garbage.v9: not a v9 records file"},
		{[]string{badJSONL, dump2}, 1, "bad.jsonl: line 1"},
		{[]string{undefined, dump2}, 1, "undef.jsonl: line 1: TaskPending uses frame id 4, not defined in this file"},
		{[]string{filepath.Join(dir, "missing.v9"), dump2}, 1, "missing.v9"},
		{[]string{recFiles[0], badDump}, 1, "bad.txt:2: goroutine 1: function line"},
		{[]string{recFiles[0], recFiles[1]}, 1, "prog.2.v9: not a goroutine dump"},
	} {
		_, errOut, code := runCmd(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.err) {
			t.Errorf("dumpdiff %q: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.code, tt.err)
		}
	}
	_, errOut, code := runCmd(t, "-h")
	if code != 0 || !strings.HasPrefix(errOut, "usage: dumpdiff [flags] RECORDS... DUMP") || !strings.Contains(errOut, "-fail-on") {
		t.Errorf("-h: exit %d, %q", code, errOut)
	}
}

// TestBadInput checks that every kind of bad input gives exit status 1 and
// a message on stderr naming the file and, where it applies, the offset or
// line, with nothing on stdout.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := fileWriter(t, dir)
	read := func(name string) []byte {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	bin := read(recFiles[0])
	jsonl := strings.SplitAfter(string(read("testdata/prog.1.jsonl")), "\n")
	pb := read("testdata/prog.goroutines.pb.gz")
	random := make([]byte, 2000)
	for i := range random {
		random[i] = byte(i*7919 + i>>3) // deterministic, not text
	}
	badLine3 := strings.Join(jsonl[:2], "") + `{"event":"TaskPending","timestamp_ns":"x"}` + "\n" + strings.Join(jsonl[3:], "")
	dump2 := "testdata/prog.goroutines.debug2.txt"

	for _, tt := range []struct {
		name    string
		records []string
		dump    string
		want    []string // substrings of stderr
	}{
		{"truncated v9 header", []string{write("head.v9", bin[:5])}, dump2,
			[]string{"head.v9: truncated v9 records file: 5 bytes"}},
		{"empty records", []string{write("empty.v9", nil)}, dump2,
			[]string{"empty.v9: empty file, not a v9 records file"}},
		{"garbage records", []string{write("garbage.v9", random)}, dump2,
			[]string{"garbage.v9: not a v9 records file"}},
		{"bad JSONL line", []string{write("bad.jsonl", []byte(badLine3))}, dump2,
			[]string{"bad.jsonl: line 3 (record TaskPending", "expected a number"}},
		{"cut JSONL line", []string{write("cut.jsonl", []byte(`{"event":"WakeEvent"`))}, dump2,
			[]string{"cut.jsonl: line 1"}},
		{"second segment bad", []string{recFiles[0], write("bad2.v9", append(slices.Clone(bin), 99))}, dump2,
			[]string{"bad2.v9: offset ", "unknown record code"}},
		{"trace as records", []string{"../../../testdata/traces/preblocked.trace"}, dump2,
			[]string{"preblocked.trace: a Go execution trace, not records: convert it first"}},
		{"garbage dump", recFiles, write("garbage.dump", random),
			[]string{"garbage.dump: not a goroutine dump"}},
		{"empty dump", recFiles, write("empty.txt", nil),
			[]string{"empty.txt: empty file, not a goroutine dump"}},
		{"truncated pb.gz dump", recFiles, write("trunc.pb.gz", pb[:len(pb)/2]),
			[]string{"trunc.pb.gz: bad gzip data"}},
		{"malformed debug=2 dump", recFiles, write("bad2.txt", []byte("goroutine 1 [running]:\nmain.main()\nmain.f()\n")),
			[]string{"bad2.txt:3: goroutine 1:"}},
		{"malformed debug=1 dump", recFiles, write("bad1.txt", []byte("goroutine profile: total 1\n1 @ 0x1\n#\t0x1\tmain.f+0x1\n")),
			[]string{"bad1.txt:3: bad frame line"}},
		{"records as dump", recFiles[:1], recFiles[1],
			[]string{"prog.2.v9: not a goroutine dump", "prog.2.v9 is a records file: the goroutine dump must be the last argument"}},
		{"trace as dump", recFiles, "../../../testdata/traces/preblocked.trace",
			[]string{"preblocked.trace is a Go execution trace"}},
		{"missing dump", recFiles, filepath.Join(dir, "missing.txt"),
			[]string{"missing.txt"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(slices.Clone(tt.records), tt.dump)
			out, errOut, code := runCmd(t, args...)
			if code != exitError || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, exitError)
			}
			if !strings.HasPrefix(errOut, "dumpdiff: ") {
				t.Errorf("stderr %q does not start with dumpdiff: ", errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q, want it to contain %q", errOut, w)
				}
			}
		})
	}
}

// FuzzRecords checks that no records file, binary or JSONL, makes the
// command panic: it reports an error (exit 1) or a comparison (exit 0).
func FuzzRecords(f *testing.F) {
	for _, name := range []string{recFiles[0], recFiles[1], "testdata/prog.1.jsonl"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "r")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"testdata/prog.goroutines.debug2.txt", "testdata/prog.goroutines.txt"} {
			out, errOut, code := runCmd(t, "-window", "-5ms:", p, d)
			if code != exitOK && code != exitError || (code == exitError) != (errOut != "") || (code == exitOK) != (out != "") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		}
	})
}

// A records file cut short (the shim's process crashed while writing it)
// is read to its last whole record, with a warning; the files after it
// are read too.
func TestTruncatedRecords(t *testing.T) {
	bin, err := os.ReadFile(recFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.v9")
	if err := os.WriteFile(cut, bin[:len(bin)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	full := mustRun(t, "-json", recFiles[0], recFiles[1], "testdata/prog.goroutines.debug2.txt")
	out, errOut, code := runCmd(t, "-json", cut, recFiles[1], "testdata/prog.goroutines.debug2.txt")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`^dumpdiff: warning: .*cut.v9: offset \d+ \(record \w+, code \d\): format: truncated record: .*; read to the last whole record\n$`).MatchString(errOut) {
		t.Errorf("stderr %q", errOut)
	}
	var a, b struct {
		Records struct{ Pending int } `json:"records"`
	}
	if err := json.Unmarshal([]byte(full), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatal(err)
	}
	if b.Records.Pending == 0 || b.Records.Pending > a.Records.Pending {
		t.Errorf("pending compared: %d with the cut file, %d without", b.Records.Pending, a.Records.Pending)
	}
}

// The shim's own goroutines (started in package shim, or labelled
// "wakeshim") are left out of the dump side; a host goroutine blocked in a
// call into the shim is compared.
func TestShimGoroutinesLeftOut(t *testing.T) {
	d2, err := os.ReadFile("testdata/prog.goroutines.debug2.txt")
	if err != nil {
		t.Fatal(err)
	}
	extra := `
goroutine 90 [select]:
github.com/wakeshim/wakeshim/shim.(*Session).snapshotLoop(0xc000012345)
	github.com/wakeshim/wakeshim/shim/shim.go:450 +0x1a5
runtime/pprof.Do({0x5bd568, 0xc0000a0000}, {{0xc0000b0000, 0x2, 0x2}}, 0xc0000c0000)
	runtime/pprof/runtime.go:51 +0x85
created by github.com/wakeshim/wakeshim/shim.Start in goroutine 1
	github.com/wakeshim/wakeshim/shim/shim.go:217 +0x2c5

goroutine 91 [chan receive]:
github.com/wakeshim/wakeshim/shim.(*worker).run(0xc000012345)
	github.com/wakeshim/wakeshim/shim/worker.go:40 +0x65
created by github.com/wakeshim/wakeshim/shim.Start in goroutine 1
	github.com/wakeshim/wakeshim/shim/shim.go:218 +0x2c5

goroutine 92 [chan receive]:
github.com/wakeshim/wakeshim/shim.(*Session).Stop(0xc000012345)
	github.com/wakeshim/wakeshim/shim/shim.go:240 +0x65
main.shutdown()
	example.com/app/main.go:12 +0x25
created by main.main in goroutine 1
	example.com/app/main.go:30 +0x2c5
`
	p := filepath.Join(t.TempDir(), "d2.txt")
	if err := os.WriteFile(p, append(d2, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "-json", recFiles[0], recFiles[1], p)
	var r struct {
		Dump struct {
			Skipped map[string]int `json:"skipped"`
		} `json:"dump"`
		Groups []struct {
			Frames []string `json:"frames"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Dump.Skipped["the shim"] != 2 {
		t.Errorf("left out: %v, want 2 of the shim", r.Dump.Skipped)
	}
	host := false
	for _, g := range r.Groups {
		if len(g.Frames) > 1 && strings.HasPrefix(g.Frames[1], "main.shutdown ") {
			host = true
		}
	}
	if !host {
		t.Errorf("the host goroutine blocked in Session.Stop is not compared: %s", out)
	}
}

// Without -wide every line fits 100 columns.
func TestWidth(t *testing.T) {
	for _, d := range []string{"testdata/prog.goroutines.debug2.txt", "testdata/prog.goroutines.txt", "testdata/prog.goroutines.pb.gz"} {
		for _, v := range [][]string{nil, {"-v"}, {"-v", "-lines"}} {
			args := append(append(slices.Clone(v), recFiles...), d)
			out := mustRun(t, args...)
			for _, l := range strings.Split(out, "\n") {
				if n := len([]rune(l)); n > 100 {
					t.Errorf("%v: line of %d columns: %q", args, n, l)
				}
			}
		}
	}
}

// A block the shim re-reported while it lasted (same goroutine and start,
// growing duration) counts once, with its largest duration; the goroutine
// never ran again, so it is still blocked at the end.
func TestReReportedBlock(t *testing.T) {
	in := `{"event":"FrameDef","id":1,"frame":"[chan_receive]"}
{"event":"FrameDef","id":2,"frame":"main.stuck x/main.go:10"}
{"event":"PollStart","timestamp_ns":0,"worker":0,"local_q":0,"task_id":7,"spawn_loc_id":0}
{"event":"PollEnd","timestamp_ns":1000000,"worker":0}
{"event":"TaskPending","timestamp_ns":3000000,"task_id":7,"duration_us":2000,"frame_ids":[1,2]}
{"event":"TaskPending","timestamp_ns":5000000,"task_id":7,"duration_us":4000,"frame_ids":[1,2]}
{"event":"TaskPending","timestamp_ns":9000000,"task_id":7,"duration_us":8000,"frame_ids":[1,2]}
`
	p := filepath.Join(t.TempDir(), "re.jsonl")
	if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "-json", p, "testdata/prog.goroutines.debug2.txt")
	var r struct {
		Records struct{ Pending int } `json:"records"`
		Groups  []struct {
			Frames       []string `json:"frames"`
			InRecords    int      `json:"in_records"`
			PendingMaxUS int64    `json:"pending_max_us"`
			Wakers       []struct {
				Kind  string `json:"kind"`
				Count int    `json:"count"`
			} `json:"wakers"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Records.Pending != 1 {
		t.Errorf("pending compared: %d, want the one block", r.Records.Pending)
	}
	for _, g := range r.Groups {
		if len(g.Frames) > 0 && strings.HasPrefix(g.Frames[0], "main.stuck ") {
			if g.InRecords != 1 || g.PendingMaxUS != 8000 || len(g.Wakers) != 1 || g.Wakers[0].Kind != "blocked at end" {
				t.Errorf("group %+v", g)
			}
			return
		}
	}
	t.Errorf("no group of main.stuck: %s", out)
}

// fileWriter returns a function that writes a file of the given name and
// contents in dir and returns its path.
func fileWriter(t *testing.T, dir string) func(name string, b []byte) string {
	return func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}
