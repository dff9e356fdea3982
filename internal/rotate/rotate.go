// Package rotate writes a stream of v9 records to a series of files,
// DIR/PREFIX-SEQ.bin (and .jsonl), a new one at each segment or when one
// reaches its size limit, under a cap on the total size of every wakeshim
// file in DIR, with a goroutine dump kept beside each records file. The
// shim and wakeshim attach write their files with it, so that both name,
// rotate and cap their files the same way (docs/shim.md, docs/attach.md).
package rotate

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wakeshim/wakeshim/format"
)

// namePattern matches the names of wakeshim files: PROGRAM-PID-SEQ.bin,
// .jsonl, .goroutines.txt, .goroutineleak.txt or .pauses.txt. The total cap applies to every file in Dir of
// this shape. Compiled on first use: a program that imports the shim and
// leaves it off must not allocate at init.
var namePattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(.+)-([0-9]+)-([0-9]{6,})\.(bin|jsonl|goroutines\.txt|goroutineleak\.txt|pauses\.txt)$`)
})

// DumpExt names the goroutine dump kept beside a file (Config.Dumps).
const DumpExt = "goroutines.txt"

// LeakExt names the goroutineleak profile kept beside a file (the shim's
// Config.LeakProfile, attach's): the name wakeshim report recognises in a
// directory (analyze.IsLeakProfileName) and matches to the records of the
// same PROG-PID.
const LeakExt = "goroutineleak.txt"

// FileName is the name of file seq of a program and process.
func FileName(prefix string, seq int, ext string) string {
	return fmt.Sprintf("%s%06d.%s", prefix, seq, ext)
}

// ProgramName is the base name of the executable arg0, made safe for a
// file name (SafeName).
func ProgramName(arg0 string) string {
	return SafeName(strings.TrimSuffix(filepath.Base(arg0), ".exe"))
}

// SafeName returns s with every character other than an ASCII letter,
// digit, '-', '_' or '.' replaced by '_' ("prog" if nothing is left, or
// only dots).
func SafeName(s string) string {
	p := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
	if p == "" || p == "." || p == ".." {
		p = "prog"
	}
	return p
}

type oldFile struct {
	path string
	size int64
	mod  time.Time
}

// Files is the convert.Output of a session (the shim's, an attach run's): a series of files
// DIR/PREFIX-SEQ.bin (and .jsonl), a new one at each segment, with the size
// limit per file and the total cap on the directory. It never returns a
// write error to the converter (that would stop the conversion): a failed
// write (a full disk) closes the files, counts the records dropped from
// then on and leaves it to the session to try again later with a new
// segment (Rotate). Not safe for concurrent use.
type Files struct {
	dir, prefix string
	prog        string
	pid         int
	jsonl       bool
	maxFile     int64
	maxTotal    int64

	seq    int
	open   bool
	binF   *os.File
	binBuf *bufio.Writer
	bin    *format.Writer
	jsF    *os.File
	jsBuf  *bufio.Writer
	js     *format.JSONLWriter
	w      format.HotWriter

	old      []oldFile // closed files in Dir, oldest first
	oldTotal int64
	// othersLive is the size of other processes' files that may be open
	// (modified within LiveAge at the last scan): counted, not removed.
	othersLive int64
	// LiveAge is how recently another writer's file must have been
	// modified to be taken for one it still writes (counted toward the
	// cap, never removed). New sets DefaultLiveAge; set it before the
	// first record to match how often the writers flush.
	LiveAge time.Duration

	// sides are the files kept beside the current one (its goroutine
	// dump, its goroutineleak profile), once written: DumpExt, LeakExt.
	sides [2]side
	// The current file's pauses (WritePause): pauseBuf is what is not
	// written yet, pauseF the file once opened, pauseSize its size.
	pauseBuf  []byte
	pauseF    *os.File
	pauseSize int64

	// OnClose, if set, is called (on the writer's goroutine) after the
	// current files were closed: a shipper's cue (HoldForShip).
	OnClose func()

	// mu guards old, oldTotal and the shipping state below: with
	// HoldForShip, a shipper's goroutine calls Unshipped and Shipped
	// while the writer writes.
	mu sync.Mutex
	// hold: HoldForShip was called; alive tells whether a process of
	// that pid runs (its files are its own shipper's).
	hold  bool
	alive func(pid int) bool
	// openSeq is the sequence number of the files being written (0:
	// none), set before they are created, so that a shipper never takes
	// them for closed ones.
	openSeq          int
	shipped          int
	droppedUnshipped int

	failed  error // the write error that closed the files, until a new segment opens
	dropped int64 // records not written because of a write error
	written int64 // bytes of all files this session wrote
	names   []string
	removed int
}

// New starts writing files named DIR/PROG-ID-SEQ.bin (and .jsonl with
// jsonl): PROG a name made safe by SafeName, ID a number (the shim's
// process id, the port attach reads from), so that every wakeshim file
// matches one pattern (the cap's). It creates dir if needed and continues
// the numbering of the files of the same PROG-ID found there. No file is
// opened before the first record. maxFile is the size at which Full
// reports true; maxTotal caps all wakeshim files in dir.
func New(dir, prog string, pid int, jsonl bool, maxFile, maxTotal int64) (*Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f := &Files{dir: dir, prog: prog, pid: pid, prefix: fmt.Sprintf("%s-%d-", prog, pid), jsonl: jsonl, maxFile: maxFile, maxTotal: maxTotal,
		LiveAge: DefaultLiveAge}
	if err := f.scan(); err != nil {
		return nil, err
	}
	return f, nil
}

// DefaultLiveAge is the default of Files.LiveAge: twice the shim's longest
// Interval (a live process flushes its current file at least that often
// while it has records).
const DefaultLiveAge = 2 * time.Second

// scan lists the wakeshim files in Dir (of every program and process), for
// the total cap: at Start, and again at each new file, so that processes
// sharing Dir keep the total within the cap between them. Another
// process's file modified within LiveAge may be the one it is writing: it
// counts toward the total but is not removed. At Start, a process with
// the same name and pid (a restarted container's pid 1) continues the
// numbering instead of overwriting.
func (f *Files) scan() error {
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		return err
	}
	mine := make(map[string]bool, len(f.names))
	for _, n := range f.names {
		mine[n] = true
	}
	cur := map[string]bool{}
	if f.binF != nil {
		cur[f.binF.Name()] = true
	}
	if f.jsF != nil {
		cur[f.jsF.Name()] = true
	}
	for _, sd := range f.sides {
		if sd.name != "" {
			cur[sd.name] = true
		}
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.old, f.oldTotal, f.othersLive = f.old[:0], 0, 0
	for _, e := range ents {
		m := namePattern().FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(f.dir, e.Name())
		if cur[path] {
			continue // counted by current
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if m[1]+"-"+m[2]+"-" == f.prefix {
			if n, err := strconv.Atoi(m[3]); err == nil && n > f.seq {
				f.seq = n
			}
		}
		if !mine[path] && now.Sub(info.ModTime()) < f.LiveAge {
			f.othersLive += info.Size()
			continue
		}
		f.old = append(f.old, oldFile{path: path, size: info.Size(), mod: info.ModTime()})
		f.oldTotal += info.Size()
	}
	slices.SortStableFunc(f.old, func(a, b oldFile) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	return nil
}

// openNext starts the next file (pair).
func (f *Files) openNext() error {
	f.seq++
	f.mu.Lock()
	f.openSeq = f.seq
	f.mu.Unlock()
	name := filepath.Join(f.dir, FileName(f.prefix, f.seq, "bin"))
	bf, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		f.mu.Lock()
		f.openSeq = 0
		f.mu.Unlock()
		return err
	}
	f.binF, f.binBuf = bf, bufio.NewWriterSize(bf, 64<<10)
	f.names = append(f.names, name)
	if f.bin, err = format.NewWriter(f.binBuf); err != nil {
		f.closeFiles()
		return err
	}
	ws := []format.RecordWriter{f.bin}
	if f.jsonl {
		name := filepath.Join(f.dir, FileName(f.prefix, f.seq, "jsonl"))
		jf, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			f.closeFiles()
			return err
		}
		f.names = append(f.names, name)
		f.jsF, f.jsBuf = jf, bufio.NewWriterSize(jf, 64<<10)
		f.js = format.NewJSONLWriter(f.jsBuf)
		ws = append(ws, f.js)
	}
	f.w = format.HotOf(format.MultiWriter(ws...))
	f.open = true
	f.failed = nil
	f.scan() // (on an error, the list of the last scan stands)
	f.enforceCap()
	return nil
}

// WriteRecord writes r to the current files, opening the first ones if
// needed. It returns nil even when the record is dropped.
func (f *Files) WriteRecord(r *format.Record) error {
	if !f.ready() {
		return nil
	}
	if err := f.w.WriteRecord(r); err != nil {
		f.Fail(err)
		f.dropped++
	}
	return nil
}

// WriteHot is WriteRecord's fast lane (format.HotWriter): most records
// are Hot.
func (f *Files) WriteHot(h format.Hot) error {
	if !f.ready() {
		return nil
	}
	if err := f.w.WriteHot(h); err != nil {
		f.Fail(err)
		f.dropped++
	}
	return nil
}

// ready opens the first files if none is open yet; false, having counted
// the record dropped, if none can be.
func (f *Files) ready() bool {
	if f.open {
		return true
	}
	if f.failed == nil && len(f.names) == 0 {
		if err := f.openNext(); err != nil {
			f.Fail(err)
		}
	}
	if !f.open {
		f.dropped++
	}
	return f.open
}

// Full reports whether the current file reached the size limit.
func (f *Files) Full() bool {
	if !f.open {
		return false
	}
	if f.bin.Offset() >= f.maxFile {
		return true
	}
	return f.js != nil && f.js.Offset() >= f.maxFile
}

// NextSegment closes the current files and opens the next ones.
func (f *Files) NextSegment() error {
	f.closeFiles()
	if err := f.openNext(); err != nil {
		f.Fail(err)
	}
	return nil
}

// Close closes the current files. It returns the write error that stopped
// writing, if any.
func (f *Files) Close() error {
	f.enforceCap() // for what was written since the last Flush
	f.closeFiles()
	return f.failed
}

// WritePause keeps a stop-the-world pause of the traced program for the
// current file (convert.PauseOutput): the pauses are appended to
// PROG-PID-SEQ.pauses.txt beside it when the records are flushed, and
// counted toward MaxTotal. A pause that cannot be written is dropped
// with the records (a full disk): they go together.
func (f *Files) WritePause(p *format.Pause) error {
	if !f.open {
		return nil
	}
	f.pauseBuf = format.AppendPause(f.pauseBuf, p)
	return nil
}

// flushPauses appends the pauses not written yet to the current file's
// pauses file, creating it (with its header) for the first.
func (f *Files) flushPauses() error {
	if len(f.pauseBuf) == 0 {
		return nil
	}
	b := f.pauseBuf
	f.pauseBuf = f.pauseBuf[:0]
	if f.pauseF == nil {
		name := filepath.Join(f.dir, FileName(f.prefix, f.seq, format.PauseExt))
		pf, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		f.pauseF = pf
		f.names = append(f.names, name)
		b = append([]byte(format.PauseHeader), b...)
	}
	n, err := f.pauseF.Write(b) // (one write: a reader sees whole lines)
	f.pauseSize += int64(n)
	return err
}

// Flush writes the buffered records to the files.
func (f *Files) Flush() {
	if !f.open {
		return
	}
	if err := f.binBuf.Flush(); err != nil {
		f.Fail(err)
		return
	}
	if err := f.flushPauses(); err != nil {
		f.Fail(err)
		return
	}
	if f.jsBuf != nil {
		if err := f.jsBuf.Flush(); err != nil {
			f.Fail(err)
			return
		}
	}
	f.enforceCap()
}

// Fail closes the files after a write error err (the first one is kept):
// records are dropped and counted from then on, until NextSegment.
func (f *Files) Fail(err error) {
	if f.failed == nil {
		f.failed = err
	}
	f.closeFiles()
}

// closeFiles flushes and closes the current files (ignoring errors: a
// failed flush leaves a file of valid records and a truncated tail).
func (f *Files) closeFiles() {
	if !f.open && f.binF == nil {
		return
	}
	if f.open {
		if err := f.flushPauses(); err != nil && f.failed == nil {
			f.failed = err
		}
	}
	f.pauseBuf = f.pauseBuf[:0]
	f.mu.Lock()
	if f.pauseF != nil {
		// Listed first, like the other side files.
		f.pauseF.Close()
		f.written += f.pauseSize
		f.old = append(f.old, oldFile{path: f.pauseF.Name(), size: f.pauseSize, mod: time.Now()})
		f.oldTotal += f.pauseSize
		f.pauseF, f.pauseSize = nil, 0
	}
	for i := range f.sides {
		sd := &f.sides[i]
		if sd.name == "" {
			continue
		}
		// Listed first, so that the cap removes a dump before its records.
		f.written += sd.size
		f.old = append(f.old, oldFile{path: sd.name, size: sd.size, mod: time.Now()})
		f.oldTotal += sd.size
		*sd = side{}
	}
	for _, p := range []struct {
		f *os.File
		b *bufio.Writer
	}{{f.binF, f.binBuf}, {f.jsF, f.jsBuf}} {
		if p.f == nil {
			continue
		}
		if err := p.b.Flush(); err != nil && f.failed == nil {
			f.failed = err
		}
		size := int64(0)
		if info, err := p.f.Stat(); err == nil {
			size = info.Size()
		}
		p.f.Close()
		f.written += size
		f.old = append(f.old, oldFile{path: p.f.Name(), size: size, mod: time.Now()})
		f.oldTotal += size
	}
	f.open = false
	f.openSeq = 0
	f.mu.Unlock()
	f.binF, f.binBuf, f.bin, f.jsF, f.jsBuf, f.js, f.w = nil, nil, nil, nil, nil, nil, nil
	if f.OnClose != nil {
		f.OnClose()
	}
}

// side is a file kept beside the current records file.
type side struct {
	name string
	size int64
}

// WriteDump keeps a goroutine dump beside the current file, as
// PROGRAM-PID-SEQ.goroutines.txt, replacing the one written before for
// that file: each records file ends up with the last dump taken while it
// was current, for cmd/dumpdiff. The dump is written to a temporary file
// and renamed, so a reader never sees half of one. It counts toward
// MaxTotal like the records.
func (f *Files) WriteDump(b []byte) error { return f.writeSide(0, DumpExt, b) }

// WriteLeak keeps a goroutineleak profile (debug=2 text) beside the
// current file, as PROGRAM-PID-SEQ.goroutineleak.txt, the way WriteDump
// keeps a dump: the last profile taken while the file was current,
// replaced atomically, counted toward MaxTotal. A leaked goroutine stays
// leaked (nothing can ever wake it), so the last profile of each file
// holds every leak proven by then.
func (f *Files) WriteLeak(b []byte) error { return f.writeSide(1, LeakExt, b) }

func (f *Files) writeSide(i int, ext string, b []byte) error {
	if !f.open {
		return nil
	}
	name := filepath.Join(f.dir, FileName(f.prefix, f.seq, ext))
	tmp, err := os.CreateTemp(f.dir, ".wakeshim-side-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o644) // like the records, not CreateTemp's 0600
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	sd := &f.sides[i]
	if sd.name == "" {
		f.names = append(f.names, name)
	}
	sd.name, sd.size = name, int64(len(b))
	f.enforceCap()
	return nil
}

// current returns the bytes written to the current files, buffered ones
// included.
func (f *Files) current() int64 {
	if !f.open {
		return 0
	}
	n := f.bin.Offset() + f.sides[0].size + f.sides[1].size + f.pauseSize + int64(len(f.pauseBuf))
	if f.js != nil {
		n += f.js.Offset()
	}
	return n
}

// enforceCap removes the oldest closed files until the total is within the
// cap. The current files are never removed.
//
// With HoldForShip, files not shipped yet are removed like the others,
// oldest first (files shipped are gone already: Shipped removes them);
// the records files among them are counted (DroppedUnshipped).
func (f *Files) enforceCap() {
	cur := f.current()
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.old) > 0 && f.oldTotal+f.othersLive+cur > f.maxTotal {
		o := f.old[0]
		f.old = f.old[1:]
		f.oldTotal -= o.size
		if err := os.Remove(o.path); err == nil || os.IsNotExist(err) {
			f.removed++
			if f.hold && strings.HasSuffix(o.path, ".bin") {
				if _, _, _, ok := f.shippable(filepath.Base(o.path)); ok {
					f.droppedUnshipped++
				}
			}
		}
	}
}

// CurrentName returns the name of the current .bin file ("" if none).
func (f *Files) CurrentName() string {
	if !f.open || f.binF == nil {
		return ""
	}
	return f.binF.Name()
}

// BytesWritten returns the bytes written, the current files'
// included.
func (f *Files) BytesWritten() int64 { return f.written + f.current() }

// Open reports whether a file is open for records.
func (f *Files) Open() bool { return f.open }

// Failed returns the write error that closed the files, until NextSegment
// opens new ones (nil if none).
func (f *Files) Failed() error { return f.failed }

// Dropped returns the number of records dropped after write errors.
func (f *Files) Dropped() int64 { return f.dropped }

// Names returns the names of every file opened, in order.
func (f *Files) Names() []string { return f.names }

// Removed returns the number of files the cap removed.
func (f *Files) Removed() int { return f.removed }

// Group is a closed records file waiting to be shipped, with the files
// kept beside it (its JSONL rendering, goroutine dump, goroutineleak
// profile): Unshipped lists them, Shipped removes them.
type Group struct {
	// Records is the records file: the .bin, or the .jsonl when alone.
	Records string
	// Files is every file of the group, Records included.
	Files []string
	// PID is the process that wrote it (from its name).
	PID int
	// Mod is the records file's modification time.
	Mod time.Time
}

// HoldForShip makes the files wait for a shipper: closed files stay in
// Dir (subject to the cap) until Shipped removes them. The files to ship
// (Unshipped) are those of this program (the PROG of New): the closed
// files of this process, those of an earlier process with the same pid (a
// restarted container's pid 1), and those of processes of another pid
// that alive reports gone (their own shipper cannot ship them any more);
// never the files of another program, nor those of a running process of
// this one. Call it before the first record.
func (f *Files) HoldForShip(alive func(pid int) bool) {
	f.mu.Lock()
	f.hold, f.alive = true, alive
	f.mu.Unlock()
}

// shippable parses name and tells whether it belongs to a closed group to
// ship (f.mu held).
func (f *Files) shippable(name string) (pid, seq int, ext string, ok bool) {
	m := namePattern().FindStringSubmatch(name)
	if m == nil || m[1] != f.prog {
		return 0, 0, "", false
	}
	pid, err := strconv.Atoi(m[2])
	if err != nil {
		return 0, 0, "", false
	}
	seq, err = strconv.Atoi(m[3])
	if err != nil {
		return 0, 0, "", false
	}
	if pid == f.pid {
		return pid, seq, m[4], seq != f.openSeq
	}
	return pid, seq, m[4], f.alive != nil && !f.alive(pid)
}

// Unshipped lists the closed groups to ship (see HoldForShip), oldest
// first (by the records file's modification time). Safe to call while
// the files are written.
func (f *Files) Unshipped() ([]Group, error) {
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.hold {
		return nil, nil
	}
	type key struct{ pid, seq int }
	groups := map[key]*Group{}
	var jsonlOnly = map[key]string{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		pid, seq, ext, ok := f.shippable(e.Name())
		if !ok {
			continue
		}
		k := key{pid, seq}
		g := groups[k]
		if g == nil {
			g = &Group{PID: pid}
			groups[k] = g
		}
		path := filepath.Join(f.dir, e.Name())
		g.Files = append(g.Files, path)
		switch ext {
		case "bin":
			g.Records = path
		case "jsonl":
			jsonlOnly[k] = path
		}
	}
	var out []Group
	for k, g := range groups {
		if g.Records == "" {
			g.Records = jsonlOnly[k]
		}
		if g.Records == "" {
			continue // a dump or profile alone: left to the cap
		}
		info, err := os.Stat(g.Records)
		if err != nil {
			continue
		}
		g.Mod = info.ModTime()
		slices.Sort(g.Files)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		if c := a.Mod.Compare(b.Mod); c != 0 {
			return c
		}
		return strings.Compare(a.Records, b.Records)
	})
	return out, nil
}

// Shipped removes the files of g, acknowledged by the shipper's
// destination: they no longer count toward the cap. Safe to call while
// the files are written.
func (f *Files) Shipped(g Group) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	gone := make(map[string]bool, len(g.Files))
	var first error
	for _, p := range g.Files {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) && first == nil {
			first = err
		}
		gone[p] = true
	}
	f.old = slices.DeleteFunc(f.old, func(o oldFile) bool {
		if gone[o.path] {
			f.oldTotal -= o.size
			return true
		}
		return false
	})
	f.shipped++
	return first
}

// ShippedGroups returns the number of groups Shipped removed.
func (f *Files) ShippedGroups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.shipped
}

// DroppedUnshipped returns the number of records files the cap removed
// before they were shipped (with HoldForShip).
func (f *Files) DroppedUnshipped() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.droppedUnshipped
}
