package dumpdiff

import (
	"fmt"
	"strings"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/dump"
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

type stackInfo struct {
	g      *recGroup // nil: left out (runtime-only stack)
	reason string
}

// readRecords aggregates the blocks of files (package analyze: TaskPending
// records of one block folded, each with its waker) by normalised stack.
// Only blocks that overlap the window (records clock) count.
func readRecords(files []string, opt *Options) (*records, error) {
	rs := &records{files: files, segments: len(files), groups: map[string]*recGroup{}, spawn: map[uint32]string{}}
	var ins []recfiles.Input
	for _, name := range files {
		f, err := openRecords(name)
		if err != nil {
			return nil, err
		}
		ins = append(ins, recfiles.Input{Path: name, Kind: f.Kind, Bytes: f.Size})
		f.Close()
	}
	run := recfiles.NewRun(ins, recfiles.Options{})
	an, err := analyze.New(analyze.Config{KeepBlocks: true})
	if err != nil {
		return nil, err
	}
	for ev, err := range run.Events() {
		if err != nil {
			return nil, err
		}
		an.Add(ev)
	}
	rs.warnings = run.Warnings
	rs.count = int(run.Records)
	rs.end = run.End / 1000
	win := opt.Window.resolve(rs.end)

	byGroup := map[int]stackInfo{} // analyze's group -> ours
	locs := map[uint32]string{}
	loc := func(b *analyze.Block, task uint32) string {
		l, ok := locs[task]
		if !ok {
			l = an.Location(b.Process, task)
			locs[task] = l
		}
		return l
	}
	for b := range an.Blocks() {
		info, ok := byGroup[b.Group]
		if !ok {
			info = rs.resolve(b.Reason, b.Frames, opt)
			byGroup[b.Group] = info
		}
		if info.g == nil {
			rs.system++
			continue
		}
		t, dur := b.Last/1000, uint32(b.Duration/1000)
		if b.Start/1000 > win.to || t < win.from {
			rs.skipped++
			continue
		}
		rs.pending++
		g := info.g
		if l := loc(&b, b.Task); l != "" {
			rs.spawn[b.Task] = l
		}
		if b.Woken && b.Waker != 0 {
			if l := loc(&b, b.Waker); l != "" {
				rs.spawn[b.Waker] = l
			}
		}
		// Not woken and still blocked when the records end.
		atEnd := !b.Woken && b.StillBlocked
		if g == rs.noStack {
			e := &noStackEntry{task: b.Task, ts: t, dur: dur, reason: info.reason, waker: -1, atEnd: atEnd}
			if b.Woken {
				e.waker = int64(b.Waker)
			}
			g.byTask[b.Task] = append(g.byTask[b.Task], len(g.noStack))
			g.noStack = append(g.noStack, e)
		} else if b.Woken {
			g.wakers[b.Waker]++
		} else if atEnd {
			g.atEnd++
		}
		g.pending++
		g.tasks[b.Task] = struct{}{}
		g.durs = append(g.durs, dur)
		if g.first < 0 || t < g.first {
			g.first = t
		}
		g.last = max(g.last, t)
		if info.reason != "" {
			g.reasons[info.reason]++
		}
	}
	return rs, nil
}

// resolve turns a block's stack into its group (nil: left out, a stack of
// the runtime's or the tracer's own goroutines).
func (rs *records) resolve(reason string, stack []string, opt *Options) stackInfo {
	info := stackInfo{reason: reason}
	frames := make([]dump.Frame, 0, len(stack))
	for _, s := range stack {
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
		return info
	}
	if !opt.System && (dump.IsRuntimeOnly(norm) || tracerStack(norm)) {
		return info
	}
	key := stackKey(norm, opt)
	g, ok := rs.groups[key]
	if !ok {
		g = newRecGroup(key, norm)
		rs.groups[key] = g
		rs.order = append(rs.order, g)
	}
	info.g = g
	return info
}

// tracerStack reports a normalised stack of one of runtime/trace's own
// goroutines (records converted with them kept, e.g. cmd/convert -runtime).
func tracerStack(norm []dump.Frame) bool {
	return len(norm) > 0 && strings.HasPrefix(norm[len(norm)-1].Func, "runtime/trace.")
}

// stackKey is what two stacks are compared on: the functions (and with
// -lines the positions) of the innermost opt.Depth normalised frames.
func stackKey(norm []dump.Frame, opt *Options) string {
	if opt.Depth > 0 && len(norm) > opt.Depth {
		norm = norm[:opt.Depth]
	}
	var b strings.Builder
	for i, f := range norm {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(f.Func)
		if opt.Lines {
			fmt.Fprintf(&b, " %s:%d", f.File, f.Line)
		}
	}
	return b.String()
}
