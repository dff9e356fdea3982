package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/format"
)

// binWidth is the width of the time bins the coverage estimate counts: a
// bin is covered when a file holds a scheduling record in it. Under load a
// traced stretch has scheduling events every few microseconds, so a 10ms
// bin with none is a stretch the tracer did not record.
const binWidth = 10 * time.Millisecond

// readerMatch says which TaskPending records are the blocks of a
// connection's reader goroutine: a frame whose function contains Func (for
// nats-server, "server.(*client).readLoop"), blocked on the network (wait
// reason [network] or [IO wait], or a frame of the net read path).
type readerMatch struct {
	Func string
}

// netReadFuncs are functions of the read path under a net.Conn's Read: a
// stack holding one of them is blocked reading the network, whatever wait
// reason the record gives.
var netReadFuncs = []string{
	"internal/poll.runtime_pollWait",
	"internal/poll.(*pollDesc).waitRead",
	"internal/poll.(*FD).Read",
	"net.(*conn).Read",
	"net.(*netFD).Read",
}

// netWaitWords are what the pseudo-frame of a network wait contains, in
// lower case: the trace's "[network]", the goroutine dump's "[IO wait]",
// and spellings of them a unified vocabulary may choose.
var netWaitWords = []string{"network", "io wait", "io_wait", "iowait", "netpoll"}

// frameFunc is the function part of a frame string: frames are
// "FUNCTION FILE:LINE", or a bracketed wait reason.
func frameFunc(f string) string {
	if i := strings.IndexByte(f, ' '); i >= 0 && !strings.HasPrefix(f, "[") {
		return f[:i]
	}
	return f
}

// classify tells whether a TaskPending's frames are a reader's network
// wait (reader), or carry no stack at all, only a pseudo-frame or nothing
// (bare: the converter saw the block but not where it was).
func (m readerMatch) classify(frames []string) (reader, bare bool) {
	real := 0
	inFunc, inNet := false, false
	for i, f := range frames {
		if i == 0 && strings.HasPrefix(f, "[") {
			lf := strings.ToLower(f)
			for _, w := range netWaitWords {
				if strings.Contains(lf, w) {
					inNet = true
				}
			}
			continue
		}
		real++
		fn := frameFunc(f)
		if strings.Contains(fn, m.Func) {
			inFunc = true
		}
		for _, n := range netReadFuncs {
			if fn == n {
				inNet = true
			}
		}
	}
	return inFunc && inNet, real == 0
}

// pendingRec is one TaskPending kept for the reader analysis.
type pendingRec struct {
	File     string
	TS       uint32        // the record's time stamp in its file's clock (µs)
	At       time.Duration // estimated time since the server started (see mapping)
	Task     uint32
	Duration time.Duration
	Reader   bool // the frames are a reader's network wait
	Top      string
}

// fileFacts is what one .bin file holds.
type fileFacts struct {
	Name    string
	Bytes   int64
	Records [format.NumCodes]int
	LastTS  uint32
	Base    time.Duration // estimated server time of the file's clock zero
	Tail    string        // a truncated tail ("" if the file ends cleanly)
	Err     error         // any other decode error

	PollStarts   int // all PollStart records
	ZeroLoc      int // PollStarts with spawn_loc_id 0 (origin unknown)
	DefinedHere  int // PollStarts whose non-zero spawn_loc_id is defined in this file
	Undefined    int // PollStarts whose non-zero spawn_loc_id is not defined in this file
	DefinedLater int // of DefinedHere: referenced before the definition

	Checked      int      // TaskPendings of at least minCheck checked against the goroutine's own PollStarts
	Contradicted int      // of those, blocks during which the file shows the goroutine start running
	Examples     []string // a few of them
}

// minCheck is the shortest TaskPending checked for PollStarts inside its
// block, and slack the margin left at each end of the block (a wake and the
// start that follows it can share a time stamp).
const (
	minCheck = 2 * time.Millisecond
	slack    = 1000 // µs
)

// DefinedShare is the share of the file's PollStarts naming a location
// defined in the file.
func (f *fileFacts) DefinedShare() float64 {
	if f.PollStarts == 0 {
		return 1
	}
	return float64(f.DefinedHere) / float64(f.PollStarts)
}

// analysis is everything the driver reads from one run's files.
type analysis struct {
	Files   []*fileFacts
	Records [format.NumCodes]int
	Bytes   int64
	Pending []pendingRec // reader-shaped and bare TaskPendings
	covered map[int64]bool
}

// isActivity reports whether a record shows the tracer recording at its
// time: scheduling and wake records (not QueueSample, which the converter
// may emit for times it did not see, nor definitions, nor TaskPending,
// which the sampler writes during pauses too).
func isActivity(c format.Code) bool {
	switch c {
	case format.CodePollStart, format.CodePollEnd, format.CodeWorkerPark, format.CodeWorkerUnpark, format.CodeWakeEvent:
		return true
	}
	return false
}

// binFiles lists the .bin files of dir in name order (one process's files
// sort in time order).
func binFiles(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.bin"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// analyze decodes every .bin file in dir. Each file's clock starts at its
// first event; a rotated file starts at the time of the last event of the
// one before, so the files' clocks are chained, the first one's zero taken
// as the server's start (the shim starts in the server's init): a record at
// ts in file k is at Base_k + ts, Base_1 = 0, Base_{k+1} = Base_k +
// LastTS_k. This is an estimate, good to a few tens of milliseconds, used
// only to place records in the run's timeline.
func analyze(dir string, m readerMatch) (*analysis, error) {
	names, err := binFiles(dir)
	if err != nil {
		return nil, err
	}
	a := &analysis{covered: map[int64]bool{}}
	var base time.Duration
	for _, name := range names {
		f, err := analyzeFile(name, base, m, a)
		if err != nil {
			return nil, err
		}
		a.Files = append(a.Files, f)
		for c, n := range f.Records {
			a.Records[c] += n
		}
		a.Bytes += f.Bytes
		base += time.Duration(f.LastTS) * time.Microsecond
	}
	return a, nil
}

func analyzeFile(name string, base time.Duration, m readerMatch, a *analysis) (*fileFacts, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	ff := &fileFacts{Name: filepath.Base(name), Bytes: st.Size(), Base: base}
	r, err := format.NewReader(fh)
	if err != nil {
		ff.Err = fmt.Errorf("%s: %w", name, err)
		return ff, nil
	}
	frames := map[uint16]string{}
	locs := map[uint16]bool{}
	polls := map[uint32][]uint32{} // PollStart times by goroutine
	type block struct {
		task, ts, dur uint32
		top           string
	}
	var blocks []block
	early := map[uint16]int{} // PollStarts that named a location before its definition
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, format.ErrTruncated) {
				ff.Tail = err.Error()
			} else {
				ff.Err = fmt.Errorf("%s: %w", name, err)
			}
			break
		}
		ff.Records[rec.Code]++
		if hasTS(rec.Code) && rec.TS > ff.LastTS {
			ff.LastTS = rec.TS
		}
		if isActivity(rec.Code) {
			a.covered[int64((base+time.Duration(rec.TS)*time.Microsecond)/binWidth)] = true
		}
		switch rec.Code {
		case format.CodeFrameDef:
			frames[rec.ID] = rec.Str
		case format.CodeSpawnLocationDef:
			locs[rec.ID] = true
		case format.CodePollStart:
			polls[rec.Task] = append(polls[rec.Task], rec.TS)
			ff.PollStarts++
			switch {
			case rec.SpawnLoc == 0:
				ff.ZeroLoc++
			case !locs[rec.SpawnLoc]:
				early[rec.SpawnLoc]++
			default:
				ff.DefinedHere++
			}
		case format.CodeTaskPending:
			fs := make([]string, len(rec.Frames))
			for i, id := range rec.Frames {
				fs[i] = frames[id]
			}
			if time.Duration(rec.Duration)*time.Microsecond >= minCheck && rec.Task != 0 {
				top := ""
				if len(fs) > 0 {
					top = strings.Join(fs[:min(len(fs), 2)], " < ")
				}
				blocks = append(blocks, block{rec.Task, rec.TS, rec.Duration, top})
			}
			reader, bare := m.classify(fs)
			if !reader && !bare {
				continue
			}
			p := pendingRec{
				File:     ff.Name,
				TS:       rec.TS,
				At:       base + time.Duration(rec.TS)*time.Microsecond,
				Task:     rec.Task,
				Duration: time.Duration(rec.Duration) * time.Microsecond,
				Reader:   reader,
			}
			if len(fs) > 0 {
				p.Top = strings.Join(fs[:min(len(fs), 3)], " < ")
			}
			a.Pending = append(a.Pending, p)
		}
	}
	// A goroutine cannot start running while it is blocked: a PollStart of
	// it inside a TaskPending's block (in the same file, whose clock is
	// one) means the record claims a block that was not there.
	for _, ts := range polls {
		slices.Sort(ts)
	}
	for _, b := range blocks {
		ff.Checked++
		lo, hi := int64(b.ts)-int64(b.dur)+slack, int64(b.ts)-slack
		ts := polls[b.task]
		i, _ := slices.BinarySearch(ts, uint32(max(lo, 0)))
		n := 0
		for ; i < len(ts) && int64(ts[i]) < hi; i++ {
			if int64(ts[i]) > lo {
				n++
			}
		}
		if n > 0 {
			ff.Contradicted++
			if len(ff.Examples) < 3 {
				ff.Examples = append(ff.Examples, fmt.Sprintf("%s: goroutine %d pending %.3fs at ts %.3fs, started running %d times in that time (%s)",
					ff.Name, b.task, float64(b.dur)/1e6, float64(b.ts)/1e6, n, b.top))
			}
		}
	}
	for id, n := range early {
		if locs[id] {
			ff.DefinedHere += n
			ff.DefinedLater += n
		} else {
			ff.Undefined += n
		}
	}
	return ff, nil
}

// hasTS reports whether records of code c carry a time stamp.
func hasTS(c format.Code) bool {
	switch c {
	case format.CodeSpawnLocationDef, format.CodeTaskSpawn, format.CodeFrameDef:
		return false
	}
	return true
}

// coverage is the share of [from, to) (server time) in bins holding a
// scheduling record.
func (a *analysis) coverage(from, to time.Duration) float64 {
	lo, hi := int64(from/binWidth), int64(to/binWidth)
	if hi <= lo {
		return 0
	}
	n := 0
	for b := lo; b < hi; b++ {
		if a.covered[b] {
			n++
		}
	}
	return float64(n) / float64(hi-lo)
}

// readerTask is one goroutine seen blocked as a reader.
type readerTask struct {
	Task    uint32
	Records []pendingRec // its reader-shaped and bare records, in file order
	Max     pendingRec   // the longest
	Newest  pendingRec   // the last written
}

// readers groups the reader-shaped records by goroutine, longest block
// first. A goroutine's bare records (no stack) count with its reader ones:
// a reader goroutine blocks nowhere else for long, so a stackless block of
// it is most likely the same wait seen without its stack. Goroutines with
// only bare records are left out.
func (a *analysis) readers() []readerTask {
	byTask := map[uint32]*readerTask{}
	var order []uint32
	for _, p := range a.Pending {
		if !p.Reader {
			continue
		}
		if byTask[p.Task] == nil {
			byTask[p.Task] = &readerTask{Task: p.Task}
			order = append(order, p.Task)
		}
	}
	for _, p := range a.Pending {
		t := byTask[p.Task]
		if t == nil {
			continue
		}
		t.Records = append(t.Records, p)
		if p.Duration > t.Max.Duration || len(t.Records) == 1 {
			t.Max = p
		}
		t.Newest = p
	}
	out := make([]readerTask, 0, len(order))
	for _, id := range order {
		out = append(out, *byTask[id])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Max.Duration > out[j].Max.Duration })
	return out
}

// identify picks the silent connection's reader among rs (longest block
// first), or returns -1. Every other connection is opened at or after
// from and closed before to, and lives at most longest; so a goroutine
// blocked longer than longest is the silent connection's reader, and so is
// one with a record before from or after to. Nothing else is evidence: a
// reader record inside [from, to] can be any connection's. why says which
// rule chose it.
func identify(rs []readerTask, longest, from, to time.Duration) (i int, why string) {
	if len(rs) > 0 && rs[0].Max.Duration > longest {
		return 0, fmt.Sprintf("a block longer than any other connection lived (%v)", longest)
	}
	found, n := -1, 0
	for i, r := range rs {
		for _, p := range r.Records {
			if p.At < from || p.At > to {
				if found < 0 {
					found = i
				}
				n++
				break
			}
		}
	}
	span := fmt.Sprintf("before +%.2fs or after +%.2fs, when no other connection was open", from.Seconds(), to.Seconds())
	switch {
	case n == 1:
		return found, "the only reader with a record " + span
	case n > 1:
		return found, fmt.Sprintf("the longest of %d readers with a record %s", n, span)
	}
	return -1, ""
}

// End is the estimated server time of the files' last record.
func (a *analysis) End() time.Duration {
	if len(a.Files) == 0 {
		return 0
	}
	last := a.Files[len(a.Files)-1]
	return last.Base + time.Duration(last.LastTS)*time.Microsecond
}

// spawnTotals sums the spawn-location counts of all files.
func (a *analysis) spawnTotals() (total fileFacts) {
	for _, f := range a.Files {
		total.PollStarts += f.PollStarts
		total.ZeroLoc += f.ZeroLoc
		total.DefinedHere += f.DefinedHere
		total.Undefined += f.Undefined
		total.DefinedLater += f.DefinedLater
	}
	return total
}

// recordCounts renders counts per record type, in code order.
func recordCounts(c [format.NumCodes]int) string {
	var b strings.Builder
	total := 0
	for code, n := range c {
		total += n
		if n == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", format.Code(code), n)
	}
	return fmt.Sprintf("%d (%s)", total, b.String())
}
