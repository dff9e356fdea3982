package fleet

import (
	"fmt"
	"strings"

	"github.com/wakeshim/wakeshim/analyze"
)

// The timeline over the fleet: the polls and wakes of one window, for
// the page's picture. It needs the scheduling records in time order,
// which the tables do not keep, so the shipper's analysis finds each
// load's window as `wakeshim report` does for a file (the 100ms with the
// most wakes; at most 5000 polls and 5000 wakes) and ships it as one row
// of timelines, with the file holding the end of the load's run (as the
// chains: runEnds), its wakes counted. The report takes the window with
// the most wakes over the selected loads (a load read again supersedes
// the one it covers: supersededLoads), and says whose it is.

// shipTimeline loads the row of the load's window (none when the
// window is empty).
func (l *loader) shipTimeline() error {
	tl, o := l.rd.rep.Timeline, l.opt
	if len(tl.Polls) == 0 && len(tl.Wakes) == 0 {
		l.res.Rows["timelines"] = 0
		return nil
	}
	// All the window's wakes, the kept ones or not: the report picks the
	// window with the most.
	var wakes int64
	for i := range l.rd.wakes {
		if t := l.rd.wakes[i].t; t >= tl.StartNS && t < tl.EndNS {
			wakes++
		}
	}
	names, _ := l.runEnds()
	process := inputProcess(l.rd.run.Inputs)[l.rd.inputAt(tl.StartNS)]
	b := l.batcher("timelines", "time", "ts_ns", "window_end_ns", "process", "proc", "from_ns", "end_ns", "wakes", "truncated",
		"poll_n", "poll_s", "wake_n", "wake_s")
	r := b.row(o.Service, o.Instance)
	r.dateTime(l.base + tl.StartNS)
	r.i64(l.base + tl.StartNS)
	r.i64(l.base + tl.EndNS)
	r.u32(uint32(process))
	r.str(names[process])
	r.i64(l.base)
	r.i64(l.base + l.rd.run.End)
	r.i64(wakes)
	r.u8(boolU8(tl.Truncated))
	nums := make([]int64, 0, 4*max(len(tl.Polls), len(tl.Wakes)))
	strs := make([]string, 0, 2*max(len(tl.Polls), len(tl.Wakes)))
	for _, p := range tl.Polls {
		nums = append(nums, int64(p.Worker), l.base+p.StartNS, l.base+p.EndNS, int64(p.Task))
		strs = append(strs, p.Name)
	}
	r.i64s(nums)
	r.strs(strs)
	nums, strs = nums[:0], strs[:0]
	for _, w := range tl.Wakes {
		nums = append(nums, l.base+w.TS, int64(w.WakerTask), int64(w.WokenTask), int64(w.TargetWorker))
		strs = append(strs, w.Waker, w.Woken)
	}
	r.i64s(nums)
	r.strs(strs)
	if err := b.rowDone(); err != nil {
		return err
	}
	if err := b.flush(); err != nil {
		return err
	}
	l.res.Rows["timelines"] = b.total
	return nil
}

// fleetTimeline fills r.Timeline: the window with the most wakes of the
// loads selected (ties: the earliest, then by instance), or, with
// window set (from, to on the fleet's time line, from first), of the
// loads' windows overlapping it; times from first. The window is the
// load's own: the polls of other times are not shipped.
func fleetTimeline(q queryFunc, db, where string, window bool, from, to, first int64, r *analyze.Report) error {
	r.Timeline = analyze.Timeline{Polls: []analyze.TimelinePoll{}, Wakes: []analyze.TimelineWake{}}
	not, err := supersededLoads(q, db, "timelines", where)
	if err != nil {
		return err
	}
	sel := where + not
	if window {
		sel += fmt.Sprintf(" AND ts_ns < %d AND window_end_ns > %d", first+to, first+from)
	}
	rows, err := q(fmt.Sprintf(`SELECT instance, ts_ns - %[1]d, window_end_ns - %[1]d, truncated,
		arrayStringConcat(arrayMap(x -> toString(x), poll_n), ','), arrayStringConcat(poll_s, '\n'),
		arrayStringConcat(arrayMap(x -> toString(x), wake_n), ','), arrayStringConcat(wake_s, '\n')
		FROM (SELECT * FROM %[2]s.timelines WHERE %[3]s ORDER BY wakes DESC, ts_ns, instance LIMIT 1)`, first, db, sel))
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	row := rows[0]
	h := ints(row[1:4])
	t := &r.Timeline
	t.Instance, t.StartNS, t.EndNS, t.Truncated = row[0], h[0], h[1], h[2] != 0
	r.Config.WindowStartNS, r.Config.WindowEndNS = t.StartNS, t.EndNS
	nums := func(s string) []int64 {
		if s == "" {
			return nil
		}
		return ints(strings.Split(s, ","))
	}
	lines := func(s string, n int) []string {
		out := make([]string, n)
		if n > 0 {
			copy(out, strings.Split(s, "\n"))
		}
		return out
	}
	pn := nums(row[4])
	ps := lines(row[5], len(pn)/4)
	for i := 0; i+3 < len(pn); i += 4 {
		t.Polls = append(t.Polls, analyze.TimelinePoll{Worker: int(pn[i]), StartNS: pn[i+1] - first, EndNS: pn[i+2] - first,
			Task: uint32(pn[i+3]), Name: ps[i/4]})
	}
	wn := nums(row[6])
	ws := lines(row[7], 2*(len(wn)/4))
	for i := 0; i+3 < len(wn); i += 4 {
		t.Wakes = append(t.Wakes, analyze.TimelineWake{TS: wn[i] - first, WakerTask: uint32(wn[i+1]), WokenTask: uint32(wn[i+2]),
			TargetWorker: int(wn[i+3]), Waker: ws[i/2], Woken: ws[i/2+1]})
	}
	return nil
}
