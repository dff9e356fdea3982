package records

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/rotate"
)

func traceFile(name string) string { return filepath.Join("..", "testdata", "traces", name) }

// segments converts a trace into files NAME.bin, NAME.2.bin, ... (and
// .jsonl) under dir, with segments of at most seg, and returns the binary
// files' names.
func segments(t testing.TB, trace, dir, name string, seg time.Duration) []string {
	t.Helper()
	f, err := os.Open(traceFile(trace))
	require.NoError(t, err)
	defer f.Close()
	out := &fileSegs{t: t, dir: dir, name: name}
	out.open()
	_, err = convert.Convert(f, convert.Config{SegmentDuration: seg}, out, nil)
	require.NoError(t, err)
	require.NoError(t, out.Close())
	return out.bins
}

type fileSegs struct {
	t         testing.TB
	dir, name string
	n         int
	bin, js   bytes.Buffer
	w         format.RecordWriter
	bins      []string
}

func (s *fileSegs) open() {
	s.n++
	s.bin.Reset()
	s.js.Reset()
	bw, err := format.NewWriter(&s.bin)
	require.NoError(s.t, err)
	s.w = format.MultiWriter(bw, format.NewJSONLWriter(&s.js))
}

func (s *fileSegs) WriteRecord(r *format.Record) error { return s.w.WriteRecord(r) }

func (s *fileSegs) NextSegment() error {
	if err := s.Close(); err != nil {
		return err
	}
	s.open()
	return nil
}

func (s *fileSegs) Close() error {
	if err := s.w.Close(); err != nil {
		return err
	}
	base := s.name
	if s.n > 1 {
		base += "." + string(rune('0'+s.n))
	}
	bin := filepath.Join(s.dir, base+".bin")
	require.NoError(s.t, os.WriteFile(bin, s.bin.Bytes(), 0o644))
	require.NoError(s.t, os.WriteFile(filepath.Join(s.dir, base+".jsonl"), s.js.Bytes(), 0o644))
	s.bins = append(s.bins, bin)
	return nil
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		head string
		kind Kind
		err  string
	}{
		{format.Magic + "\x09\x00\x00\x00", KindV9, ""},
		{"go 1.26 trace\x00\x00\x00", KindTrace, ""},
		{"  \n{\"event\":", KindJSONL, ""},
		{"", 0, "empty file"},
		{"TOKIO", 0, "shorter than the header"},
		{"hello world", 0, "not a v9 records file"},
	} {
		t.Run(tc.head, func(t *testing.T) {
			k, err := Sniff([]byte(tc.head))
			if tc.err != "" {
				require.ErrorIs(t, err, ErrNotRecords)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.kind, k)
		})
	}
}

// The binary file and its JSONL rendering give the same records.
func TestOpenBothKinds(t *testing.T) {
	dir := t.TempDir()
	bins := segments(t, "mutex.trace", dir, "mutex", 0)
	require.Len(t, bins, 1)
	read := func(name string, kind Kind) []format.Record {
		f, err := Open(name)
		require.NoError(t, err)
		defer f.Close()
		assert.Equal(t, kind, f.Kind)
		var recs []format.Record
		for rec, err := range f.All() {
			require.NoError(t, err)
			recs = append(recs, rec)
		}
		return recs
	}
	bin := read(bins[0], KindV9)
	js := read(strings.TrimSuffix(bins[0], ".bin")+".jsonl", KindJSONL)
	require.NotEmpty(t, bin)
	assert.Equal(t, bin, js)
}

// writeRecords writes a v9 file of recs.
func writeRecords(t *testing.T, path string, recs ...format.Record) {
	t.Helper()
	var b bytes.Buffer
	w, err := format.NewWriter(&b)
	require.NoError(t, err)
	for i := range recs {
		require.NoError(t, w.WriteRecord(&recs[i]))
	}
	require.NoError(t, w.Close())
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// A file that continues another starts its clock at the previous one's
// last timestamp.
func TestRunTimeLine(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "app.bin"), filepath.Join(dir, "app.2.bin")
	writeRecords(t, a,
		format.Record{Code: format.CodeSpawnLocationDef, ID: 1, Str: "main.worker"},
		format.Record{Code: format.CodePollStart, TS: 0, Worker: 0, Task: 7, SpawnLoc: 1},
		format.Record{Code: format.CodePollEnd, TS: 100, Worker: 0},
		format.Record{Code: format.CodeTaskSpawn, Task: 8},
		format.Record{Code: format.CodeQueueSample, TS: 250})
	writeRecords(t, b,
		format.Record{Code: format.CodeSpawnLocationDef, ID: 3, Str: "main.other"},
		format.Record{Code: format.CodePollStart, TS: 0, Worker: 1, Task: 7, SpawnLoc: 3},
		format.Record{Code: format.CodeFrameDef, ID: 1, Str: "[sleep]"},
		format.Record{Code: format.CodeFrameDef, ID: 2, Str: "time.Sleep time/sleep.go:1"},
		format.Record{Code: format.CodeTaskPending, TS: 40, Task: 7, Duration: 30, Frames: []uint16{1, 2}})
	ins, err := Expand([]string{dir})
	require.NoError(t, err)
	require.Len(t, ins, 2)
	run := NewRun(ins, Options{})
	var ts []int64
	var locs, stacks []string
	var inputs []int
	for ev, err := range run.Events() {
		require.NoError(t, err)
		ts = append(ts, ev.T)
		inputs = append(inputs, ev.Input)
		if ev.Location != "" {
			locs = append(locs, ev.Location)
		}
		if ev.Stack != nil {
			stacks = append(stacks, strings.Join(ev.Stack, "|"))
		}
	}
	assert.Equal(t, []int64{0, 0, 100e3, 0, 250e3, 0, 250e3, 0, 0, 290e3}, ts)
	assert.Equal(t, []int{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, inputs)
	assert.Equal(t, []string{"main.worker", "main.other"}, locs, "each file's ids resolved with its own definitions")
	assert.Equal(t, []string{"[sleep]|time.Sleep time/sleep.go:1"}, stacks)
	assert.Equal(t, int64(290e3), run.End)
	assert.Equal(t, int64(10), run.Records)
}

// A conversion's rotated segments: a directory gives its .bin files (not
// the .jsonl beside them) in segment order, and their times never go back.
func TestRunSegments(t *testing.T) {
	dir := t.TempDir()
	bins := segments(t, "mutex.trace", dir, "m", 5*time.Millisecond)
	require.Greater(t, len(bins), 2, "want several segments")
	ins, err := Expand([]string{dir})
	require.NoError(t, err)
	var got []string
	for _, in := range ins {
		got = append(got, in.Path)
	}
	assert.Equal(t, bins, got)
	var last int64
	segs := map[int]bool{}
	for ev, err := range NewRun(ins, Options{}).Events() {
		require.NoError(t, err)
		segs[ev.Segment] = true
		if ev.Code.Spec().Fields[0].Slot == format.SlotTS && ev.Code != format.CodeTaskPending {
			assert.GreaterOrEqual(t, ev.T, last, "time goes back at %v", ev.Record)
			last = ev.T
		}
	}
	assert.Len(t, segs, len(bins))
}

func TestExpandShimNames(t *testing.T) {
	dir := t.TempDir()
	bins := segments(t, "mutex.trace", dir, "x", 0)
	b, err := os.ReadFile(bins[0])
	require.NoError(t, err)
	require.NoError(t, os.Remove(bins[0]))
	require.NoError(t, os.Remove(strings.TrimSuffix(bins[0], ".bin")+".jsonl"))
	for _, n := range []string{"my-app-42-10.bin", "my-app-42-2.bin", "my-app-42-1.bin", "my-app-7-1.bin", "my-app-42-1.goroutines.txt"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), b, 0o644))
	}
	ins, err := Expand([]string{dir})
	require.NoError(t, err)
	var names, procs []string
	for _, in := range ins {
		names = append(names, filepath.Base(in.Path))
		procs = append(procs, in.Process)
	}
	assert.Equal(t, []string{"my-app-42-1.bin", "my-app-42-2.bin", "my-app-42-10.bin", "my-app-7-1.bin"}, names)
	assert.Equal(t, []string{"my-app-42", "my-app-42", "my-app-42", "my-app-7"}, procs)
	var processes []int
	last := -1
	for ev, err := range NewRun(ins, Options{}).Events() {
		require.NoError(t, err)
		if ev.Process != last {
			processes = append(processes, ev.Process)
			last = ev.Process
		}
	}
	assert.Equal(t, []int{0, 1}, processes, "another PID is another process run")
}

func TestTruncated(t *testing.T) {
	dir := t.TempDir()
	bins := segments(t, "mutex.trace", dir, "m", 0)
	b, err := os.ReadFile(bins[0])
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.bin")
	require.NoError(t, os.WriteFile(cut, b[:len(b)-3], 0o644))
	ins, err := Expand([]string{cut, bins[0]})
	require.NoError(t, err)
	run := NewRun(ins, Options{})
	n := 0
	for _, err := range run.Events() {
		require.NoError(t, err)
		n++
	}
	require.Len(t, run.Warnings, 1)
	assert.Regexp(t, `cut.bin: offset \d+ .*truncated record.*read to the last whole record`, run.Warnings[0])
	full := NewRun(ins[1:], Options{})
	m := 0
	for range full.Events() {
		m++
	}
	assert.Equal(t, 2*m-1, n, "all but the cut record of the first file, then the whole second one")

	strict := NewRun(ins, Options{Strict: true})
	var last error
	for _, err := range strict.Events() {
		last = err
	}
	require.ErrorIs(t, last, format.ErrTruncated)
	assert.Contains(t, last.Error(), "cut.bin: offset ")
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bins := segments(t, "mutex.trace", dir, "m", 0)
	good, err := os.ReadFile(bins[0])
	require.NoError(t, err)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	bad := append(append([]byte{}, good...), 200) // an unknown code after the last record
	for _, tc := range []struct {
		name, path, want string
	}{
		{"garbage", write("g.bin", []byte("hello, world")), "g.bin: not a v9 records file"},
		{"empty", write("e.bin", nil), "e.bin: empty file, not a v9 records file"},
		{"bad code", write("c.bin", bad), "c.bin: offset " + strconv.Itoa(len(good)) + " (code 200): format: unknown record code"},
		{"undefined frame", write("u.jsonl", []byte(`{"event":"TaskPending","timestamp_ns":1000,"task_id":3,"duration_us":5,"frame_ids":[4]}`+"\n")),
			"u.jsonl: line 1: TaskPending uses frame id 4, not defined in this file"},
		{"undefined location", write("l.jsonl", []byte(`{"event":"TaskSpawn","task_id":3,"spawn_loc_id":2}`+"\n")),
			"l.jsonl: line 1: TaskSpawn of task 3 uses spawn location id 2, not defined in this file"},
		{"bad trace", write("t.trace", []byte("go 1.26 trace\x00\x00\x00\x01\x02\x03garbage")), "t.trace: bad execution trace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ins, err := Expand([]string{tc.path})
			if err == nil {
				for _, e := range NewRun(ins, Options{}).Events() {
					if e != nil {
						err = e
					}
				}
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err = Expand([]string{filepath.Join(dir, "missing.bin")})
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

func TestReasonAndEntry(t *testing.T) {
	r, f := Reason([]string{"[chan_receive]", "main.f x.go:1"})
	assert.Equal(t, "chan_receive", r)
	assert.Equal(t, []string{"main.f x.go:1"}, f)
	r, f = Reason([]string{"main.f x.go:1"})
	assert.Equal(t, "", r)
	assert.Len(t, f, 1)
	for _, tc := range []struct {
		loc, entry string
		ok         bool
	}{
		{"github.com/x/server.(*client).readLoop (created at github.com/x/server.(*Server).startGoRoutine /src/server.go:4141)", "github.com/x/server.(*client).readLoop", true},
		{"main.worker", "main.worker", true},
		{"main.main github.com/x/main.go:81", "main.main", false},
		{"", "", false},
	} {
		e, ok := Entry(tc.loc)
		assert.Equal(t, tc.entry, e, tc.loc)
		assert.Equal(t, tc.ok, ok, tc.loc)
	}
}

// Decoding never panics; whatever the bytes, the iteration ends, and an
// error names the file. Seeded with files our writer made (the dumpdiff
// test program's records, binary and JSONL).
func FuzzRun(f *testing.F) {
	for _, p := range []string{"prog.1.v9", "prog.1.jsonl"} {
		b, err := os.ReadFile(filepath.Join("..", "cmd", "wakeshim", "dumpdiffcmd", "testdata", p))
		require.NoError(f, err)
		f.Add(b)
	}
	p := filepath.Join(f.TempDir(), "in")
	f.Fuzz(func(t *testing.T, b []byte) {
		require.NoError(t, os.WriteFile(p, b, 0o644))
		ins, err := Expand([]string{p})
		if err != nil {
			return
		}
		for _, err := range NewRun(ins, Options{}).Events() {
			if err != nil {
				assert.Contains(t, err.Error(), p)
			}
		}
	})
}

// A trace converted on the fly gives the records of its v9 conversion, on
// the same time line (the conversion runs in a goroutine of its own), and
// a consumer that stops early stops the conversion.
func TestTraceOnTheFly(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "flightrec.bin")
	var buf bytes.Buffer
	w, err := format.NewWriter(&buf)
	require.NoError(t, err)
	data, err := os.ReadFile(traceFile("flightrec.trace"))
	require.NoError(t, err)
	_, err = convert.Convert(bytes.NewReader(data), convert.Config{}, oneSegment{w}, nil)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, buf.Bytes(), 0o644))

	collect := func(path string) (out []Event) {
		ins, err := Expand([]string{path})
		require.NoError(t, err)
		for ev, err := range NewRun(ins, Options{}).Events() {
			require.NoError(t, err)
			e := *ev
			e.Frames = append([]uint16(nil), ev.Frames...)
			e.Input = 0
			out = append(out, e)
		}
		return out
	}
	fly, off := collect(traceFile("flightrec.trace")), collect(bin)
	require.NotEmpty(t, fly)
	assert.Equal(t, off, fly)

	before := runtime.NumGoroutine()
	ins, err := Expand([]string{traceFile("flightrec.trace")})
	require.NoError(t, err)
	n := 0
	for _, err := range NewRun(ins, Options{}).Events() {
		require.NoError(t, err)
		if n++; n == 5 {
			break
		}
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && runtime.NumGoroutine() > before; {
		time.Sleep(time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "the conversion goroutine ended")
}

type oneSegment struct{ *format.Writer }

func (oneSegment) NextSegment() error { return errors.New("unexpected segment") }

// TestReader: a trace's Reader is the regular file itself, from its start
// (convert.Convert reads it where it lies); a records file's Reader
// leaves its reading alone (its records are read through a buffer that
// a seek of the file would throw off).
func TestReader(t *testing.T) {
	f, err := Open(traceFile("mutex.trace"))
	require.NoError(t, err)
	defer f.Close()
	r, ok := f.Reader().(*os.File)
	require.True(t, ok, "a trace in a regular file: the file itself")
	pos, err := r.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	require.Zero(t, pos)

	recs := make([]format.Record, 20000)
	for i := range recs {
		recs[i] = format.Record{Code: format.CodePollEnd, TS: uint32(i), Worker: uint8(i % 4)}
	}
	name := filepath.Join(t.TempDir(), "many.bin")
	writeRecords(t, name, recs...)
	v9, err := Open(name)
	require.NoError(t, err)
	defer v9.Close()
	n := 0
	for _, err := range v9.All() {
		require.NoError(t, err)
		if n++; n == 1 {
			v9.Reader()
		}
	}
	require.Equal(t, len(recs), n)
}

// TestSideProcess: a profile kept beside the shim's records belongs to
// the process run of the records of its PROG-PID.
func TestSideProcess(t *testing.T) {
	ins := []Input{
		{Path: "d/a-1-000001.bin", Process: "a-1"},
		{Path: "d/a-1-000002.bin", Process: "a-1"},
		{Path: "d/b-7-000001.bin", Process: "b-7"},
		{Path: "x.trace"},
		{Path: "d/c-9-000003.bin", Process: "c-9"},
	}
	for path, want := range map[string]int{
		"d/a-1-000002.goroutineleak.txt": 0,
		"d/b-7-000001.goroutineleak.txt": 1,
		"d/c-9-000003.goroutineleak.txt": 2,
		"d/z-3-000001.goroutineleak.txt": 0, // no such records
		"leak.txt":                       0,
		"etcd7443.leak.txt":              0,
	} {
		if got := SideProcess(ins, path); got != want {
			t.Errorf("SideProcess(%q) = %d, want %d", path, got, want)
		}
	}
}

// TestPauses: a trace's stop-the-world pauses reach Options.Pause on the
// time line, the same from the trace converted on the fly as from the
// shim's files (records and their pauses files beside them, in several
// segments), in order by their end, and no pause without Options.Pause.
func TestPauses(t *testing.T) {
	const trace = "../testdata/shapes/alloc.trace"
	dir := t.TempDir()
	out, err := rotate.New(dir, "alloc", 7, false, 1<<30, 1<<40)
	require.NoError(t, err)
	f, err := os.Open(trace)
	require.NoError(t, err)
	defer f.Close()
	st, err := convert.Convert(f, convert.Config{SegmentDuration: 20 * time.Millisecond}, out, nil)
	require.NoError(t, err)
	require.NoError(t, out.Close())
	require.Greater(t, st.Segments, 2)
	require.Greater(t, st.Pauses, int64(10), "a GC-heavy trace")

	collect := func(path string) (ps []Pause, n int64) {
		ins, err := Expand([]string{path})
		require.NoError(t, err)
		run := NewRun(ins, Options{Convert: convert.Config{SegmentDuration: 20 * time.Millisecond},
			Pause: func(p *Pause) { ps = append(ps, *p) }})
		for _, err := range run.Events() {
			require.NoError(t, err)
			n++
		}
		return ps, n
	}
	fly, nfly := collect(trace)
	beside, nbeside := collect(dir)
	assert.Equal(t, nfly, nbeside, "records")
	require.Len(t, fly, int(st.Pauses))
	// The same pauses, each with the file it came with: one trace, or
	// the records files beside their pauses files.
	require.Len(t, beside, len(fly))
	assert.Positive(t, beside[len(beside)-1].Input, "the pauses of later files")
	for i := range beside {
		assert.Zero(t, fly[i].Input, "pause %d", i)
		if i > 0 {
			assert.GreaterOrEqual(t, beside[i].Input, beside[i-1].Input, "pause %d", i)
		}
		beside[i].Input = 0
	}
	assert.Equal(t, fly, beside)
	reasons := map[string]bool{}
	for i, p := range fly {
		reasons[p.Reason] = true
		assert.Positive(t, p.Duration, "pause %d", i)
		if i > 0 {
			assert.GreaterOrEqual(t, p.T+p.Duration, fly[i-1].T+fly[i-1].Duration, "pause %d ends before the one before it", i)
		}
	}
	assert.True(t, reasons["GC sweep termination"] && reasons["GC mark termination"], "%v", reasons)

	ins, err := Expand([]string{dir})
	require.NoError(t, err)
	for _, err := range NewRun(ins, Options{}).Events() {
		require.NoError(t, err) // no Pause: none given, no panic
	}
}

// TestBadPauses: a bad line in a pauses file keeps the pauses before it,
// with a warning naming the file and line (an error if Strict).
func TestBadPauses(t *testing.T) {
	dir := t.TempDir()
	writeRecords(t, filepath.Join(dir, "p-1-000001.bin"), format.Record{Code: format.CodeQueueSample, TS: 5000})
	side := filepath.Join(dir, "p-1-000001."+format.PauseExt)
	require.NoError(t, os.WriteFile(side, []byte(format.PauseHeader+"10 20 GC sweep termination\nbad\n"), 0o644))
	ins, err := Expand([]string{dir})
	require.NoError(t, err)
	var ps []Pause
	run := NewRun(ins, Options{Pause: func(p *Pause) { ps = append(ps, *p) }})
	for _, err := range run.Events() {
		require.NoError(t, err)
	}
	assert.Equal(t, []Pause{{T: 10e3, Duration: 20e3, Reason: "GC sweep termination"}}, ps)
	require.Len(t, run.Warnings, 1)
	assert.Contains(t, run.Warnings[0], side+": line 3")
	run = NewRun(ins, Options{Strict: true, Pause: func(*Pause) {}})
	var last error
	for _, err := range run.Events() {
		last = err
	}
	require.Error(t, last)
	assert.Contains(t, last.Error(), side+": line 3")
}
