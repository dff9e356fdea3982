package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/format"
)

const (
	fRead     = "internal/poll.(*FD).Read internal/poll/fd_unix.go:165"
	fConnRead = "net.(*conn).Read net/net.go:196"
	fReadLoop = "github.com/nats-io/nats-server/v2/server.(*client).readLoop github.com/nats-io/nats-server/v2/server/client.go:1566"
	fLock     = "sync.(*Mutex).Lock sync/mutex.go:46"
	fAccept   = "net.(*TCPListener).Accept net/tcpsock.go:387"
)

func TestClassify(t *testing.T) {
	m := readerMatch{Func: readerFunc}
	tests := []struct {
		name         string
		frames       []string
		reader, bare bool
	}{
		{"trace stack", []string{"[network]", fRead, fConnRead, fReadLoop}, true, false},
		{"dump vocabulary, net frames dropped", []string{"[IO wait]", fReadLoop}, true, false},
		{"no wait reason, net frames", []string{fConnRead, fReadLoop}, true, false},
		{"another spelling of the wait", []string{"[IO_wait]", fReadLoop}, true, false},
		{"reader blocked on a lock", []string{"[sync]", fLock, fReadLoop}, false, false},
		{"network wait elsewhere", []string{"[network]", fRead, fAccept}, false, false},
		{"pseudo-frame alone", []string{"[unknown]"}, false, true},
		{"no frames", nil, false, true},
		{"undefined frame ids", []string{"", ""}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reader, bare := m.classify(tt.frames)
			if reader != tt.reader || bare != tt.bare {
				t.Errorf("classify(%q) = reader %v, bare %v; want %v, %v", tt.frames, reader, bare, tt.reader, tt.bare)
			}
		})
	}
}

// writeBin writes records as a v9 file and returns its bytes.
func writeBin(t *testing.T, path string, recs []format.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := format.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.WriteRecord(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func frameDefs(frames ...string) []format.Record {
	var rs []format.Record
	for i, f := range frames {
		rs = append(rs, format.Record{Code: format.CodeFrameDef, ID: uint16(i + 1), Str: f})
	}
	return rs
}

const sec = 1_000_000 // µs

func TestAnalyze(t *testing.T) {
	dir := t.TempDir()
	// Frame ids: 1 [network], 2 FD.Read, 3 conn.Read, 4 readLoop, 5 [unknown], 6 [sync], 7 Lock.
	defs := frameDefs("[network]", fRead, fConnRead, fReadLoop, "[unknown]", "[sync]", fLock)
	one := slices.Concat(defs, []format.Record{
		format.Record{Code: format.CodeSpawnLocationDef, ID: 1, Str: "main.main x.go:1"},
		format.Record{Code: format.CodePollStart, TS: 10_000, Task: 5, SpawnLoc: 1},         // defined
		format.Record{Code: format.CodePollEnd, TS: 15_000},                                 // same 10ms bin as above: bin 1
		format.Record{Code: format.CodePollStart, TS: 1*sec + 5_000, Task: 6, SpawnLoc: 2},  // defined after use
		format.Record{Code: format.CodeSpawnLocationDef, ID: 2, Str: "main.f x.go:2"},       //
		format.Record{Code: format.CodePollStart, TS: 1*sec + 15_000, Task: 7, SpawnLoc: 0}, // no location
		format.Record{Code: format.CodePollStart, TS: 1*sec + 25_000, Task: 8, SpawnLoc: 9}, // never defined
		format.Record{Code: format.CodeQueueSample, TS: 3 * sec},                            // not activity
		format.Record{Code: format.CodeTaskPending, TS: 4 * sec, Task: 5, Duration: 3 * sec, Frames: []uint16{1, 2, 3, 4}},
		format.Record{Code: format.CodeTaskPending, TS: 4 * sec, Task: 6, Duration: 2 * sec, Frames: []uint16{6, 7, 4}}, // a reader on a lock: not kept
		format.Record{Code: format.CodeTaskPending, TS: 5 * sec, Task: 6, Duration: 1 * sec, Frames: []uint16{1, 2, 3, 4}},
	})
	writeBin(t, filepath.Join(dir, "srv-1-000001.bin"), one)
	two := slices.Concat(defs, []format.Record{
		format.Record{Code: format.CodeWakeEvent, TS: 500_000, Task: 5},
		format.Record{Code: format.CodeTaskPending, TS: 1 * sec, Task: 5, Duration: 9 * sec, Frames: []uint16{5}},
		format.Record{Code: format.CodeTaskPending, TS: 1 * sec, Task: 99, Duration: 20 * sec, Frames: []uint16{5}}, // bare, not a known reader
	})
	writeBin(t, filepath.Join(dir, "srv-1-000002.bin"), two)

	a, err := analyze(dir, readerMatch{Func: readerFunc})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Files) != 2 {
		t.Fatalf("%d files, want 2", len(a.Files))
	}
	f1 := a.Files[0]
	if f1.Err != nil || f1.Tail != "" {
		t.Fatalf("file 1: err %v, tail %q", f1.Err, f1.Tail)
	}
	if f1.PollStarts != 4 || f1.DefinedHere != 2 || f1.DefinedLater != 1 || f1.ZeroLoc != 1 || f1.Undefined != 1 {
		t.Errorf("file 1 spawn counts: %+v", *f1)
	}
	if f1.LastTS != 5*sec || a.Files[1].Base != 5*time.Second {
		t.Errorf("file 1 last ts %d, file 2 base %v; want %d, 5s", f1.LastTS, a.Files[1].Base, 5*sec)
	}
	if got := a.Records[format.CodePollStart] + a.Records[format.CodeTaskPending]; got != 4+5 {
		t.Errorf("PollStart + TaskPending = %d, want 9", got)
	}

	rs := a.readers()
	if len(rs) != 2 {
		t.Fatalf("%d reader goroutines, want 2 (5 and 6): %+v", len(rs), rs)
	}
	r := rs[0]
	if r.Task != 5 || r.Max.Duration != 9*time.Second || r.Max.Reader || r.Max.At != 6*time.Second || len(r.Records) != 2 || r.Newest.File != "srv-1-000002.bin" {
		t.Errorf("first reader %+v: want goroutine 5, largest its stackless 9s at 6s in file 2, 2 records", r)
	}
	if rs[1].Task != 6 || rs[1].Max.Duration != time.Second {
		t.Errorf("second reader %+v: want goroutine 6 with 1s (its lock wait left out)", rs[1])
	}

	// Activity: bin 1 (10-20ms), bins 100 and 101 (1.005s, 1.015s, 1.025s
	// fall in 100, 101, 102), file 2's wake at 5s+0.5s: bin 550.
	if got := a.coverage(0, 100*time.Millisecond); got != 0.1 {
		t.Errorf("coverage of the first 100ms = %v, want 0.1", got)
	}
	if got := a.coverage(time.Second, time.Second+30*time.Millisecond); got != 1 {
		t.Errorf("coverage of 1s..1.03s = %v, want 1", got)
	}
	if got := a.coverage(5500*time.Millisecond, 5510*time.Millisecond); got != 1 {
		t.Errorf("coverage at 5.5s (file 2's clock chained) = %v, want 1", got)
	}
	if got := a.coverage(2*time.Second, 3*time.Second+10*time.Millisecond); got != 0 {
		t.Errorf("coverage 2s..3.01s = %v, want 0 (a QueueSample is not activity)", got)
	}
}

func TestAnalyzeDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	recs := []format.Record{
		{Code: format.CodeSpawnLocationDef, ID: 1, Str: "main.main x.go:1"},
		{Code: format.CodePollStart, TS: 1, Task: 1, SpawnLoc: 1},
		{Code: format.CodePollStart, TS: 2, Task: 1, SpawnLoc: 1},
	}
	b := writeBin(t, filepath.Join(dir, "srv-1-000001.bin"), recs)
	// Cut the last record in half, as os.Exit can leave a file.
	if err := os.WriteFile(filepath.Join(dir, "srv-1-000001.bin"), b[:len(b)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "srv-1-000002.bin"), []byte("NOTAFILE and more"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := analyze(dir, readerMatch{Func: readerFunc})
	if err != nil {
		t.Fatal(err)
	}
	cut, bad := a.Files[0], a.Files[1]
	if cut.Err != nil || cut.Tail == "" || cut.PollStarts != 1 || cut.DefinedHere != 1 {
		t.Errorf("cut file: err %v, tail %q, %d PollStarts (%d defined); want a tail and the complete record", cut.Err, cut.Tail, cut.PollStarts, cut.DefinedHere)
	}
	if bad.Err == nil {
		t.Errorf("a file with a bad magic gave no error")
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
}

func TestIdentify(t *testing.T) {
	rec := func(at, d time.Duration) pendingRec { return pendingRec{At: at, Duration: d, Reader: true} }
	task := func(id uint32, recs ...pendingRec) readerTask {
		rt := readerTask{Task: id, Records: recs}
		for _, p := range recs {
			if p.Duration > rt.Max.Duration {
				rt.Max = p
			}
		}
		return rt
	}
	const longest, from, to = 8 * time.Second, 2 * time.Second, 11 * time.Second
	tests := []struct {
		name string
		rs   []readerTask
		want int // index, -1 for none
	}{
		{"none", nil, -1},
		{"longer than any load connection", []readerTask{task(1, rec(11*time.Second, 10*time.Second)), task(2, rec(time.Second, time.Second))}, 0},
		{"only one alive after the load", []readerTask{task(1, rec(3*time.Second, 2*time.Second)), task(2, rec(12*time.Second, time.Second))}, 1},
		{"only one before the load", []readerTask{task(1, rec(3*time.Second, 2*time.Second)), task(2, rec(1*time.Second, time.Second))}, 1},
		{"two outside the load: the longest", []readerTask{task(1, rec(12*time.Second, 3*time.Second)), task(2, rec(1*time.Second, time.Second))}, 0},
		{"all inside the load: unknown", []readerTask{task(1, rec(3*time.Second, 2*time.Second)), task(2, rec(10*time.Second, time.Second))}, -1},
		{"exactly the longest a load connection lived is not evidence", []readerTask{task(1, rec(8*time.Second, longest))}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := identify(tt.rs, longest, from, to)
			if got != tt.want || (got >= 0) != (why != "") {
				t.Errorf("identify = %d (%q), want %d", got, why, tt.want)
			}
		})
	}
}
