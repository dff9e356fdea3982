package rotate

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/format"
)

func TestFileNames(t *testing.T) {
	if got := ProgramName("/usr/bin/my prog.exe"); got != "my_prog" {
		t.Errorf("programName = %q", got)
	}
	var names []string
	for _, seq := range []int{10, 9, 100, 1, 999999} {
		names = append(names, FileName("p-12-", seq, "bin"))
	}
	sort.Strings(names)
	want := []string{"p-12-000001.bin", "p-12-000009.bin", "p-12-000010.bin", "p-12-000100.bin", "p-12-999999.bin"}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("sorted names %v, want %v", names, want)
		}
		if !namePattern().MatchString(names[i]) {
			t.Errorf("%s does not match the pattern", names[i])
		}
	}
}

func TestFilesRotateAndCap(t *testing.T) {
	dir := t.TempDir()
	// An older file of another process (removed first) and one of a
	// previous process with our pid (numbering continues after it).
	old := filepath.Join(dir, "other-7-000003.bin")
	os.WriteFile(old, make([]byte, 5000), 0o644)
	os.Chtimes(old, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	prev := filepath.Join(dir, "prog-42-000005.bin")
	os.WriteFile(prev, make([]byte, 100), 0o644)
	os.Chtimes(prev, time.Now().Add(-time.Minute), time.Now().Add(-time.Minute))
	keep := filepath.Join(dir, "README")
	os.WriteFile(keep, make([]byte, 50000), 0o644)

	f, err := New(dir, "prog", 42, true, 4096, 20000)
	if err != nil {
		t.Fatal(err)
	}
	rec := format.Record{Code: format.CodeWakeEvent, TS: 1, Waker: 2, Task: 3}
	dumpText := bytes.Repeat([]byte("goroutine 1 [running]:\n"), 20)
	for i := range 3000 {
		f.WriteRecord(&rec)
		if i%100 == 0 { // a dump beside each file, counted in the cap
			if err := f.WriteDump(dumpText); err != nil {
				t.Fatal(err)
			}
		}
		if f.Full() {
			f.NextSegment()
		}
	}
	f.Flush()
	f.Close()
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Error("oldest file kept")
	}
	if _, err := os.Stat(keep); err != nil {
		t.Error("unrelated file removed")
	}
	if f.names[0] != filepath.Join(dir, "prog-42-000006.bin") {
		t.Errorf("first name %s, want seq 6", f.names[0])
	}
	var total int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !namePattern().MatchString(e.Name()) {
			continue
		}
		info, _ := e.Info()
		total += info.Size()
		if info.Size() > 4096+100 {
			t.Errorf("%s: %d bytes", e.Name(), info.Size())
		}
	}
	if total > 20000 {
		t.Errorf("total %d over the cap", total)
	}
	dumps, _ := filepath.Glob(filepath.Join(dir, "prog-42-*.goroutines.txt"))
	if len(dumps) == 0 {
		t.Error("no dumps kept")
	}
	for _, d := range dumps {
		if _, err := os.Stat(strings.TrimSuffix(d, ".goroutines.txt") + ".bin"); err != nil {
			t.Errorf("%s outlived its records file", d)
		}
	}
	if f.removed == 0 || f.dropped != 0 {
		t.Errorf("removed %d, dropped %d", f.removed, f.dropped)
	}
}

func TestFilesWriteErrorDrops(t *testing.T) {
	dir := t.TempDir()
	f, err := New(dir, "prog", 1, false, 1<<20, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	rec := format.Record{Code: format.CodeWakeEvent}
	f.WriteRecord(&rec)
	f.binF.Close() // the next flush fails, like a full disk
	for range 10000 {
		if err := f.WriteRecord(&rec); err != nil {
			t.Fatal("WriteRecord returned an error")
		}
	}
	f.Flush()
	if f.failed == nil || f.dropped == 0 {
		t.Errorf("failed %v, dropped %d", f.failed, f.dropped)
	}
	// A new segment recovers.
	f.NextSegment()
	if f.failed != nil || !f.open {
		t.Errorf("after NextSegment: failed %v open %v", f.failed, f.open)
	}
	f.Close()
}

// Two processes share Dir: each rescans it at each new file, so the total
// stays within the cap between them (give or take the other's current
// file, which grew since its last scan).
func TestFilesCapAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	const maxFile, maxTotal = 16 << 10, 64 << 10
	var fs [2]*Files
	for i := range fs {
		f, err := New(dir, "prog", 100+i, false, maxFile, maxTotal)
		if err != nil {
			t.Fatal(err)
		}
		f.LiveAge = 30 * time.Millisecond
		fs[i] = f
	}
	rec := format.Record{Code: format.CodeWakeEvent}
	for round := range 12 {
		for _, f := range fs {
			for !f.Full() {
				if err := f.WriteRecord(&rec); err != nil {
					t.Fatal(err)
				}
				if !f.open {
					t.Fatalf("round %d: not open: %v", round, f.failed)
				}
			}
			f.Flush()
			f.NextSegment()
			if err := f.WriteRecord(&rec); err != nil {
				t.Fatal(err)
			}
			f.Flush()
		}
		time.Sleep(40 * time.Millisecond)
	}
	var total int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && namePattern().MatchString(e.Name()) {
			total += info.Size()
		}
	}
	if total > maxTotal+maxFile {
		t.Errorf("%d bytes in %d files, over the cap %d (+ %d)", total, len(ents), maxTotal, maxFile)
	}
	for _, f := range fs {
		f.Close()
	}
}
