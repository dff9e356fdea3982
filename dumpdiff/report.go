package dumpdiff

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/dump"
	"github.com/wakeshim/wakeshim/internal/textwidth"
	wrecords "github.com/wakeshim/wakeshim/records"
)

// Report is the result of a comparison: its JSON is what `dumpdiff -json`
// prints, and the table is made from it. Groups[i].Mark is one of
// MarkBoth, MarkRecordsOnly, MarkDumpOnly; Summary counts the groups by
// mark.
type Report struct {
	Records recordsInfo    `json:"records"`
	Dump    dumpInfo       `json:"dump"`
	Match   matchInfo      `json:"match"`
	Summary map[string]int `json:"summary"` // mark -> number of groups
	Groups  []groupInfo    `json:"groups"`
}

type recordsInfo struct {
	Files []string `json:"files"`
	// DurationUS is the length of the records clock: the segments one
	// after the other.
	DurationUS int64 `json:"duration_us"`
	Records    int   `json:"records"`
	// Pending is the number of TaskPending records compared; those outside
	// the window and those of the runtime's own goroutines (stacks of
	// runtime frames only, and runtime/trace's goroutines) are counted
	// apart.
	Pending       int         `json:"pending"`
	OutsideWindow int         `json:"pending_outside_window"`
	RuntimeOnly   int         `json:"pending_runtime_only"`
	Window        *windowInfo `json:"window,omitempty"`
}

type windowInfo struct {
	Spec   string `json:"spec"`
	FromUS int64  `json:"from_us"`
	ToUS   int64  `json:"to_us"`
}

type dumpInfo struct {
	File       string         `json:"file"`
	Form       string         `json:"form"`
	Time       string         `json:"time,omitempty"`
	Goroutines int            `json:"goroutines"`
	Compared   int            `json:"compared"`
	Skipped    map[string]int `json:"skipped,omitempty"`
	HasIDs     bool           `json:"has_ids"`
}

type matchInfo struct {
	By    string `json:"by"`    // "function" or "function and file:line"
	Depth int    `json:"depth"` // innermost frames compared, 0: all
	IDs   bool   `json:"ids"`   // goroutine ids matched too
	// Of the dump's goroutines (with ids): seen pending in the records
	// under the same stack (or without one), only under another stack.
	IDsSameStack  int `json:"ids_pending_same_stack"`
	IDsOtherStack int `json:"ids_pending_other_stack"`
}

type groupInfo struct {
	Mark string `json:"mark"`
	// MatchedByID is set when the records side of the group is only
	// pendings without a stack, matched to the dump by goroutine id.
	MatchedByID bool `json:"matched_by_id,omitempty"`
	// Frames is the normalised stack, innermost first, "FUNC FILE:LINE";
	// empty for the pendings whose stack the records do not have.
	Frames            []string       `json:"frames"`
	InRecords         int            `json:"in_records"` // TaskPending records
	RecordsGoroutines int            `json:"records_goroutines"`
	InDump            int            `json:"in_dump"` // goroutines
	PendingMaxUS      int64          `json:"pending_max_us"`
	PendingP50US      int64          `json:"pending_p50_us"`
	FirstUS           *int64         `json:"first_us,omitempty"` // records clock
	LastUS            *int64         `json:"last_us,omitempty"`
	RecordReasons     map[string]int `json:"record_wait_reasons,omitempty"`
	DumpReasons       map[string]int `json:"dump_wait_reasons,omitempty"`
	DumpWaitMinutes   int            `json:"dump_wait_minutes_max,omitempty"`
	DumpIDs           []uint64       `json:"dump_ids,omitempty"`
	IDsInRecords      []uint64       `json:"dump_ids_pending_in_records,omitempty"`
	IDsOtherStack     []uint64       `json:"dump_ids_pending_under_other_stack,omitempty"`
	CreatedBy         map[string]int `json:"dump_created_by,omitempty"`
	Wakers            []wakerInfo    `json:"wakers,omitempty"`

	frames []dump.Frame
	tasks  []uint32
}

type wakerInfo struct {
	// Kind is "goroutine", "runtime" (a wake from no goroutine: timer,
	// network poller...), "none" (no WakeEvent found) or "blocked at end"
	// (still pending when the records end).
	Kind  string `json:"kind"`
	Task  uint32 `json:"task,omitempty"`
	Spawn string `json:"spawn,omitempty"` // the waker's spawn location
	Count int    `json:"count"`
}

func buildReport(rs *records, d *dump.Dump, dumpFile string, c *comparison, opt *Options) *Report {
	r := &Report{
		Records: recordsInfo{Files: rs.files, DurationUS: rs.end, Records: rs.count, Pending: rs.pending,
			OutsideWindow: rs.skipped, RuntimeOnly: rs.system},
		Dump: dumpInfo{File: dumpFile, Form: d.Form.String(), Goroutines: d.Total, Compared: c.dumpCompared,
			HasIDs: c.hasIDs},
		Match:   matchInfo{By: "function", Depth: opt.Depth, IDs: c.hasIDs, IDsSameStack: c.idsSame, IDsOtherStack: c.idsOther},
		Summary: map[string]int{},
		Groups:  []groupInfo{},
	}
	if opt.Window.set {
		w := opt.Window.resolve(rs.end)
		r.Records.Window = &windowInfo{Spec: opt.Window.String(), FromUS: max(w.from, 0), ToUS: min(w.to, rs.end)}
	}
	if !d.Time.IsZero() {
		r.Dump.Time = d.Time.Format(time.RFC3339Nano)
	}
	if len(c.dumpSkipped) > 0 {
		r.Dump.Skipped = c.dumpSkipped
	}
	if opt.Lines {
		r.Match.By = "function and file:line"
	}
	for _, g := range c.groups {
		gi := groupInfo{Mark: g.mark(), MatchedByID: g.byIDOnly(), Frames: []string{}, frames: g.frames,
			InRecords: g.pendingCount(), RecordsGoroutines: g.recTasks(), InDump: g.dumpCount()}
		for _, f := range g.frames {
			gi.Frames = append(gi.Frames, f.String())
		}
		if ds := g.durations(); len(ds) > 0 {
			gi.PendingMaxUS = int64(ds[len(ds)-1])
			gi.PendingP50US = int64(ds[(len(ds)-1)/2])
		}
		first, last := int64(-1), int64(-1)
		reasons := map[string]int{}
		tasks := map[uint32]struct{}{}
		if g.rec != nil && g.rec.pending > 0 {
			first, last = g.rec.first, g.rec.last
			for k, v := range g.rec.reasons {
				reasons[k] += v
			}
			for t := range g.rec.tasks {
				tasks[t] = struct{}{}
			}
		}
		for _, e := range g.byID {
			if first < 0 || e.ts < first {
				first = e.ts
			}
			last = max(last, e.ts)
			if e.reason != "" {
				reasons[e.reason]++
			}
			tasks[e.task] = struct{}{}
		}
		if first >= 0 {
			gi.FirstUS, gi.LastUS = &first, &last
		}
		if len(reasons) > 0 {
			gi.RecordReasons = reasons
		}
		for t := range tasks {
			gi.tasks = append(gi.tasks, t)
		}
		slices.Sort(gi.tasks)
		if g.dmp != nil {
			if len(g.dmp.states) > 0 {
				gi.DumpReasons = g.dmp.states
			}
			gi.DumpWaitMinutes = g.dmp.minutes
			gi.DumpIDs = sortedIDs(g.dmp.ids)
			if len(g.dmp.created) > 0 {
				gi.CreatedBy = g.dmp.created
			}
		}
		gi.IDsInRecords = sortedIDs(g.idsMatched)
		gi.IDsOtherStack = sortedIDs(g.idsOther)
		ws := g.wakers()
		for i, w := range ws {
			if i >= opt.Wakers {
				break
			}
			wi := wakerInfo{Count: w.count}
			switch {
			case w.atEnd:
				wi.Kind = "blocked at end"
			case w.task < 0:
				wi.Kind = "none"
			case w.task == 0:
				wi.Kind = "runtime"
			default:
				wi.Kind, wi.Task, wi.Spawn = "goroutine", uint32(w.task), rs.spawn[uint32(w.task)]
			}
			gi.Wakers = append(gi.Wakers, wi)
		}
		r.Summary[gi.Mark]++
		r.Groups = append(r.Groups, gi)
	}
	return r
}

func sortedIDs(ids []uint64) []uint64 {
	if len(ids) == 0 {
		return nil
	}
	s := slices.Clone(ids)
	slices.Sort(s)
	return s
}

// WriteJSON writes the report as the JSON document docs/dumpdiff.md
// describes.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// compactStack is the leaf of a stack: the innermost two frames.
func compactStack(g *groupInfo, opt *Options) string {
	if len(g.frames) == 0 {
		return "(no stack: blocked before the records began)"
	}
	var parts []string
	for i, f := range g.frames {
		if i == 2 {
			parts = append(parts, "...")
			break
		}
		if opt.Lines {
			parts = append(parts, f.Short())
		} else {
			parts = append(parts, f.Func)
		}
	}
	return strings.Join(parts, " < ")
}

func fmtWaker(w wakerInfo) string {
	var s string
	switch w.Kind {
	case "goroutine":
		s = "g" + strconv.FormatUint(uint64(w.Task), 10)
		if w.Spawn != "" {
			s += " (" + shortLoc(w.Spawn) + ")"
		}
	case "runtime":
		s = "runtime"
	case "none":
		s = "not woken"
	default:
		s = "still blocked at end"
	}
	return s + " ×" + strconv.Itoa(w.Count)
}

// fmtCounts renders {"a": 2, "b": 1} as "a ×2, b", most frequent first;
// a single entry without its count.
func fmtCounts(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var kvs []kv
	for k, v := range m {
		kvs = append(kvs, kv{k, v})
	}
	slices.SortFunc(kvs, func(a, b kv) int {
		if c := cmp.Compare(b.v, a.v); c != 0 {
			return c
		}
		return cmp.Compare(a.k, b.k)
	})
	var parts []string
	for _, e := range kvs {
		if len(kvs) == 1 {
			parts = append(parts, e.k)
		} else {
			parts = append(parts, e.k+" ×"+strconv.Itoa(e.v))
		}
	}
	return strings.Join(parts, ", ")
}

func dash(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func fmtIDs(ids []uint64, limit int) string {
	var parts []string
	for i, id := range ids {
		if i == limit {
			parts = append(parts, fmt.Sprintf("... (%d more)", len(ids)-limit))
			break
		}
		parts = append(parts, strconv.FormatUint(id, 10))
	}
	return strings.Join(parts, ", ")
}

// WriteText writes the report as the table of `wakeshim dumpdiff`,
// o.Width columns wide (0: no limit), each group in full after it with
// o.Verbose.
func (r *Report) WriteText(out io.Writer, o Options) error {
	opt := &o
	// Written whole, then the lines around the table wrapped to fit.
	var buf bytes.Buffer
	w := &buf
	base := func(files []string) string {
		var s []string
		for _, f := range files {
			s = append(s, filepath.Base(f))
		}
		return strings.Join(s, " ")
	}
	fmt.Fprintf(w, "records: %s (%d segment(s), %s, %d pending compared", base(r.Records.Files), len(r.Records.Files), fmtUS(r.Records.DurationUS), r.Records.Pending)
	if r.Records.Window != nil {
		fmt.Fprintf(w, "; window %s = %s..%s, %d outside", r.Records.Window.Spec, fmtUS(r.Records.Window.FromUS), fmtUS(r.Records.Window.ToUS), r.Records.OutsideWindow)
	}
	if r.Records.RuntimeOnly > 0 {
		fmt.Fprintf(w, "; %d more left out: the runtime's and the tracer's goroutines", r.Records.RuntimeOnly)
	}
	fmt.Fprintln(w, ")")
	fmt.Fprintf(w, "dump:    %s (%s", filepath.Base(r.Dump.File), r.Dump.Form)
	if r.Dump.Time != "" {
		fmt.Fprintf(w, ", taken %s", r.Dump.Time)
	}
	fmt.Fprintf(w, ", %d goroutines, %d compared", r.Dump.Goroutines, r.Dump.Compared)
	if len(r.Dump.Skipped) > 0 {
		var parts []string
		for k, v := range r.Dump.Skipped {
			parts = append(parts, fmt.Sprintf("%d %s", v, k))
		}
		slices.Sort(parts)
		fmt.Fprintf(w, "; left out: %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w, ")")
	depth := "all frames"
	if r.Match.Depth > 0 {
		depth = fmt.Sprintf("innermost %d frames", r.Match.Depth)
	}
	fmt.Fprintf(w, "match:   by %s, %s, runtime-internal top frames dropped", r.Match.By, depth)
	if r.Match.IDs {
		fmt.Fprintf(w, "; by goroutine id too: %d of the dump's goroutines pending in the records under the same stack, %d under another",
			r.Match.IDsSameStack, r.Match.IDsOtherStack)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)

	hdr := []string{"#", "MARK", "PENDING", "GS", "DUMP"}
	if r.Dump.HasIDs {
		hdr = append(hdr, "IDS")
	}
	hdr = append(hdr, "DUMP STATE", "MAX", "P50", "LAST", "WAKERS", "STACK")
	var rows [][]string
	for i := range r.Groups {
		g := &r.Groups[i]
		mark := g.Mark
		if g.MatchedByID {
			mark += " (by id)"
		}
		row := []string{strconv.Itoa(i + 1), mark, dash(g.InRecords), dash(g.RecordsGoroutines), dash(g.InDump)}
		if r.Dump.HasIDs {
			ids := "-"
			if len(g.DumpIDs) > 0 {
				ids = fmt.Sprintf("%d/%d", len(g.IDsInRecords), len(g.DumpIDs))
			}
			row = append(row, ids)
		}
		state := "-"
		if len(g.DumpReasons) > 0 {
			state = fmtCounts(g.DumpReasons)
		}
		if g.DumpWaitMinutes > 0 {
			state += fmt.Sprintf(", %d min", g.DumpWaitMinutes)
		}
		maxS, p50, last := "-", "-", "-"
		if g.InRecords > 0 {
			maxS, p50 = fmtUS(g.PendingMaxUS), fmtUS(g.PendingP50US)
			last = "@" + fmtUS(*g.LastUS)
		}
		var ws []string
		for _, wk := range g.Wakers {
			ws = append(ws, fmtWaker(wk))
		}
		wakers := "-"
		if len(ws) > 0 {
			wakers = strings.Join(ws, ", ")
		}
		row = append(row, state, maxS, p50, last, wakers, compactStack(g, opt))
		rows = append(rows, row)
	}
	if opt.Width == 0 {
		textwidth.Table(w, 0, "", hdr, rows, nil, -1, -1)
	} else {
		// Within opt.Width columns: each stack on a line of its own under
		// its row, the wakers cut to fit.
		var subs []string
		for i := range rows {
			subs = append(subs, rows[i][len(hdr)-1])
			rows[i] = rows[i][:len(hdr)-1]
		}
		textwidth.Table(w, opt.Width, "", hdr[:len(hdr)-1], rows, subs, len(hdr)-2, -1)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%d group(s): %d both, %d records only, %d dump only\n", len(r.Groups),
		r.Summary[MarkBoth], r.Summary[MarkRecordsOnly], r.Summary[MarkDumpOnly])
	if n := unmatchedNoStack(r); n > 0 {
		if r.Dump.HasIDs {
			fmt.Fprintf(w, "%d pending(s) without a stack (blocked before the records began) are of goroutines not in the dump\n", n)
		} else {
			fmt.Fprintf(w, "%d pending(s) without a stack (blocked before the records began) cannot be matched with a %s dump: a debug=2 dump matches them by goroutine id\n", n, r.Dump.Form)
		}
	}

	if opt.Verbose {
		for i := range r.Groups {
			writeDetails(w, i+1, &r.Groups[i])
		}
	}
	_, err := io.WriteString(out, textwidth.Wrap(buf.String(), opt.Width, "         "))
	return err
}

// unmatchedNoStack returns the number of pendings without a stack left in
// a group of their own.
func unmatchedNoStack(r *Report) int {
	for _, g := range r.Groups {
		if len(g.frames) == 0 && g.InRecords > 0 {
			return g.InRecords
		}
	}
	return 0
}

func writeDetails(w io.Writer, n int, g *groupInfo) {
	fmt.Fprintf(w, "\n#%d %s", n, g.Mark)
	if g.MatchedByID {
		fmt.Fprint(w, " (matched by goroutine id)")
	}
	fmt.Fprintln(w)
	if len(g.Frames) == 0 {
		fmt.Fprintln(w, "  stack: none in the records (the goroutines were blocked before the records began)")
	} else {
		fmt.Fprintln(w, "  stack (normalised, innermost first):")
		for _, f := range g.Frames {
			fmt.Fprintf(w, "    %s\n", f)
		}
	}
	if g.InRecords > 0 {
		var ids []uint64
		for _, t := range g.tasks {
			ids = append(ids, uint64(t))
		}
		fmt.Fprintf(w, "  records: %d pending of %d goroutine(s) (%s), from @%s to @%s",
			g.InRecords, g.RecordsGoroutines, fmtIDs(ids, 10), fmtUS(*g.FirstUS), fmtUS(*g.LastUS))
		if len(g.RecordReasons) > 0 {
			fmt.Fprintf(w, ", wait reasons: %s", fmtCounts(g.RecordReasons))
		}
		fmt.Fprintln(w)
		if len(g.Wakers) > 0 {
			var ws []string
			for _, wk := range g.Wakers {
				ws = append(ws, fmtWaker(wk))
			}
			fmt.Fprintf(w, "  wakers: %s\n", strings.Join(ws, ", "))
		}
	}
	if g.InDump > 0 {
		fmt.Fprintf(w, "  dump: %d goroutine(s)", g.InDump)
		if len(g.DumpReasons) > 0 {
			fmt.Fprintf(w, ", %s", fmtCounts(g.DumpReasons))
		}
		if g.DumpWaitMinutes > 0 {
			fmt.Fprintf(w, ", up to %d min", g.DumpWaitMinutes)
		}
		fmt.Fprintln(w)
		if len(g.DumpIDs) > 0 {
			fmt.Fprintf(w, "    ids: %s\n", fmtIDs(g.DumpIDs, 20))
			fmt.Fprintf(w, "    pending in the records under this stack: %s\n", orNone(fmtIDs(g.IDsInRecords, 20)))
			if len(g.IDsOtherStack) > 0 {
				fmt.Fprintf(w, "    pending in the records under another stack only: %s\n", fmtIDs(g.IDsOtherStack, 20))
			}
		}
		if len(g.CreatedBy) > 0 {
			fmt.Fprintf(w, "    created by: %s\n", fmtCounts(g.CreatedBy))
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// shortLoc renders a spawn location compactly: "ENTRY, FILE:LINE" of the
// go statement (base name of the file), the entry without its package
// path; an old-style location (the creator's "FUNC FILE:LINE") as its short
// frame.
func shortLoc(loc string) string {
	entry, creator, found := strings.Cut(loc, " (created at ")
	if !found {
		if e, ok := wrecords.Entry(loc); ok {
			return analyze.ShortFunc(e)
		}
		f, _ := dump.ParseFrame(loc)
		return f.Short()
	}
	f, _ := dump.ParseFrame(strings.TrimSuffix(creator, ")"))
	pos := f.Short()
	if i := strings.IndexByte(pos, ' '); i >= 0 {
		pos = pos[i+1:]
	}
	return analyze.ShortFunc(entry) + ", " + pos
}
