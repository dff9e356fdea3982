package dumpdiffcli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wakeshim/wakeshim/dump"
	"github.com/wakeshim/wakeshim/format"
	recfiles "github.com/wakeshim/wakeshim/records"
)

// recGroup is what the records say about one normalised block stack.
type recGroup struct {
	key     string
	frames  []dump.Frame // normalised, full depth, from the first record seen
	pending int          // TaskPending records
	tasks   map[uint32]struct{}
	durs    []uint32 // duration_us of each TaskPending
	first   int64    // earliest and latest TaskPending ts, records clock, µs
	last    int64
	reasons map[string]int   // the tracer's wait reasons (pseudo-frames)
	wakers  map[uint32]int   // waker task (0: no goroutine) -> count
	atEnd   int              // pending when the records end (no wake)
	noStack []*noStackEntry  // only in the group of the stack-less pendings
	byTask  map[uint32][]int // noStack entries by task
}

// noStackEntry is a TaskPending without any frame (besides its wait
// reason): a goroutine blocked before the records began, whose stack the
// tracer did not give. It can only be matched by goroutine id.
type noStackEntry struct {
	task   uint32
	ts     int64
	dur    uint32
	reason string
	waker  int64 // -1: none found
	atEnd  bool
}

func newRecGroup(key string, frames []dump.Frame) *recGroup {
	return &recGroup{key: key, frames: frames, tasks: map[uint32]struct{}{},
		reasons: map[string]int{}, wakers: map[uint32]int{}, first: -1}
}

// records is the aggregation of the TaskPending records of a run.
type records struct {
	files    []string
	segments int
	end      int64 // end of the records clock (µs)
	groups   map[string]*recGroup
	order    []*recGroup
	noStack  *recGroup
	spawn    map[uint32]string // task -> spawn location
	count    int               // records read
	pending  int               // TaskPending in the window, compared
	skipped  int               // TaskPending outside the window
	system   int               // TaskPending of runtime-only stacks, left out
	warnings []string          // input problems read past (a file cut short)
}

// openRecords opens a records file, binary v9 or its JSONL rendering,
// told apart by the first bytes (package records). An execution trace is
// refused: dumpdiff compares records.
func openRecords(name string) (*recfiles.File, error) {
	f, err := recfiles.Open(name)
	if err != nil {
		return nil, err
	}
	if f.Kind == recfiles.KindTrace {
		f.Close()
		return nil, fmt.Errorf("%s: a Go execution trace, not records: convert it first (wakeshim convert %s)", name, name)
	}
	return f, nil
}

// scanRecords calls fn for each record of the files, in order, with its
// time on the records clock: each file's timestamps count from its own
// start, and a file is taken to start where the previous one's last
// timestamp was (the converter starts a segment at the last event of the
// previous one). It returns the end of the clock. A file cut short (a
// crash while the shim wrote it) is read to its last whole record, with a
// warning.
func scanRecords(files []string, warn func(string), fn func(file string, seg int, rec *format.Record, t int64, where func() string) error) (int64, error) {
	var base int64
	for i, name := range files {
		f, err := openRecords(name)
		if err != nil {
			return 0, err
		}
		var maxTS int64
		for {
			rec, err := f.Next()
			if err == io.EOF {
				break
			}
			if errors.Is(err, format.ErrTruncated) && warn != nil {
				warn(fmt.Sprintf("%v; read to the last whole record", err))
				break
			}
			if err != nil {
				f.Close()
				return 0, err
			}
			if rec.Code.Spec().Fields[0].Slot == format.SlotTS {
				maxTS = max(maxTS, int64(rec.TS))
			}
			if err := fn(name, i, &rec, base+int64(rec.TS), f.Where); err != nil {
				f.Close()
				return 0, fmt.Errorf("%s: %s: %w", name, f.Where(), err)
			}
		}
		f.Close()
		base += maxTS
	}
	return base, nil
}

// segState is the per-file state: the interned strings of that file.
type segState struct {
	frames map[uint16]string
	locs   map[uint16]string
	stacks map[string]stackInfo // frame id list -> resolved
}

type stackInfo struct {
	g      *recGroup // nil: left out (runtime-only stack)
	reason string
}

type lastWake struct {
	t     int64
	waker uint32
}

type unresolved struct {
	g     *recGroup
	entry *noStackEntry
	t     int64
}

// readRecords aggregates the TaskPending records of files by normalised
// stack. Only pendings that overlap the window (records clock) count.
func readRecords(files []string, opt *options) (*records, error) {
	rs := &records{files: files, segments: len(files), groups: map[string]*recGroup{}, spawn: map[uint32]string{}}
	win := opt.window
	if win.needsEnd() {
		end, err := scanRecords(files, nil, func(string, int, *format.Record, int64, func() string) error { return nil })
		if err != nil {
			return nil, err
		}
		win = win.resolve(end)
	} else {
		win = win.resolve(0)
	}
	locIntern := map[string]string{}
	wakes := map[uint32]lastWake{}
	open := map[uint32]unresolved{}
	var seg *segState
	segIdx := -1
	var idBuf []byte

	attribute := func(u unresolved, waker uint32) {
		if u.entry != nil {
			u.entry.waker = int64(waker)
		} else {
			u.g.wakers[waker]++
		}
	}

	end, err := scanRecords(files, func(w string) { rs.warnings = append(rs.warnings, w) }, func(name string, si int, rec *format.Record, t int64, where func() string) error {
		if si != segIdx {
			segIdx = si
			seg = &segState{frames: map[uint16]string{}, locs: map[uint16]string{}, stacks: map[string]stackInfo{}}
		}
		rs.count++
		switch rec.Code {
		case format.CodeFrameDef:
			if _, ok := seg.frames[rec.ID]; ok {
				clear(seg.stacks) // a redefinition changes the stacks using it
			}
			seg.frames[rec.ID] = rec.Str
		case format.CodeSpawnLocationDef:
			s, ok := locIntern[rec.Str]
			if !ok {
				s = rec.Str
				locIntern[s] = s
			}
			seg.locs[rec.ID] = s
		case format.CodeTaskSpawn:
			if rec.SpawnLoc == 0 {
				return nil
			}
			loc, ok := seg.locs[rec.SpawnLoc]
			if !ok {
				return fmt.Errorf("TaskSpawn of task %d uses spawn location id %d, not defined in this file", rec.Task, rec.SpawnLoc)
			}
			rs.spawn[rec.Task] = loc
		case format.CodeWakeEvent:
			if u, ok := open[rec.Task]; ok && u.t == t {
				attribute(u, rec.Waker)
				delete(open, rec.Task)
				return nil
			}
			wakes[rec.Task] = lastWake{t: t, waker: rec.Waker}
		case format.CodeTaskPending:
			idBuf = idBuf[:0]
			for _, id := range rec.Frames {
				idBuf = append(idBuf, byte(id), byte(id>>8))
			}
			info, ok := seg.stacks[string(idBuf)]
			if !ok {
				var err error
				info, err = rs.resolve(seg, rec.Frames, opt)
				if err != nil {
					return err
				}
				seg.stacks[string(idBuf)] = info
			}
			if info.g == nil {
				rs.system++
				return nil
			}
			from, to := t-int64(rec.Duration), t
			if from > win.to || to < win.from {
				rs.skipped++
				return nil
			}
			rs.pending++
			g := info.g
			u := unresolved{g: g, t: t}
			if g == rs.noStack {
				e := &noStackEntry{task: rec.Task, ts: t, dur: rec.Duration, reason: info.reason, waker: -1}
				g.byTask[rec.Task] = append(g.byTask[rec.Task], len(g.noStack))
				g.noStack = append(g.noStack, e)
				u.entry = e
			}
			g.pending++
			g.tasks[rec.Task] = struct{}{}
			g.durs = append(g.durs, rec.Duration)
			if g.first < 0 || t < g.first {
				g.first = t
			}
			g.last = max(g.last, t)
			if info.reason != "" {
				g.reasons[info.reason]++
			}
			if w, ok := wakes[rec.Task]; ok && w.t <= t && w.t >= from {
				attribute(u, w.waker)
				delete(wakes, rec.Task)
				delete(open, rec.Task)
			} else {
				open[rec.Task] = u
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rs.end = end
	// What is still unresolved was not woken in the records; a pending at
	// the very end is a goroutine still blocked when the records stop.
	for _, u := range open {
		if u.t == end {
			if u.entry != nil {
				u.entry.atEnd = true
			} else {
				u.g.atEnd++
			}
		}
	}
	return rs, nil
}

// resolve turns a TaskPending's frame ids into its group.
func (rs *records) resolve(seg *segState, ids []uint16, opt *options) (stackInfo, error) {
	var info stackInfo
	frames := make([]dump.Frame, 0, len(ids))
	for i, id := range ids {
		s, ok := seg.frames[id]
		if !ok {
			return info, fmt.Errorf("TaskPending uses frame id %d, not defined in this file", id)
		}
		if i == 0 && strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			info.reason = s[1 : len(s)-1]
			continue
		}
		f, _ := dump.ParseFrame(s)
		frames = append(frames, f)
	}
	norm := dump.Normalize(frames)
	if len(norm) == 0 {
		if rs.noStack == nil {
			rs.noStack = newRecGroup("", nil)
			rs.noStack.byTask = map[uint32][]int{}
		}
		info.g = rs.noStack
		return info, nil
	}
	if !opt.system && (dump.IsRuntimeOnly(norm) || tracerStack(norm)) {
		return info, nil
	}
	key := stackKey(norm, opt)
	g, ok := rs.groups[key]
	if !ok {
		g = newRecGroup(key, norm)
		rs.groups[key] = g
		rs.order = append(rs.order, g)
	}
	info.g = g
	return info, nil
}

// tracerStack reports a normalised stack of one of runtime/trace's own
// goroutines (records converted with them kept, e.g. cmd/convert -runtime).
func tracerStack(norm []dump.Frame) bool {
	return len(norm) > 0 && strings.HasPrefix(norm[len(norm)-1].Func, "runtime/trace.")
}

// stackKey is what two stacks are compared on: the functions (and with
// -lines the positions) of the innermost opt.depth normalised frames.
func stackKey(norm []dump.Frame, opt *options) string {
	if opt.depth > 0 && len(norm) > opt.depth {
		norm = norm[:opt.depth]
	}
	var b strings.Builder
	for i, f := range norm {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(f.Func)
		if opt.lines {
			fmt.Fprintf(&b, " %s:%d", f.File, f.Line)
		}
	}
	return b.String()
}
