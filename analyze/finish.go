package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/records"
)

// Analyze reads the run's events and returns the report (and the
// analyzer, which still holds what the pprof profiles are made of).
func Analyze(run *records.Run, cfg Config) (*Report, *Analyzer, error) {
	a, err := New(cfg)
	if err != nil {
		return nil, nil, err
	}
	if run.Options.Pause == nil {
		run.Options.Pause = a.Pause
	}
	if run.Options.End == nil {
		run.Options.End = a.End
	}
	for ev, err := range run.Events() {
		if err != nil {
			return nil, nil, err
		}
		a.Add(ev)
	}
	r := a.Report(run.End)
	for _, in := range run.Inputs {
		r.Inputs = append(r.Inputs, Input{Path: in.Path, Kind: in.Kind.String(), Bytes: in.Bytes})
	}
	r.Records = run.Records
	r.Warnings = append(r.Warnings, run.Warnings...)
	return r, a, nil
}

// percentile returns the nearest-rank q-quantile of sorted values.
func percentile[T int64 | uint32](sorted []T, q float64) T {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Report ends the analysis at end (the time line's end; the last event's
// time if smaller) and returns its result. Call it once.
func (a *Analyzer) Report(end int64) *Report {
	end = max(end, a.lastT)
	r := &Report{
		Inputs: []Input{}, SpanNS: end, Records: a.records, WakesTotal: a.wakes,
		PendingTotal: a.nblocks, PendingRecs: a.pendingRecs,
		Pending: []PendingGroup{}, Wakes: []WakeEdge{}, Workers: []Worker{}, Queue: []QueuePoint{},
		Findings: []Finding{}, Warnings: []string{},
		Config: ConfigInfo{StuckNS: int64(a.cfg.Stuck), HerdCount: a.cfg.HerdCount, HerdWindowNS: int64(a.cfg.HerdWindow),
			SlowWakeNS: int64(a.cfg.SlowWake), QueueGoroutines: a.cfg.QueueGoroutines},
	}
	r.Timeline = a.tl.finish(a, end)
	r.Config.WindowStartNS, r.Config.WindowEndNS = r.Timeline.StartNS, r.Timeline.EndNS
	a.foldLatest()
	a.finishPending(r)
	a.verdicts(r, end)
	a.finishChains(r)
	a.finishWakes(r)
	a.finishWorkers(r, end)
	r.Queue = thin(a.queue, 2000)
	a.findings(r, end)
	return r
}

func (a *Analyzer) finishPending(r *Report) {
	a.order = make([]int32, 0, len(a.groups))
	for gi := range a.groups {
		if a.groups[gi].sum.count > 0 {
			a.order = append(a.order, int32(gi))
		}
	}
	slices.SortStableFunc(a.order, func(x, y int32) int {
		sx, sy := &a.groups[x].sum, &a.groups[y].sum
		if c := cmp.Compare(sy.total, sx.total); c != 0 {
			return c
		}
		return cmp.Compare(sy.count, sx.count)
	})
	var spanBuf []int64 // (maxAtOnce's scratch, shared by the groups)
	for _, gi := range a.order {
		g := &a.groups[gi]
		s := &g.sum
		pg := PendingGroup{Reason: g.reason, Frames: g.frames, Count: int(s.count), TotalNS: s.total, Wakers: []Waker{},
			Roots: []RootShare{}, StillBlocked: s.still, Goroutines: s.goroutines()}
		pg.P50NS, pg.P99NS, pg.MaxNS = int64(s.durs.quantile(0.5))*1000, int64(s.durs.quantile(0.99))*1000, s.maxDur
		pg.MaxAtOnce = s.spans.maxAtOnce(&spanBuf)
		// The wakers by name; each name's first 20 goroutine ids in the
		// order of their first blocks here.
		type wt struct {
			task int32
			*wakerSum
		}
		byName := map[string][]wt{}
		s.eachWaker(func(wi int32, w *wakerSum) {
			if wi >= 0 {
				n := a.fn(wi)
				byName[n] = append(byName[n], wt{wi, w})
			}
		})
		for n, ws := range byName {
			slices.SortFunc(ws, func(x, y wt) int { return cmp.Compare(x.first, y.first) })
			w := Waker{Name: n, TaskIDs: []uint32{}}
			for _, x := range ws {
				w.Count += int(x.n)
				w.TotalNS += x.ns
				if id := a.taskID(x.task); id != 0 && len(w.TaskIDs) < 20 && !slices.Contains(w.TaskIDs, id) {
					w.TaskIDs = append(w.TaskIDs, id)
				}
			}
			slices.Sort(w.TaskIDs)
			pg.Wakers = append(pg.Wakers, w)
		}
		slices.SortFunc(pg.Wakers, func(x, y Waker) int {
			if c := cmp.Compare(y.Count, x.Count); c != 0 {
				return c
			}
			return cmp.Compare(x.Name, y.Name)
		})
		r.Pending = append(r.Pending, pg)
	}
}

func (a *Analyzer) finishWakes(r *Report) {
	type edgeAcc struct {
		e   WakeEdge
		lat dist
	}
	byName := map[[2]string]int{}
	var edges []*edgeAcc
	// The edges in the order of their first pairs; their distinct
	// goroutines, as (edge, goroutine) sorted; the pairs not folded
	// (end.go), then the sums of those folded.
	wakers := make([]uint64, 0, a.pairSk.len())
	woke := make([]uint64, 0, a.pairSk.len())
	for pi, sk := range a.pairSk.all() {
		k := [2]string{a.fn(sk.waker), a.fn(sk.woken)}
		ei, ok := byName[k]
		if !ok {
			ei = len(edges)
			byName[k] = ei
			_, wloc, _ := a.ident(sk.waker)
			_, gloc, _ := a.ident(sk.woken)
			edges = append(edges, &edgeAcc{e: WakeEdge{Waker: k[0], Woken: k[1], WakerLocation: wloc, WokenLocation: gloc}})
		}
		wakers = append(wakers, uint64(ei)<<32|uint64(uint32(sk.waker)))
		woke = append(woke, uint64(ei)<<32|uint64(uint32(sk.woken)))
		if !a.pairFolded(pi) {
			p := a.pairL.at(pi)
			e := edges[ei]
			e.e.Count += p.count
			e.lat.merge(&p.lat)
		}
	}
	for i := range a.sums {
		s := &a.sums[i]
		if s.dead {
			continue
		}
		e := edges[byName[[2]string{a.sideName(s.key[0]), a.sideName(s.key[1])}]]
		e.e.Count += s.count
		e.lat.merge(&s.lat)
	}
	distinct := func(v []uint64, set func(e *edgeAcc, n int)) {
		slices.Sort(v)
		for i := 0; i < len(v); {
			j, n := i, 0
			for ; j < len(v) && v[j]>>32 == v[i]>>32; j++ {
				if j == i || v[j] != v[j-1] {
					n++
				}
			}
			set(edges[v[i]>>32], n)
			i = j
		}
	}
	distinct(wakers, func(e *edgeAcc, n int) { e.e.WakerTasks = n })
	distinct(woke, func(e *edgeAcc, n int) { e.e.WokenTasks = n })
	wakers, woke = nil, nil
	for _, e := range edges {
		e.e.Latency = e.lat.stats()
		r.Wakes = append(r.Wakes, e.e)
	}
	slices.SortStableFunc(r.Wakes, func(x, y WakeEdge) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Waker, y.Waker); c != 0 {
			return c
		}
		return cmp.Compare(x.Woken, y.Woken)
	})
	r.Latency.LatencyStats = a.all.stats()
	r.Latency.Histogram = []Bucket{}
	if a.all.n > 0 {
		prev := int64(0)
		for le := uint64(1); ; le *= 2 {
			n := a.all.countLT(le)
			r.Latency.Histogram = append(r.Latency.Histogram, Bucket{LeNS: int64(le) * 1000, Count: n - prev})
			prev = n
			if n == a.all.n {
				break
			}
		}
	}
	worst := slices.Clone(a.worst)
	slices.SortFunc(worst, func(x, y worstWake) int {
		if worse(x, y) {
			return -1
		}
		if worse(y, x) {
			return 1
		}
		return 0
	})
	r.Latency.Worst = []WorstWake{}
	for _, w := range worst {
		p := a.pairSk.at(w.pair)
		r.Latency.Worst = append(r.Latency.Worst, WorstWake{TS: w.t, Waker: a.name(p.waker), Woken: a.name(p.woken),
			Task: a.taskID(p.woken), LatencyNS: int64(w.us) * 1000})
	}
}

func (a *Analyzer) finishWorkers(r *Report, end int64) {
	for i := range a.workers {
		w := &a.workers[i]
		if !w.seen {
			continue
		}
		busy, parked := w.busy, w.parkedNS
		if w.running {
			busy += end - w.runStart
		}
		if w.parked {
			parked += end - w.parkSince
		}
		r.Workers = append(r.Workers, Worker{Worker: i, BusyNS: busy, ParkedNS: parked, Polls: w.polls})
	}
}

// thin keeps at most n points: the largest of each of n buckets of time.
func thin(q []QueuePoint, n int) []QueuePoint {
	if len(q) <= n {
		return append([]QueuePoint{}, q...)
	}
	out := make([]QueuePoint, 0, n)
	per := (len(q) + n - 1) / n
	for i := 0; i < len(q); i += per {
		best := q[i]
		for _, p := range q[i:min(i+per, len(q))] {
			if p.GlobalQ > best.GlobalQ {
				best = p
			}
		}
		out = append(out, best)
	}
	return out
}

func (a *Analyzer) findings(r *Report, end int64) {
	const perKind = 10
	// The goroutines still blocked at the end: their verdicts' warnings.
	a.verdictFindings(r)
	// Herd: wakers that woke many goroutines at once.
	herds := a.herds()
	slices.SortStableFunc(herds, func(x, y deadHerd) int { return cmp.Compare(y.best, x.best) })
	for _, h := range herds[:min(len(herds), perKind)] {
		ti := h.ti
		t := struct {
			id       uint32
			herdBest int
			herdAt   int64
			process  int
		}{a.taskID(ti), h.best, h.at, h.process}
		if p, ok := a.releasedBy(t.process, t.herdAt); ok {
			r.Findings = append(r.Findings, Finding{Kind: "pause_release", Severity: "info",
				Text: fmt.Sprintf("%d wakes by %s within %s at %s released by %s at %s: the pause's effect, not a thundering herd",
					t.herdBest, a.name(ti), FmtNS(int64(a.cfg.HerdWindow)), FmtNS(t.herdAt), pauseText(p), FmtNS(p.start)),
				Numbers: map[string]int64{"waker_task_id": int64(t.id), "woken": int64(t.herdBest),
					"window_ns": int64(a.cfg.HerdWindow), "ts_ns": t.herdAt,
					"pause_ts_ns": p.start, "pause_ns": p.end - p.start}})
			continue
		}
		r.Findings = append(r.Findings, Finding{Kind: "herd", Severity: "info",
			Text: fmt.Sprintf("%s woke %d goroutines within %s at %s: thundering herd",
				a.name(ti), t.herdBest, FmtNS(int64(a.cfg.HerdWindow)), FmtNS(t.herdAt)),
			Numbers: map[string]int64{"waker_task_id": int64(t.id), "woken": int64(t.herdBest),
				"window_ns": int64(a.cfg.HerdWindow), "ts_ns": t.herdAt}})
	}
	// Slow wakes while a P was parked.
	if s := a.slow; s.count > 0 || s.allBusy > 0 {
		// A warning only when the delays are big and not rare: at least
		// 1% of all wakes (and 10) waited 10 x -slow-wake or more with a
		// P free, a p99 wake-to-run latency that long. A few ms now and
		// then on a busy machine is the machine's, not the program's.
		sev := "info"
		if s.big >= 10 && s.big*100 >= a.wakes {
			sev = "warning"
		}
		cause := "behind the goroutine running on its P"
		switch {
		case s.maxHeld:
			cause = "held up by " + pauseText(s.maxPause)
		case !s.maxBehind:
			cause = "a P free but no thread to run it"
		}
		held := ""
		if s.pause > 0 {
			held = fmt.Sprintf(", %d held up by stop-the-world pauses", s.pause)
		}
		if s.allBusy > 0 {
			held += fmt.Sprintf("; %d more waited as long with every P busy (in a run queue: a CPU-bound program, or GOMAXPROCS too low)", s.allBusy)
		}
		text := fmt.Sprintf("%d of %d wake(s) (%s) waited at least %s to run while a P was parked: %d behind the goroutine running on their P, %d with a P free but no thread to run them (CPUs busy elsewhere, or a CPU limit)%s; %d of %s or more; the longest, %s for %s at %s (%d P(s) parked, %s)",
			s.count, a.wakes, pctOf(s.count, a.wakes), FmtNS(int64(a.cfg.SlowWake)), s.behind, s.free, held,
			s.big, FmtNS(10*int64(a.cfg.SlowWake)), FmtNS(s.max), a.name(s.task), FmtNS(s.ts), s.parked, cause)
		if s.count == 0 {
			text = fmt.Sprintf("%d of %d wake(s) (%s) waited at least %s to run with every P busy (in a run queue: a CPU-bound program, or GOMAXPROCS too low); none while a P was parked",
				s.allBusy, a.wakes, pctOf(s.allBusy, a.wakes), FmtNS(int64(a.cfg.SlowWake)))
		}
		r.Findings = append(r.Findings, Finding{Kind: "slow_wake", Severity: sev, Text: text,
			Numbers: map[string]int64{"count": s.count, "max_ns": s.max, "task_id": int64(a.taskID(s.task)),
				"ts_ns": s.ts, "parked_workers": int64(s.parked), "behind": s.behind, "free": s.free,
				"pause": s.pause, "all_busy": s.allBusy, "over_10x": s.big, "wakes": a.wakes}})
	}
	// Queues: many goroutines blocked at once on one stack.
	n := 0
	for i, pg := range r.Pending {
		if n == perKind {
			break
		}
		if pg.MaxAtOnce < a.cfg.QueueGoroutines || pg.Reason == "sleep" || pg.Reason == "" {
			continue
		}
		n++
		r.Findings = append(r.Findings, Finding{Kind: "queue", Severity: "info",
			Text: fmt.Sprintf("up to %d goroutines queued at once in %s at %s: %d blocks, %s in all, max %s",
				pg.MaxAtOnce, reasonText(pg.Reason), stackLeaf(pg.Frames), pg.Count, FmtNS(pg.TotalNS), FmtNS(pg.MaxNS)),
			Numbers: map[string]int64{"goroutines": int64(pg.MaxAtOnce), "count": int64(pg.Count),
				"total_ns": pg.TotalNS, "max_ns": pg.MaxNS, "group": int64(i)}})
	}
}

func reasonText(r string) string {
	if r == "" {
		return "a wait"
	}
	return r
}

// StackLeaf is the function a finding names a stack by: the innermost
// frame's outside the runtime, package path dropped ("(no stack)" for
// none).
func StackLeaf(frames []string) string { return stackLeaf(frames) }

// stackLeaf is the innermost frame's function, or a note for no stack.
func stackLeaf(frames []string) string {
	if len(frames) == 0 {
		return "(no stack)"
	}
	// The innermost frame outside the runtime, as a goroutine dump's
	// normalisation would show it.
	f := frames[0]
	for _, x := range frames {
		if !strings.HasPrefix(x, "runtime.") {
			f = x
			break
		}
	}
	if i := strings.IndexByte(f, ' '); i >= 0 {
		f = f[:i]
	}
	return ShortFunc(f)
}

// FmtNS formats nanoseconds compactly with about three significant
// digits: 850µs, 12.3ms, 1.52s, 2m3s.
func FmtNS(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", ns/1000)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(ns)/1e6)
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(ns)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(ns)/1e6)
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", float64(ns)/1e9)
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", float64(ns)/1e9)
	}
	return d.Round(time.Second).String()
}

// pctOf is n/of as a percentage with one decimal ("2.4%").
func pctOf(n, of int64) string {
	if of <= 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}
