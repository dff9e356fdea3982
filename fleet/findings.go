package fleet

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/format"
)

// The findings that need the records in time order (herd,
// pause_release, slow_wake, queue) and the stop-the-world pauses. The
// shipper's analysis reads the records in order anyway (for the
// verdicts): it ships its findings (table findings, one row per finding
// of the load) and the pauses it was given (table pauses, one row per
// pause); the report groups them over the fleet (fleetFindings,
// fleetPauses).

// findingRow is a finding of the load, placed on the wall clock.
type findingRow struct {
	t                     int64
	process               int
	kind, sev, key, name  string
	text, numbers         string
	task                  uint32
	woken, count, totalNS int64
	maxNS                 int64
	slow                  [6]int64 // behind, free, pause, all_busy, over_10x, wakes
}

// wakerKey is the grouping key of a herd or pause_release by its waker:
// its name (the goroutine's function), or, when no function names it
// ("gN"), the goroutine of this instance and process, since numbers of
// other instances and processes are other goroutines.
func wakerKey(instance, proc, name string, task uint32) string {
	if name != "g"+strconv.FormatUint(uint64(task), 10) {
		return name
	}
	return instance + "/" + proc + "/" + name
}

// isVerdict reports whether a finding kind is a verdict's (shipped in
// verdicts).
func isVerdict(kind string) bool { return slices.Contains(verdictRank, kind) }

// findings returns the rows of the analysis' findings other than the
// verdicts', if this load ships the end of the run (runEnds: the
// findings are known at the end of the whole run), and adds the stacks
// of the queue findings to stacks.
func (l *loader) findings(stacks map[uint64]stackRow) []findingRow {
	rep := l.rd.rep
	if _, ends := l.runEnds(); len(ends) == 0 || !ends[len(ends)-1] {
		return nil
	}
	procOf := inputProcess(l.rd.run.Inputs)
	var out []findingRow
	for _, f := range rep.Findings {
		if isVerdict(f.Kind) {
			continue
		}
		n := f.Numbers
		ts, ok := n["ts_ns"]
		if !ok {
			ts = rep.SpanNS
		}
		process := procOf[l.rd.inputAt(ts)]
		fr := findingRow{t: l.base + ts, process: process, kind: f.Kind, sev: f.Severity, text: f.Text}
		// The numbers as the file report has them, and the thresholds the
		// report's text names.
		js := maps.Clone(n)
		switch f.Kind {
		case "slow_wake":
			js["slow_wake_ns"] = rep.Config.SlowWakeNS
		case "herd", "pause_release":
			js["herd_count"] = int64(rep.Config.HerdCount)
		}
		fr.numbers = string(format.AppendIntObject(nil, js))
		switch f.Kind {
		case "herd", "pause_release":
			fr.task = uint32(n["waker_task_id"])
			fr.name = l.name(int32(process), fr.task)
			names, _ := l.runEnds()
			proc := strconv.Itoa(process)
			if process < len(names) && names[process] != "" {
				proc = names[process]
			}
			fr.key = wakerKey(l.opt.Instance, proc, fr.name, fr.task)
			fr.woken = n["woken"]
			fr.maxNS = n["pause_ns"]
		case "slow_wake":
			fr.task = uint32(n["task_id"])
			fr.name = l.name(int32(process), fr.task)
			fr.count, fr.maxNS = n["count"], n["max_ns"]
			fr.slow = [6]int64{n["behind"], n["free"], n["pause"], n["all_busy"], n["over_10x"], n["wakes"]}
		case "queue":
			g := int(n["group"])
			if g < 0 || g >= len(rep.Pending) {
				continue
			}
			pg := rep.Pending[g]
			id := StackID(pg.Reason, pg.Frames)
			stacks[id] = stackRow{pg.Reason, pg.Frames}
			fr.key = strconv.FormatUint(id, 10)
			fr.name = analyze.StackLeaf(pg.Frames)
			fr.woken, fr.count, fr.totalNS, fr.maxNS = n["goroutines"], n["count"], n["total_ns"], n["max_ns"]
		default:
			fr.key = f.Kind
			fr.count, fr.maxNS = n["count"], n["max_ns"]
		}
		out = append(out, fr)
	}
	return out
}

func (l *loader) shipFindings(fs []findingRow) error {
	o := l.opt
	names, _ := l.runEnds()
	from, end := l.base, l.base+l.rd.run.End
	fb := l.batcher("findings", "time", "ts_ns", "process", "proc", "from_ns", "end_ns", "kind", "severity", "key", "name", "text",
		"task", "woken", "count", "total_ns", "max_ns", "behind", "free", "pause", "all_busy", "over_10x", "wakes", "numbers")
	for _, f := range fs {
		r := fb.row(o.Service, o.Instance)
		r.dateTime(f.t)
		r.i64(f.t)
		r.u32(uint32(f.process))
		r.str(names[f.process])
		r.i64(from)
		r.i64(end)
		r.str(f.kind)
		r.str(f.sev)
		r.str(f.key)
		r.str(f.name)
		r.str(f.text)
		r.u32(f.task)
		r.i64(f.woken)
		r.i64(f.count)
		r.i64(f.totalNS)
		r.i64(f.maxNS)
		for _, v := range f.slow {
			r.i64(v)
		}
		r.str(f.numbers)
		if err := fb.rowDone(); err != nil {
			return err
		}
	}
	if err := fb.flush(); err != nil {
		return err
	}
	l.res.Rows["findings"] = fb.total
	return nil
}

// shipPauses loads the pauses of the inputs shipped now (a pause belongs
// to the file it came with: records.Pause.Input).
func (l *loader) shipPauses() error {
	o := l.opt
	names, _ := l.runEnds()
	pb := l.batcher("pauses", "time", "ts_ns", "process", "proc", "duration_ns", "reason")
	for _, p := range l.rd.pauses {
		if int(p.input) >= len(l.ship) || !l.ship[p.input] {
			continue
		}
		t := l.base + p.t
		r := pb.row(o.Service, o.Instance)
		r.dateTime(t)
		r.i64(t)
		r.u32(uint32(p.process))
		proc := ""
		if int(p.process) < len(names) {
			proc = names[p.process]
		}
		r.str(proc)
		r.i64(p.dur)
		r.str(p.reason)
		if err := pb.rowDone(); err != nil {
			return err
		}
	}
	if err := pb.flush(); err != nil {
		return err
	}
	l.res.Rows["pauses"] = pb.total
	return nil
}

// supersededLoads returns the condition leaving out the rows of table
// (findings, chain_roots, chains, workers: each has from_ns, end_ns) of the
// loads another load of the same instance read again: the shipper
// analyses the whole run it reads, files shipped before included (`wakeshim
// ship DIR` over a directory that grew), so a later load whose time line
// holds the middle of an earlier one's has its findings too. The shim's
// own loads read new files only: none covers another, all count. ""
// when none is superseded.
func supersededLoads(q queryFunc, db, table, where string) (string, error) {
	rows, err := q(fmt.Sprintf(`SELECT instance, load_id, min(from_ns), max(end_ns) FROM %s.%s WHERE %s GROUP BY instance, load_id
		ORDER BY instance, max(end_ns) DESC, load_id`, db, table, where))
	if err != nil {
		return "", err
	}
	type span struct{ from, end int64 }
	var kept []span
	var out []string
	inst := "\x00"
	for _, row := range rows {
		n := ints(row[2:])
		if row[0] != inst {
			inst, kept = row[0], kept[:0]
		}
		mid := n[0] + (n[1]-n[0])/2
		if slices.ContainsFunc(kept, func(k span) bool { return k.from <= mid && mid <= k.end }) {
			out = append(out, Quote(row[1]))
			continue
		}
		kept = append(kept, span{n[0], n[1]})
	}
	if len(out) == 0 {
		return "", nil
	}
	return " AND load_id NOT IN (" + strings.Join(out, ", ") + ")", nil
}

// findingKinds orders the fleet's findings as the file report does.
var findingKinds = []string{"pause_release", "herd", "slow_wake", "queue"}

// fleetFindings groups the shipped findings over the fleet by kind and
// key (herd, pause_release: the waker; queue: the stack; slow_wake: one
// group), with the instances each is on; at most 10 groups of each
// kind, as the file report. The severity is the worst, but slow_wake's
// is judged again over the fleet's sums by the file report's rule (a
// warning when the wakes of ten times the threshold or more are 10 and
// at least 1% of the wakes). pending maps the stack ids of r.Pending to
// their index; first is the start of the time covered.
func fleetFindings(q queryFunc, db, where string, pending map[string]int, first int64, of int, r *analyze.Report) error {
	not, err := supersededLoads(q, db, "findings", where)
	if err != nil {
		return err
	}
	sel := where + not
	best := "if(kind = 'slow_wake', max_ns, woken)"
	rows, err := q(fmt.Sprintf(`SELECT kind, key, count(), uniqExact(instance), max(severity = 'warning'), min(woken), max(woken),
		sum(count), sum(total_ns), max(max_ns), sum(behind), sum(free), sum(pause), sum(all_busy), sum(over_10x), sum(wakes),
		argMax(instance, %[1]s), argMax(task, %[1]s), argMax(ts_ns, %[1]s) - %[2]d, argMax(name, %[1]s), argMax(numbers, %[1]s)
		FROM %[3]s.findings WHERE %[4]s GROUP BY kind, key
		ORDER BY indexOf([%[5]s], kind), count() DESC, max(%[1]s) DESC, key`, best, first, db, sel, quoteAll(findingKinds)))
	if err != nil {
		return err
	}
	type group struct {
		kind, key string
		n         []int64
		instance  string
		name      string
		numbers   map[string]int64
		on        []analyze.InstanceCount
	}
	var groups []*group
	perKind := map[string]int{}
	idx := map[[2]string]*group{}
	var queueIDs []string
	for _, row := range rows {
		if perKind[row[0]] == 10 {
			continue
		}
		perKind[row[0]]++
		g := &group{kind: row[0], key: row[1], n: ints(row), instance: row[16], name: row[19], numbers: map[string]int64{}}
		if m, err := format.ParseIntObject([]byte(row[20])); err == nil {
			g.numbers = m
		}
		groups = append(groups, g)
		idx[[2]string{g.kind, g.key}] = g
		if g.kind == "queue" {
			queueIDs = append(queueIDs, g.key)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	rows, err = q(fmt.Sprintf(`SELECT kind, key, instance, count(), sum(count) FROM %s.findings WHERE %s GROUP BY kind, key, instance
		ORDER BY if(kind = 'slow_wake', sum(count), toInt64(count())) DESC, instance`, db, sel))
	if err != nil {
		return err
	}
	for _, row := range rows {
		g := idx[[2]string{row[0], row[1]}]
		if g == nil {
			continue
		}
		n := ints(row[3:])
		c := n[0]
		if g.kind == "slow_wake" {
			c = n[1]
		}
		g.on = append(g.on, analyze.InstanceCount{Instance: row[2], Goroutines: int(c)})
	}
	reasons := map[string]string{}
	if len(queueIDs) > 0 {
		var ids []string
		for _, id := range queueIDs {
			if _, err := strconv.ParseUint(id, 10, 64); err == nil {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			rows, err = q(fmt.Sprintf(`SELECT toString(stack_id), any(reason) FROM %s.stacks WHERE stack_id IN (%s) GROUP BY stack_id`, db, strings.Join(ids, ", ")))
			if err != nil {
				return err
			}
			for _, row := range rows {
				reasons[row[0]] = row[1]
			}
		}
	}
	ns := analyze.FmtNS
	for _, g := range groups {
		n := g.n
		times, instances := n[2], int64(len(g.on))
		sev := "info"
		if n[4] != 0 {
			sev = "warning"
		}
		on := analyze.OnInstances(g.on, of, 5)
		who := gname(g.instance, strconv.FormatInt(n[17], 10), g.name)
		f := analyze.Finding{Kind: g.kind, Severity: sev}
		switch g.kind {
		case "herd", "pause_release":
			window := g.numbers["window_ns"]
			f.Numbers = map[string]int64{"waker_task_id": n[17], "woken": n[6], "window_ns": window, "ts_ns": n[18]}
			if g.kind == "herd" {
				f.Text = fmt.Sprintf("%s woke %d or more goroutines within %s, %d time(s) on %s; the most, %d by %s at %s: thundering herd",
					g.name, n[5], ns(window), times, on, n[6], who, ns(n[18]))
			} else {
				f.Numbers["pause_ts_ns"] = g.numbers["pause_ts_ns"] - g.numbers["ts_ns"] + n[18]
				f.Numbers["pause_ns"] = n[9]
				f.Text = fmt.Sprintf("%s woke %d or more goroutines within %s right after a stop-the-world pause, %d time(s) on %s; the most, %d by %s at %s (pauses up to %s): the pauses' effect, not a thundering herd",
					g.name, n[5], ns(window), times, on, n[6], who, ns(n[18]), ns(n[9]))
			}
		case "slow_wake":
			count, behind, free, pause, allBusy, big := n[7], n[10], n[11], n[12], n[13], n[14]
			wakes := max(r.WakesTotal, n[15])
			slow := g.numbers["slow_wake_ns"]
			sev = "info"
			if big >= 10 && big*100 >= wakes {
				sev = "warning"
			}
			f.Severity = sev
			f.Numbers = map[string]int64{"count": count, "max_ns": n[9], "task_id": n[17], "ts_ns": n[18],
				"parked_workers": g.numbers["parked_workers"], "behind": behind, "free": free, "pause": pause,
				"all_busy": allBusy, "over_10x": big, "wakes": wakes}
			held := ""
			if pause > 0 {
				held = fmt.Sprintf(", %d held up by stop-the-world pauses", pause)
			}
			if allBusy > 0 {
				held += fmt.Sprintf("; %d more waited as long with every P busy", allBusy)
			}
			f.Text = fmt.Sprintf("%d of %d wake(s) (%s) waited at least %s to run while a P was parked, on %s: %d behind the goroutine running on their P, %d with a P free but no thread to run them%s; %d of %s or more; the longest, %s for %s at %s",
				count, wakes, pct(count, wakes), ns(slow), on, behind, free, held, big, ns(10*slow), ns(n[9]), who, ns(n[18]))
			if count == 0 {
				f.Text = fmt.Sprintf("%d of %d wake(s) (%s) waited at least %s to run with every P busy, on %s (in a run queue: a CPU-bound program, or GOMAXPROCS too low); none while a P was parked",
					allBusy, wakes, pct(allBusy, wakes), ns(slow), on)
			}
		case "queue":
			group := int64(-1)
			if i, ok := pending[g.key]; ok {
				group = int64(i)
			}
			reason := reasons[g.key]
			if reason == "" {
				reason = "a wait"
			}
			f.Numbers = map[string]int64{"goroutines": n[6], "count": n[7], "total_ns": n[8], "max_ns": n[9], "group": group}
			f.Text = fmt.Sprintf("up to %d goroutines queued at once in %s at %s, %d time(s) on %s: %d blocks, %s in all, max %s",
				n[6], reason, g.name, times, on, n[7], ns(n[8]), ns(n[9]))
		default:
			f.Numbers = map[string]int64{"count": n[7], "max_ns": n[9]}
			f.Text = fmt.Sprintf("%s %d time(s) on %s", g.kind, times, on)
		}
		f.Numbers["times"] = times
		f.Numbers["instances"] = instances
		f.Numbers["of_instances"] = int64(of)
		r.Findings = append(r.Findings, f)
	}
	return nil
}

func pct(n, of int64) string {
	if of <= 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}

// fleetPauses fills r.Pauses: the stop-the-world pauses in all, by
// instance and reason (at most top), and the longest (worst).
func fleetPauses(q queryFunc, db, where string, top, worst int, first int64, of int, r *analyze.Report) error {
	rows, err := q(fmt.Sprintf(`SELECT count(), sum(duration_ns), max(duration_ns), uniqExact(instance) FROM %s.pauses WHERE %s`, db, where))
	if err != nil {
		return err
	}
	n := ints(rows[0])
	if n[0] == 0 {
		return nil
	}
	p := &analyze.Pauses{Count: n[0], TotalNS: n[1], MaxNS: n[2], Instances: int(n[3]), OfInstances: of,
		ByInstance: []analyze.PauseGroup{}, Longest: []analyze.PauseAt{}}
	rows, err = q(fmt.Sprintf(`SELECT instance, reason, count(), sum(duration_ns), max(duration_ns) FROM %s.pauses WHERE %s
		GROUP BY instance, reason ORDER BY sum(duration_ns) DESC, instance, reason LIMIT %d`, db, where, top))
	if err != nil {
		return err
	}
	for _, row := range rows {
		n := ints(row[2:])
		p.ByInstance = append(p.ByInstance, analyze.PauseGroup{Instance: row[0], Reason: row[1], Count: n[0], TotalNS: n[1], MaxNS: n[2]})
	}
	rows, err = q(fmt.Sprintf(`SELECT ts_ns - %d, instance, reason, duration_ns FROM %s.pauses WHERE %s
		ORDER BY duration_ns DESC, ts_ns, instance LIMIT %d`, first, db, where, worst))
	if err != nil {
		return err
	}
	for _, row := range rows {
		n := ints(row)
		p.Longest = append(p.Longest, analyze.PauseAt{TS: n[0], Instance: row[1], Reason: row[2], DurationNS: n[3]})
	}
	r.Pauses = p
	return nil
}
