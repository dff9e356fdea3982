package dumpdiff

import (
	"cmp"
	"slices"
	"strings"

	"github.com/wakeshim/wakeshim/dump"
)

// Marks of a group: where its stack was seen.
const (
	MarkBoth        = "both"
	MarkRecordsOnly = "records only"
	MarkDumpOnly    = "dump only"
)

// dumpGroup is what the dump says about one normalised stack.
type dumpGroup struct {
	frames  []dump.Frame
	count   int
	states  map[string]int
	minutes int // max wait minutes
	ids     []uint64
	created map[string]int // "created by" locations
}

// group is one row of the comparison.
type group struct {
	key    string
	frames []dump.Frame
	rec    *recGroup
	dmp    *dumpGroup

	// Pendings without a stack attributed to this group by goroutine id.
	byID []*noStackEntry

	// Goroutine id matching (dump with ids only): the dump goroutines of
	// this group whose id the records saw pending in this group (or
	// without a stack), and those the records saw pending only under
	// another stack.
	idsMatched []uint64
	idsOther   []uint64
}

func (g *group) mark() string {
	inRec := g.rec != nil && g.rec.pending > 0 || len(g.byID) > 0
	inDump := g.dmp != nil && g.dmp.count > 0
	switch {
	case inRec && inDump:
		return MarkBoth
	case inRec:
		return MarkRecordsOnly
	}
	return MarkDumpOnly
}

// byIDOnly reports a group matched only through goroutine ids.
func (g *group) byIDOnly() bool {
	return len(g.byID) > 0 && (g.rec == nil || g.rec.pending == 0)
}

func (g *group) pendingCount() int {
	n := len(g.byID)
	if g.rec != nil {
		n += g.rec.pending
	}
	return n
}

func (g *group) recTasks() int {
	seen := map[uint32]struct{}{}
	if g.rec != nil {
		for t := range g.rec.tasks {
			seen[t] = struct{}{}
		}
	}
	for _, e := range g.byID {
		seen[e.task] = struct{}{}
	}
	return len(seen)
}

func (g *group) dumpCount() int {
	if g.dmp == nil {
		return 0
	}
	return g.dmp.count
}

// durations returns the pending durations of the group, sorted.
func (g *group) durations() []uint32 {
	var ds []uint32
	if g.rec != nil {
		ds = append(ds, g.rec.durs...)
	}
	for _, e := range g.byID {
		ds = append(ds, e.dur)
	}
	slices.Sort(ds)
	return ds
}

// waker is one waker of a group.
type waker struct {
	task  int64 // -1: none (not woken within the records)
	count int
	atEnd bool // the "none" entry: still blocked when the records end
}

// wakers returns the group's wakers, most frequent first; pendings with
// no WakeEvent come as task -1 (atEnd for those still pending at the end).
func (g *group) wakers() []waker {
	m := map[int64]int{}
	var none, atEnd int
	if g.rec != nil {
		for t, n := range g.rec.wakers {
			m[int64(t)] += n
		}
		attributed := 0
		for _, n := range g.rec.wakers {
			attributed += n
		}
		atEnd = g.rec.atEnd
		none = g.rec.pending - attributed - atEnd
		if g.rec.noStack != nil {
			// The stack-less group keeps its wakers in its entries.
			none, atEnd = 0, 0
			for _, e := range g.rec.noStack {
				g.addEntry(m, &none, &atEnd, e)
			}
		}
	}
	for _, e := range g.byID {
		g.addEntry(m, &none, &atEnd, e)
	}
	var ws []waker
	for t, n := range m {
		ws = append(ws, waker{task: t, count: n})
	}
	if atEnd > 0 {
		ws = append(ws, waker{task: -1, count: atEnd, atEnd: true})
	}
	if none > 0 {
		ws = append(ws, waker{task: -1, count: none})
	}
	slices.SortFunc(ws, func(a, b waker) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		if c := cmp.Compare(a.task, b.task); c != 0 {
			return c
		}
		if a.atEnd != b.atEnd {
			if a.atEnd {
				return -1
			}
			return 1
		}
		return 0
	})
	return ws
}

func (g *group) addEntry(m map[int64]int, none, atEnd *int, e *noStackEntry) {
	switch {
	case e.waker >= 0:
		m[e.waker]++
	case e.atEnd:
		*atEnd++
	default:
		*none++
	}
}

// comparison is the result of comparing records and a dump.
type comparison struct {
	groups []*group
	// Dump goroutines compared, and left out (by reason).
	dumpCompared int
	dumpSkipped  map[string]int
	hasIDs       bool
	// Of the dump goroutines with ids: how many the records saw pending
	// under the same stack (or without a stack), under another one only.
	idsSame, idsOther int
}

// Reasons a dump goroutine is left out of the comparison.
const (
	skipNotBlocked = "not blocked"
	skipProfiler   = "the profiler"
	skipTracer     = "the tracer"
	skipShim       = "the shim"
	skipRuntime    = "runtime-internal"
	skipNoStack    = "no stack"
)

// classify returns why a dump goroutine is left out ("" if it is not), and
// its normalised stack.
func classify(g *dump.Goroutine, opt *Options) (string, []dump.Frame) {
	if !g.Blocked() {
		return skipNotBlocked, nil
	}
	if len(g.Frames) == 0 {
		return skipNoStack, nil
	}
	norm := dump.Normalize(g.Frames)
	if strings.HasPrefix(norm[0].Func, "runtime/pprof.") {
		return skipProfiler, nil // the goroutine writing the dump
	}
	if tracerStack(norm) {
		return skipTracer, nil // runtime/trace's own goroutines
	}
	if shimGoroutine(g, norm) {
		return skipShim, nil // the shim's snapshot loop, worker, sampler
	}
	if !opt.System && dump.IsRuntimeOnly(norm) {
		return skipRuntime, nil
	}
	return "", norm
}

// compare matches the records' groups with the dump's goroutines.
func compare(rs *records, d *dump.Dump, opt *Options) *comparison {
	c := &comparison{dumpSkipped: map[string]int{}, hasIDs: d.HasIDs()}
	byKey := map[string]*group{}
	get := func(key string, frames []dump.Frame) *group {
		g, ok := byKey[key]
		if !ok {
			g = &group{key: key, frames: frames}
			byKey[key] = g
			c.groups = append(c.groups, g)
		}
		return g
	}
	for _, rg := range rs.order {
		get(rg.key, rg.frames).rec = rg
	}

	// Dump side. idGroup maps a goroutine id to its row, for the id match.
	idGroup := map[uint32]*group{}
	for i := range d.Goroutines {
		dg := &d.Goroutines[i]
		why, norm := classify(dg, opt)
		if why != "" {
			c.dumpSkipped[why] += dg.Count
			continue
		}
		c.dumpCompared += dg.Count
		g := get(stackKey(norm, opt), norm)
		if g.dmp == nil {
			g.dmp = &dumpGroup{frames: norm, states: map[string]int{}, created: map[string]int{}}
		}
		g.dmp.count += dg.Count
		if dg.State != "" {
			g.dmp.states[dg.State] += dg.Count
		}
		g.dmp.minutes = max(g.dmp.minutes, dg.WaitMinutes)
		if dg.HasID {
			g.dmp.ids = append(g.dmp.ids, dg.ID)
			idGroup[uint32(dg.ID)] = g
		}
		if dg.CreatedBy != nil {
			g.dmp.created[dg.CreatedBy.String()]++
		}
	}

	// The stack-less pendings: by goroutine id into the dump's group of
	// that goroutine, when the dump has ids; the rest is a group of its
	// own.
	if ns := rs.noStack; ns != nil {
		var rest []*noStackEntry
		for _, e := range ns.noStack {
			if g, ok := idGroup[e.task]; ok && c.hasIDs {
				g.byID = append(g.byID, e)
			} else {
				rest = append(rest, e)
			}
		}
		if len(rest) > 0 {
			left := newRecGroup("", nil)
			left.byTask = map[uint32][]int{}
			for _, e := range rest {
				left.pending++
				left.tasks[e.task] = struct{}{}
				left.durs = append(left.durs, e.dur)
				if left.first < 0 || e.ts < left.first {
					left.first = e.ts
				}
				left.last = max(left.last, e.ts)
				if e.reason != "" {
					left.reasons[e.reason]++
				}
				left.noStack = append(left.noStack, e)
			}
			get("", nil).rec = left
		}
	}

	// Goroutine id match.
	if c.hasIDs {
		taskGroups := map[uint32]int{} // task -> number of record groups with it
		for _, rg := range rs.order {
			for t := range rg.tasks {
				taskGroups[t]++
			}
		}
		for _, g := range c.groups {
			if g.dmp == nil {
				continue
			}
			byID := map[uint32]bool{}
			for _, e := range g.byID {
				byID[e.task] = true
			}
			for _, id := range g.dmp.ids {
				t := uint32(id)
				same := false
				if g.rec != nil {
					_, same = g.rec.tasks[t]
				}
				switch {
				case same || byID[t]:
					g.idsMatched = append(g.idsMatched, id)
					c.idsSame++
				case taskGroups[t] > 0:
					g.idsOther = append(g.idsOther, id)
					c.idsOther++
				}
			}
		}
	}

	// Widest first: the most goroutines on either side, then the most
	// pendings, then by stack for a stable order.
	slices.SortStableFunc(c.groups, func(a, b *group) int {
		wa := max(a.recTasks(), a.dumpCount())
		wb := max(b.recTasks(), b.dumpCount())
		if c := cmp.Compare(wb, wa); c != 0 {
			return c
		}
		if c := cmp.Compare(b.pendingCount(), a.pendingCount()); c != 0 {
			return c
		}
		if c := cmp.Compare(b.dumpCount(), a.dumpCount()); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	return c
}

// shimPkg prefixes the functions of the shim's packages.
const shimPkg = "github.com/wakeshim/wakeshim/shim"

// shimGoroutine reports one of the shim's own goroutines (its snapshot
// loop, worker, sampler): created by the shim's packages (debug=2), started
// in them, or labelled "wakeshim" (pprof labels, which debug=0 and debug=1
// dumps show). A host goroutine that merely calls into the shim
// (Session.Stop) is the host's.
func shimGoroutine(g *dump.Goroutine, norm []dump.Frame) bool {
	if _, ok := g.Labels["wakeshim"]; ok {
		return true
	}
	if g.CreatedBy != nil && inShim(g.CreatedBy.Func) {
		return true
	}
	return inShim(norm[len(norm)-1].Func)
}

func inShim(fn string) bool {
	return strings.HasPrefix(fn, shimPkg+".") || strings.HasPrefix(fn, shimPkg+"/")
}
