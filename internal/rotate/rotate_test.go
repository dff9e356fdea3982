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

// TestHoldForShip: closed files wait for the shipper; which of the
// directory's files are its; Shipped frees the cap at once; past the cap
// the oldest unshipped files go first, counted.
func TestHoldForShip(t *testing.T) {
	dir := t.TempDir()
	past := time.Now().Add(-time.Hour)
	mk := func(name string, size int, mod time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mod, mod)
		return p
	}
	deadOld := mk("prog-7-000001.bin", 100, past)                    // a dead process: ours to ship
	deadDump := mk("prog-7-000001.goroutines.txt", 10, past)         // its dump goes with it
	liveOld := mk("prog-8-000001.bin", 100, past)                    // a running sibling's: not ours
	otherProg := mk("other-7-000001.bin", 100, past)                 // another program's: never
	prevSelf := mk("prog-42-000002.bin", 100, past.Add(time.Minute)) // our pid, an earlier process
	alive := func(pid int) bool { return pid == 8 }

	f, err := New(dir, "prog", 42, false, 4096, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	f.HoldForShip(alive)
	closed := 0
	f.OnClose = func() { closed++ }
	rec := format.Record{Code: format.CodeWakeEvent, TS: 1, Waker: 2, Task: 3}
	for f.Full() == false {
		f.WriteRecord(&rec)
	}
	f.WriteDump([]byte("goroutine 1 [running]:\n"))
	f.Flush()
	groups, err := f.Unshipped()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups {
		got = append(got, filepath.Base(g.Records))
	}
	// The current file (seq 3, open) is not listed.
	want := []string{"prog-7-000001.bin", "prog-42-000002.bin"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Unshipped = %v, want %v", got, want)
	}
	if len(groups[0].Files) != 2 || groups[0].PID != 7 {
		t.Errorf("group %+v: want the .bin and its dump, pid 7", groups[0])
	}
	f.NextSegment()
	if closed != 1 {
		t.Errorf("OnClose called %d times, want 1", closed)
	}
	groups, _ = f.Unshipped()
	if len(groups) != 3 || filepath.Base(groups[2].Records) != "prog-42-000003.bin" || len(groups[2].Files) != 2 {
		t.Fatalf("after rotation: %+v", groups)
	}
	for _, g := range groups {
		if err := f.Shipped(g); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{deadOld, deadDump, prevSelf} {
		if fileExists(p) {
			t.Errorf("%s not removed once shipped", p)
		}
	}
	for _, p := range []string{liveOld, otherProg} {
		if !fileExists(p) {
			t.Errorf("%s removed", p)
		}
	}
	if f.ShippedGroups() != 3 {
		t.Errorf("ShippedGroups = %d", f.ShippedGroups())
	}
	// Nothing shipped counts toward the cap any more.
	f.mu.Lock()
	for _, o := range f.old {
		if o.path != liveOld && o.path != otherProg {
			t.Errorf("%s still counted toward the cap", o.path)
		}
	}
	f.mu.Unlock()
	f.Close()
}

// TestCapDropsUnshipped: with nothing shipped (an outage), the cap removes
// the oldest unshipped files first and counts them.
func TestCapDropsUnshipped(t *testing.T) {
	dir := t.TempDir()
	f, err := New(dir, "prog", 42, false, 4096, 5*4096)
	if err != nil {
		t.Fatal(err)
	}
	f.HoldForShip(func(int) bool { return false })
	rec := format.Record{Code: format.CodeWakeEvent, TS: 1, Waker: 2, Task: 3}
	for len(f.Names()) < 12 {
		f.WriteRecord(&rec)
		if f.Full() {
			f.NextSegment()
			f.Flush()
		}
	}
	f.Close()
	groups, _ := f.Unshipped()
	n := f.DroppedUnshipped()
	if n == 0 || n != f.Removed() {
		t.Fatalf("DroppedUnshipped %d, Removed %d: want the same, not 0", n, f.Removed())
	}
	if n+len(groups) != len(f.Names()) {
		t.Errorf("%d dropped + %d kept != %d written", n, len(groups), len(f.Names()))
	}
	// The ones kept are the newest.
	for i, g := range groups {
		if want := f.Names()[n+i]; g.Records != want {
			t.Errorf("kept %s, want %s", g.Records, want)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestPauses: the pauses of a file are appended beside it at each Flush
// (header once), read back whole, counted toward the cap, closed with
// the file, and go with its group when shipped.
func TestPauses(t *testing.T) {
	dir := t.TempDir()
	f, err := New(dir, "prog", 42, false, 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	f.HoldForShip(nil)
	rec := format.Record{Code: format.CodeWakeEvent, TS: 1, Waker: 2, Task: 3}
	f.WriteRecord(&rec)
	want := []format.Pause{{TS: 5, Duration: 120, Reason: "GC sweep termination"}, {TS: 900, Duration: 40, Reason: "start trace"}}
	f.WritePause(&want[0])
	f.Flush()
	before := f.BytesWritten()
	f.WritePause(&want[1])
	if f.BytesWritten() <= before {
		t.Errorf("a pause not yet flushed is not counted: %d bytes after, %d before", f.BytesWritten(), before)
	}
	f.NextSegment() // closes the first file's pauses with it
	name := filepath.Join(dir, FileName("prog-42-", 1, format.PauseExt))
	pf, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	pr, err := format.NewPauseReader(pf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		p, err := pr.Next()
		if err != nil || p != want[i] {
			t.Fatalf("pause %d: %+v, %v; want %+v", i, p, err, want[i])
		}
	}
	if p, err := pr.Next(); err == nil {
		t.Fatalf("a third pause %+v", p)
	}
	groups, err := f.Unshipped()
	if err != nil || len(groups) != 1 || len(groups[0].Files) != 2 {
		t.Fatalf("groups %+v, %v: want the first file with its pauses", groups, err)
	}
	if err := f.Shipped(groups[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("pauses file still there after shipping: %v", err)
	}
}
