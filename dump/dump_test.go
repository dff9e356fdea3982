package dump

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The test data are real dumps written by testdata/gen (see there).
//
// The tests of the protobuf form (blocked.pb.gz) are in package pprofdump,
// which registers the protobuf parser (it imports dump, so dump's tests
// cannot import it); here, without it, TestProtoUnregistered checks the
// error protobuf input gives.

func mustRead(t testing.TB, name string) *Dump {
	t.Helper()
	d, err := ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func funcs(fs []Frame) []string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Func)
	}
	return s
}

// userStacks returns the normalised stacks of the test program's blocked
// goroutines (the ones with a main. frame), as "f1 < f2" strings with
// their counts.
func userStacks(d *Dump) map[string]int {
	m := map[string]int{}
	for _, g := range d.Goroutines {
		n := Normalize(g.Frames)
		if !slices.ContainsFunc(n, func(f Frame) bool { return strings.HasPrefix(f.Func, "main.") }) {
			continue
		}
		if strings.HasPrefix(n[0].Func, "runtime/pprof.") {
			continue
		}
		m[strings.Join(funcs(n), " < ")] += g.Count
	}
	return m
}

func TestForms(t *testing.T) {
	for _, tt := range []struct {
		file string
		form Form
	}{
		{"blocked.txt", FormDebug1},
		{"blocked.debug2.txt", FormDebug2},
		{"panic.txt", FormDebug2},
	} {
		d := mustRead(t, tt.file)
		if d.Form != tt.form {
			t.Errorf("%s: form %v, want %v", tt.file, d.Form, tt.form)
		}
		if d.HasIDs() != (tt.form == FormDebug2) {
			t.Errorf("%s: HasIDs %v", tt.file, d.HasIDs())
		}
		sum := 0
		for _, g := range d.Goroutines {
			sum += g.Count
			if g.Count < 1 || len(g.Frames) == 0 {
				t.Errorf("%s: entry %+v", tt.file, g)
			}
		}
		if sum != d.Total {
			t.Errorf("%s: Total %d, sum of counts %d", tt.file, d.Total, sum)
		}
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	b, err := os.ReadFile("testdata/blocked.debug2.txt")
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	zw.Close()
	if d, err := ParseBytes(buf.Bytes(), "x.gz"); err != nil || d.Form != FormDebug2 {
		t.Errorf("gzip'd debug=2 dump: %v", err)
	}
}

// TestFormsAgree checks that the text forms of the same dump give the same
// normalised stacks (pprofdump's TestFormsAgree checks the protobuf form).
func TestFormsAgree(t *testing.T) {
	want := userStacks(mustRead(t, "blocked.debug2.txt"))
	if len(want) < 10 {
		t.Fatalf("only %d user stacks in the debug=2 dump: %v", len(want), want)
	}
	for _, name := range []string{"blocked.txt"} {
		got := userStacks(mustRead(t, name))
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: stack %q: %d goroutines, debug=2 has %d", name, k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: stack %q not in the debug=2 dump", name, k)
			}
		}
	}
}

// readTraceStacks reads testdata/blocked.trace.txt: goroutine id -> the
// block stacks the tracer reported for it.
func readTraceStacks(t *testing.T) map[uint64][][]Frame {
	f, err := os.Open("testdata/blocked.trace.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[uint64][][]Frame{}
	var id uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "\t"); ok {
			fr, ok := ParseFrame(s)
			if !ok {
				t.Fatalf("bad frame %q", s)
			}
			st := m[id]
			st[len(st)-1] = append(st[len(st)-1], fr)
			continue
		}
		n, _, _ := strings.Cut(strings.TrimPrefix(line, "G"), " ")
		id, err = strconv.ParseUint(n, 10, 64)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		m[id] = append(m[id], nil)
	}
	return m
}

// TestNormalizeTraceAgrees checks, for every wait kind of the test program
// (mutex, rwmutex, chan send and receive, range over a channel, select,
// sleep, WaitGroup, Cond, network read, generic function), that the
// tracer's block stack and the dump's stack of the same goroutine agree
// after Normalize, functions and positions.
func TestNormalizeTraceAgrees(t *testing.T) {
	trace := readTraceStacks(t)
	for _, name := range []string{"blocked.debug2.txt"} {
		d := mustRead(t, name)
		n := 0
		for _, g := range d.Goroutines {
			dn := Normalize(g.Frames)
			if !strings.HasPrefix(dn[len(dn)-1].Func, "main.") || g.State == "running" {
				continue
			}
			n++
			stacks, ok := trace[g.ID]
			if !ok {
				t.Errorf("goroutine %d [%s]: no block in the trace", g.ID, g.State)
				continue
			}
			found := false
			var tried []string
			for _, st := range stacks {
				tn := Normalize(st)
				if slices.Equal(tn, dn) {
					found = true
					break
				}
				tried = append(tried, strings.Join(funcs(tn), " < "))
			}
			if !found {
				t.Errorf("goroutine %d [%s]: dump stack %q, trace stacks %q", g.ID, g.State, strings.Join(funcs(dn), " < "), tried)
			}
		}
		if n < 12 {
			t.Errorf("only %d goroutines compared", n)
		}
	}
}

func TestNormalize(t *testing.T) {
	fr := func(fns ...string) []Frame {
		var fs []Frame
		for _, f := range fns {
			fs = append(fs, Frame{Func: f, File: "x.go", Line: 1})
		}
		return fs
	}
	for _, tt := range []struct {
		in, want []string
	}{
		{[]string{"runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1", "internal/sync.runtime_SemacquireMutex",
			"internal/sync.(*Mutex).lockSlow", "internal/sync.(*Mutex).Lock", "sync.(*Mutex).Lock", "main.f", "runtime.goexit"},
			[]string{"sync.(*Mutex).Lock", "main.f"}},
		{[]string{"sync.runtime_SemacquireMutex", "sync.(*Mutex).lockSlow", "sync.(*Mutex).Lock", "main.f"}, // Go <= 1.23
			[]string{"sync.(*Mutex).Lock", "main.f"}},
		{[]string{"runtime.chanrecv1", "main.f", "main.main", "runtime.main"}, []string{"main.f", "main.main"}},
		{[]string{"internal/poll.runtime_pollWait", "internal/poll.(*pollDesc).wait", "internal/poll.(*pollDesc).waitRead",
			"internal/poll.(*FD).Read", "net.(*conn).Read"}, []string{"internal/poll.(*FD).Read", "net.(*conn).Read"}},
		{[]string{"runtime.gopark", "runtime.gcBgMarkWorker", "runtime.goexit"}, []string{"runtime.gcBgMarkWorker"}},
		{[]string{"runtime.gopark"}, []string{"runtime.gopark"}},
		{[]string{"main.g[go.shape.int]", "panic", "main.f"}, []string{"main.g[...]", "runtime.gopanic", "main.f"}},
		{nil, nil},
	} {
		got := funcs(Normalize(fr(tt.in...)))
		if !slices.Equal(got, tt.want) {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !IsRuntimeOnly(Normalize(fr("runtime.gopark", "runtime.bgsweep"))) || IsRuntimeOnly(fr("main.f")) {
		t.Error("IsRuntimeOnly")
	}
}

func TestCleanFunc(t *testing.T) {
	for in, want := range map[string]string{
		"main.f":                          "main.f",
		"main.gen[...]":                   "main.gen[...]",
		"main.gen[go.shape.int]":          "main.gen[...]",
		"main.(*T[go.shape.string]).M":    "main.(*T[...]).M",
		"main.f[go.shape.[]int].func1":    "main.f[...].func1",
		"main.f[...].func1[go.shape.int]": "main.f[...].func1[...]",
		"panic":                           "runtime.gopanic",
	} {
		if got := CleanFunc(in); got != want {
			t.Errorf("CleanFunc(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseFrame(t *testing.T) {
	for in, want := range map[string]Frame{
		"sync.(*Mutex).Lock /usr/local/go/src/sync/mutex.go:46": {"sync.(*Mutex).Lock", "/usr/local/go/src/sync/mutex.go", 46},
		"main.f C:/Program Files/x.go:7":                        {"main.f", "C:/Program Files/x.go", 7},
		"main.f":                                                {"main.f", "", 0},
	} {
		got, _ := ParseFrame(in)
		if got != want {
			t.Errorf("ParseFrame(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestDebug2Details(t *testing.T) {
	d := mustRead(t, "blocked.debug2.txt")
	var mutex *Goroutine
	for i, g := range d.Goroutines {
		if g.State == "sync.Mutex.Lock" {
			mutex = &d.Goroutines[i]
			break
		}
	}
	if mutex == nil {
		t.Fatal("no goroutine in sync.Mutex.Lock")
	}
	if !mutex.HasID || mutex.ID == 0 || mutex.CreatedBy == nil || mutex.CreatedBy.Func != "main.main" || mutex.CreatorID != 1 {
		t.Errorf("mutex goroutine: %+v", mutex)
	}
	if got := funcs(mutex.Frames)[:4]; !slices.Equal(got, []string{"internal/sync.runtime_SemacquireMutex",
		"internal/sync.(*Mutex).lockSlow", "internal/sync.(*Mutex).Lock", "sync.(*Mutex).Lock"}) {
		t.Errorf("frames %q", got)
	}

	text := `panic: boom [recovered]

goroutine 1 gp=0xc000002380 m=0 mp=0x5e2a00 [running]:
panic({0x4b3a40?, 0x4f6a30?})
	/usr/local/go/src/runtime/panic.go:787 +0x132
main.main()
	/tmp/x.go:9 +0x25 fp=0xc000066f50 sp=0xc000066f40 pc=0x4a0b25

goroutine 7 [chan receive, 12 minutes, locked to thread labels:{"k": "v, w"}]:
main.deep(...)
	/tmp/x.go:20
...5 frames elided...
main.deep(0x0?)
	/tmp/x.go:20 +0x1d
created by main.main in goroutine 1
	/tmp/x.go:8 +0x1d

goroutine 9 [select (no cases)]:
main.f()
	/tmp/x.go:30 +0x1d
[originating from goroutine 1]:
main.main(...)
	/tmp/x.go:5 +0x1d
goroutine 10 [running]:
	goroutine running on other thread; stack unavailable
exit status 2
`
	d, err := ParseBytes([]byte(text), "t.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Goroutines) != 4 {
		t.Fatalf("%d goroutines: %+v", len(d.Goroutines), d.Goroutines)
	}
	g0, g1, g2, g3 := d.Goroutines[0], d.Goroutines[1], d.Goroutines[2], d.Goroutines[3]
	if g0.ID != 1 || g0.State != "running" || g0.Blocked() || !slices.Equal(funcs(g0.Frames), []string{"runtime.gopanic", "main.main"}) ||
		g0.Frames[1].Line != 9 || g0.Frames[1].File != "/tmp/x.go" {
		t.Errorf("goroutine 1: %+v", g0)
	}
	if g1.ID != 7 || g1.State != "chan receive" || g1.WaitMinutes != 12 || !g1.Elided || len(g1.Frames) != 2 ||
		g1.Labels["k"] != "v, w" || g1.CreatorID != 1 || g1.CreatedBy.Line != 8 || g1.Line != 9 {
		t.Errorf("goroutine 7: %+v", g1)
	}
	if g2.ID != 9 || g2.State != "select (no cases)" || !slices.Equal(funcs(g2.Frames), []string{"main.f"}) {
		t.Errorf("goroutine 9: %+v", g2)
	}
	if g3.ID != 10 || len(g3.Frames) != 0 {
		t.Errorf("goroutine 10: %+v", g3)
	}
}

func TestDebug1Labels(t *testing.T) {
	text := "goroutine profile: total 3\n" +
		"3 @ 0x1 0x2\n" +
		"# labels: {\"a\":\"x\", \"b\":\"y\"}\n" +
		"#\t0x1\tmain.f+0x10\t\t/tmp/x.go:3\n" +
		"#\t0x2\n" +
		"\n"
	d, err := ParseBytes([]byte(text), "t.txt")
	if err != nil {
		t.Fatal(err)
	}
	g := d.Goroutines[0]
	if d.Total != 3 || g.Count != 3 || g.Labels["b"] != "y" || len(g.Frames) != 1 || g.Frames[0] != (Frame{"main.f", "/tmp/x.go", 3}) {
		t.Errorf("%+v", d)
	}
}

func gunzip(t testing.TB, b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestProtoUnregistered checks that, without pprofdump's parser
// registered, protobuf input (gzip'd or raw) and other binary input give an
// *Error naming the import that reads protobuf dumps.
func TestProtoUnregistered(t *testing.T) {
	if parseProtoFunc != nil {
		t.Fatal("a protobuf parser is registered in dump's own tests")
	}
	pb, err := os.ReadFile("testdata/blocked.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	const imp = `needs import _ "github.com/wakeshim/wakeshim/dump/pprofdump" in the program`
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"pb.gz", pb, "d.pb: gzip'd binary data, not text: reading pprof protobuf goroutine profiles (debug=0) " + imp},
		{"raw pb", gunzip(t, pb), "d.pb: not a goroutine dump: not text (debug=1, debug=2), and reading pprof protobuf goroutine profiles (debug=0) " + imp},
		{"binary", []byte{0, 1, 2, 3, 0xff, 0xfe}, "d.pb: not a goroutine dump: not text"},
	} {
		_, err := ParseBytes(tt.data, "d.pb")
		var de *Error
		if err == nil || !errors.As(err, &de) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := ReadFile("testdata/blocked.pb.gz"); err == nil || !strings.Contains(err.Error(), "dump/pprofdump") {
		t.Errorf("ReadFile of a protobuf dump: error %v", err)
	}
}

func TestErrors(t *testing.T) {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	pb, err := os.ReadFile("testdata/blocked.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "d.txt: empty file"},
		{"blank", []byte("\n  \n"), "d.txt: empty file"},
		{"text", []byte("hello\nworld\n"), "d.txt: not a goroutine dump"},
		{"binary", []byte{0, 1, 2, 3, 0xff, 0xfe}, "d.txt: not a goroutine dump"},
		{"truncated pb", pb[:len(pb)/2], "d.txt: bad gzip data"},
		{"bad gzip", gz([]byte("goroutine profile: total 1\n"))[:15], "d.txt: bad gzip data"},
		{"gzip'd text", gz([]byte("hello\n")), "d.txt: not a goroutine dump"},
		{"heap text", []byte("heap profile: 1: 2 [3: 4] @ heap/1048576\n"), `d.txt:1: a "heap profile", not a goroutine profile`},
		{"debug1 header", []byte("goroutine profile: total x\n"), "d.txt:1: bad debug=1 header"},
		{"debug1 entry", []byte("goroutine profile: total 1\nx @ 0x1\n"), "d.txt:2: bad stack entry header"},
		{"debug1 frame", []byte("goroutine profile: total 1\n1 @ 0x1\n#\t0x1\tmain.f+0x1\n"), "d.txt:3: bad frame line"},
		{"debug1 orphan frame", []byte("goroutine profile: total 1\n#\t0x1\tmain.f+0x1\tx.go:1\n"), "d.txt:2: frame line outside"},
		{"debug2 no position", []byte("goroutine 1 [running]:\nmain.main()\nmain.f()\n"), `d.txt:3: goroutine 1: want "\tFILE:LINE" after function main.main`},
		{"debug2 bad position", []byte("goroutine 1 [running]:\nmain.main()\n\tx.go:y +0x1\n"), `d.txt:3: goroutine 1: want`},
		{"debug2 eof", []byte("goroutine 1 [running]:\nmain.main()"), `d.txt:2: goroutine 1: function line "main.main" is not followed`},
	} {
		_, err := ParseBytes(tt.data, "d.txt")
		var de *Error
		if err == nil || !errors.As(err, &de) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := ReadFile("testdata/nonexistent"); err == nil || !strings.Contains(err.Error(), "testdata/nonexistent") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseText checks that no input makes the parser panic, and that what
// it returns is consistent.
func FuzzParseText(f *testing.F) {
	for _, name := range []string{"testdata/blocked.txt", "testdata/blocked.debug2.txt", "testdata/panic.txt",
		"../testdata/traces/preblocked.goroutines.txt", "../testdata/traces/preblocked.goroutines.debug2.txt"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("goroutine 1 [chan receive, 3 minutes labels:{\"a\": \"b\"}]:\nmain.f(...)\n\t/x.go:1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseBytes(data, "fuzz")
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		sum := 0
		for _, g := range d.Goroutines {
			if g.Count < 0 {
				t.Fatalf("count %d", g.Count)
			}
			sum += g.Count
			for _, fr := range g.Frames {
				if fr.Func == "" {
					t.Fatalf("empty function in %+v", g)
				}
			}
			Normalize(g.Frames)
		}
		if sum != d.Total {
			t.Fatalf("total %d, sum %d", d.Total, sum)
		}
	})
}
