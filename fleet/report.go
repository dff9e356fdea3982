package fleet

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/analyze"
)

// ReportOptions select the records of a fleet report.
type ReportOptions struct {
	Scope
	// Since and Until bound the rows' wall-clock time (zero: unbounded).
	Since, Until time.Time
	// Top bounds the pending groups (by total time) and wake edges (by
	// count) fetched; 0 means 1000.
	Top int
	// Worst is how many of the longest wake-to-run latencies are listed
	// (0: 20).
	Worst int
	// SlowWake is the wake-to-run latency counted slow, by instance and
	// in the wake_latency finding (0: 1ms, the file report's default).
	SlowWake time.Duration
	// Chains is how many of the longest waits' chains are listed (0:
	// 10, negative: none; past 10, the fleet's longest are those of each
	// load's own 10 longest).
	Chains int
	// Window, if set, selects the timeline among the loads' windows
	// overlapping WindowStart to WindowEnd, on the fleet's time line
	// (from the start of the time covered); by default the window with
	// the most wakes of all. Each load shipped its own window (the 100ms
	// with the most wakes): the timeline is that, not clipped.
	Window                 bool
	WindowStart, WindowEnd time.Duration
}

// Spread is how a pending group spreads over the fleet: the instances
// with blocks of it, and those with a goroutine still blocked in it at
// the end of their records.
type Spread struct {
	Instances, StillBlockedOn int
	// Of is the instances of the report.
	Of int
}

// Report builds the report over the fleet's committed records with
// GROUP BY queries run by ClickHouse (nothing is fetched row by row):
// the totals, the pending groups by wait reason and stack (count,
// goroutines, total, quantiles, max, still blocked, wakers), the wake
// edges between goroutines by name (count, latency quantiles and max),
// the wake-to-run latency (quantiles, histogram, the worst wakes), the
// global run queue, and the verdicts on the goroutines still blocked at
// the end of each instance's records (judged when shipped), by verdict
// and stack with their instances, the warnings among them as findings;
// and what the shipper's analysis found in the records in time order on
// each load: the time-ordered findings, the pauses, the roots of the
// groups' waits, the longest waits' chains, the Ps and the timeline (the
// loads' window with the most wakes, with its instance). Spreads is parallel to Report.Pending.
func Report(ctx context.Context, c *Client, opt ReportOptions) (*analyze.Report, []Spread, error) {
	if opt.Service == "" {
		return nil, nil, fmt.Errorf("fleet: no service name")
	}
	if opt.Top <= 0 {
		opt.Top = 1000
	}
	if opt.Worst <= 0 {
		opt.Worst = 20
	}
	if opt.SlowWake <= 0 {
		opt.SlowWake = time.Millisecond
	}
	if opt.Chains == 0 {
		opt.Chains = chainKept
	}
	db := c.Database
	where := opt.where(c)
	r := &analyze.Report{Inputs: []analyze.Input{}, Pending: []analyze.PendingGroup{}, Wakes: []analyze.WakeEdge{},
		Workers: []analyze.Worker{}, Queue: []analyze.QueuePoint{}, Findings: []analyze.Finding{}, Verdicts: []analyze.Verdict{},
		Chains: []analyze.Chain{}, Warnings: []string{}}
	q := func(query string) ([][]string, error) {
		rows, err := c.Query(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("fleet report: %w", err)
		}
		return rows, nil
	}

	// The files of the scope: inputs, records, the time covered.
	rows, err := q(fmt.Sprintf(`SELECT instance, path, kind, bytes, records, pending_records, start_ns, span_ns
		FROM %s.files WHERE %s ORDER BY instance, shipped, path`, db, opt.Scope.where()))
	if err != nil {
		return nil, nil, err
	}
	instances := map[string]bool{}
	var first, last int64
	for i, row := range rows {
		n := ints(row[3:])
		instances[row[0]] = true
		r.Inputs = append(r.Inputs, analyze.Input{Path: row[0] + ":" + row[1], Kind: row[2], Bytes: n[0]})
		r.Records += n[1]
		r.PendingRecs += n[2]
		if i == 0 || n[3] < first {
			first = n[3]
		}
		last = max(last, n[3]+n[4])
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("fleet report: no records of %s in %s (database %s)", scopeName(opt.Scope), c.URL(), db)
	}
	r.SpanNS = last - first
	if !opt.Since.IsZero() || !opt.Until.IsZero() {
		lo, hi := first, last
		if !opt.Since.IsZero() {
			lo = max(lo, opt.Since.UnixNano())
		}
		if !opt.Until.IsZero() {
			hi = min(hi, opt.Until.UnixNano())
		}
		r.SpanNS = max(hi-lo, 0)
	}

	ids, err := pendingGroups(q, db, where, opt.Top, r)
	if err != nil {
		return nil, nil, err
	}
	spreads, err := groupSpreads(q, db, where, ids, len(instances))
	if err != nil {
		return nil, nil, err
	}
	for i, sp := range spreads {
		g := &r.Pending[i]
		g.OnInstances, g.StillBlockedOn, g.OfInstances = sp.Instances, sp.StillBlockedOn, sp.Of
	}
	if err := stuckByInstance(q, db, where, ids, r); err != nil {
		return nil, nil, err
	}
	if err := chainRoots(q, db, where, ids, r); err != nil {
		return nil, nil, err
	}
	pos := make(map[string]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	if err := verdicts(q, db, where, opt.Top, pos, first, len(instances), r); err != nil {
		return nil, nil, err
	}
	if err := wakeEdges(q, db, where, opt, first, r); err != nil {
		return nil, nil, err
	}
	if err := latencyByInstance(q, db, where, opt.SlowWake, len(instances), r); err != nil {
		return nil, nil, err
	}
	if err := fleetFindings(q, db, where, pos, first, len(instances), r); err != nil {
		return nil, nil, err
	}
	if err := fleetPauses(q, db, where, opt.Top, opt.Worst, first, len(instances), r); err != nil {
		return nil, nil, err
	}
	if opt.Chains > 0 {
		if err := fleetChains(q, db, where, opt.Chains, pos, first, len(instances), r); err != nil {
			return nil, nil, err
		}
	}
	if err := fleetWorkers(q, db, where, r); err != nil {
		return nil, nil, err
	}
	if err := queue(q, db, where, first, last, r); err != nil {
		return nil, nil, err
	}
	if err := fleetTimeline(q, db, where, opt.Window, int64(opt.WindowStart), int64(opt.WindowEnd), first, r); err != nil {
		return nil, nil, err
	}
	return r, spreads, nil
}

// where is the condition selecting a data table's committed rows of
// the scope in the window.
func (opt ReportOptions) where(c *Client) string {
	where := c.committed(opt.Scope)
	if !opt.Since.IsZero() {
		where += fmt.Sprintf(" AND time >= toDateTime(%d)", opt.Since.Unix())
	}
	if !opt.Until.IsZero() {
		where += fmt.Sprintf(" AND time < toDateTime(%d)", opt.Until.Unix())
	}
	return where
}

func scopeName(s Scope) string {
	if s.Instance != "" {
		return "service " + s.Service + " instance " + s.Instance
	}
	return "service " + s.Service
}

// ints parses TabSeparated numbers (a bad one is 0: ClickHouse wrote
// them, in the types the queries ask for).
func ints(fields []string) []int64 {
	out := make([]int64, len(fields))
	for i, f := range fields {
		if v, err := strconv.ParseInt(f, 10, 64); err == nil {
			out[i] = v
		} else if fv, err := strconv.ParseFloat(f, 64); err == nil {
			out[i] = int64(fv)
		}
	}
	return out
}

type queryFunc func(string) ([][]string, error)

func pendingGroups(q queryFunc, db, where string, top int, r *analyze.Report) ([]string, error) {
	rows, err := q(fmt.Sprintf(`SELECT count() FROM %s.pending WHERE %s`, db, where))
	if err != nil {
		return nil, err
	}
	r.PendingTotal = ints(rows[0])[0]
	rows, err = q(fmt.Sprintf(`SELECT toString(stack_id), any(reason), count(), uniqExact(instance, process, task), sum(duration_ns),
		arrayStringConcat(arrayMap(x -> toString(toInt64(x)), quantilesExact(0.5, 0.99)(duration_ns)), ','), max(duration_ns), sum(still_blocked)
		FROM %s.pending WHERE %s GROUP BY stack_id ORDER BY sum(duration_ns) DESC, count() DESC, stack_id LIMIT %d`, db, where, top))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, row := range rows {
		n := ints(splitPair(row, 5)[2:])
		ids = append(ids, row[0])
		r.Pending = append(r.Pending, analyze.PendingGroup{Reason: row[1], Frames: []string{}, Count: int(n[0]), Goroutines: int(n[1]),
			TotalNS: n[2], P50NS: n[3], P99NS: n[4], MaxNS: n[5], StillBlocked: int(n[6]), Wakers: []analyze.Waker{},
			Roots: []analyze.RootShare{}})
	}
	if len(ids) == 0 {
		return nil, nil
	}
	idx := map[string]int{}
	for i, id := range ids {
		idx[id] = i
	}
	in := strings.Join(ids, ", ")
	rows, err = q(fmt.Sprintf(`SELECT toString(stack_id), arrayStringConcat(any(frames), '\n') FROM %s.stacks WHERE stack_id IN (%s) GROUP BY stack_id`, db, in))
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		if i, ok := idx[row[0]]; ok {
			if row[1] != "" {
				r.Pending[i].Frames = strings.Split(row[1], "\n")
			}
		}
	}
	rows, err = q(fmt.Sprintf(`SELECT toString(stack_id), waker_name, count(), sum(duration_ns), arrayStringConcat(arrayMap(x -> toString(x), arraySort(groupUniqArray(waker))), ',')
		FROM %s.pending WHERE %s AND woken = 1 AND stack_id IN (%s) GROUP BY stack_id, waker_name`, db, where, in))
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		i, ok := idx[row[0]]
		if !ok {
			continue
		}
		n := ints(row[2:4])
		w := analyze.Waker{Name: row[1], Count: int(n[0]), TotalNS: n[1], TaskIDs: []uint32{}}
		for _, s := range strings.Split(row[4], ",") {
			if v, err := strconv.ParseUint(s, 10, 32); err == nil && v != 0 && len(w.TaskIDs) < 20 {
				w.TaskIDs = append(w.TaskIDs, uint32(v))
			}
		}
		r.Pending[i].Wakers = append(r.Pending[i].Wakers, w)
	}
	for i := range r.Pending {
		slices.SortFunc(r.Pending[i].Wakers, func(x, y analyze.Waker) int {
			if x.Count != y.Count {
				return y.Count - x.Count
			}
			return strings.Compare(x.Name, y.Name)
		})
	}
	return ids, nil
}

func groupSpreads(q queryFunc, db, where string, ids []string, of int) ([]Spread, error) {
	spreads := make([]Spread, len(ids))
	if len(ids) == 0 {
		return spreads, nil
	}
	idx := map[string]int{}
	for i, id := range ids {
		idx[id] = i
		spreads[i].Of = of
	}
	rows, err := q(fmt.Sprintf(`SELECT toString(stack_id), uniqExact(instance), uniqExactIf(instance, still_blocked = 1)
		FROM %s.pending WHERE %s AND stack_id IN (%s) GROUP BY stack_id`, db, where, strings.Join(ids, ", ")))
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		if i, ok := idx[row[0]]; ok {
			n := ints(row[1:])
			spreads[i].Instances, spreads[i].StillBlockedOn = int(n[0]), int(n[1])
		}
	}
	return spreads, nil
}

// stuckByInstance breaks the groups with goroutines still blocked at the
// end (stuck groups) down by instance: count, goroutines, total,
// quantiles, max, still blocked; most still blocked first.
func stuckByInstance(q queryFunc, db, where string, ids []string, r *analyze.Report) error {
	idx := map[string]int{}
	var stuck []string
	for i, id := range ids {
		if r.Pending[i].StillBlocked > 0 {
			idx[id] = i
			stuck = append(stuck, id)
		}
	}
	if len(stuck) == 0 {
		return nil
	}
	rows, err := q(fmt.Sprintf(`SELECT toString(stack_id), instance, count(), uniqExact(process, task), sum(duration_ns),
		arrayStringConcat(arrayMap(x -> toString(toInt64(x)), quantilesExact(0.5, 0.99)(duration_ns)), ','), max(duration_ns), sum(still_blocked)
		FROM %s.pending WHERE %s AND stack_id IN (%s) GROUP BY stack_id, instance
		ORDER BY stack_id, sum(still_blocked) DESC, max(duration_ns) DESC, instance`, db, where, strings.Join(stuck, ", ")))
	if err != nil {
		return err
	}
	for _, row := range rows {
		i, ok := idx[row[0]]
		if !ok {
			continue
		}
		n := ints(splitPair(row, 5)[2:])
		r.Pending[i].Instances = append(r.Pending[i].Instances, analyze.GroupInstance{Instance: row[1], Count: int(n[0]),
			Goroutines: int(n[1]), TotalNS: n[2], P50NS: n[3], P99NS: n[4], MaxNS: n[5], StillBlocked: int(n[6])})
	}
	return nil
}

// wakeEdges fills the wake edges and the latency; times are given from
// first, the start of the time covered.
func wakeEdges(q queryFunc, db, where string, opt ReportOptions, first int64, r *analyze.Report) error {
	// One state for both quantiles (quantilesExact): half the memory and
	// time of two quantileExact.
	lat := `countIf(has_latency = 1), arrayStringConcat(arrayMap(x -> toString(toInt64(x)), quantilesExactIf(0.5, 0.99)(latency_us, has_latency = 1)), ','),
		toInt64(maxIf(latency_us, has_latency = 1))`
	rows, err := q(fmt.Sprintf(`SELECT count(), %s FROM %s.wakes WHERE %s`, lat, db, where))
	if err != nil {
		return err
	}
	n := ints(splitPair(rows[0], 2))
	r.WakesTotal = n[0]
	r.Latency.LatencyStats = latencyStats(n[1:])
	rows, err = q(fmt.Sprintf(`SELECT waker_name, woken_name, count(), uniqExact(instance, process, waker), uniqExact(instance, process, woken), %s
		FROM %s.wakes WHERE %s GROUP BY waker_name, woken_name ORDER BY count() DESC, waker_name, woken_name LIMIT %d`, lat, db, where, opt.Top))
	if err != nil {
		return err
	}
	for _, row := range rows {
		n := ints(splitPair(row, 6)[2:])
		r.Wakes = append(r.Wakes, analyze.WakeEdge{Waker: row[0], Woken: row[1], Count: n[0], WakerTasks: int(n[1]), WokenTasks: int(n[2]),
			Latency: latencyStats(n[3:])})
	}
	// The histogram: latencies below 1µs, 2µs, 4µs, ... as package
	// analyze buckets them.
	rows, err = q(fmt.Sprintf(`SELECT if(latency_us = 0, 0, toUInt32(floor(log2(latency_us))) + 1) AS b, count()
		FROM %s.wakes WHERE %s AND has_latency = 1 GROUP BY b ORDER BY b`, db, where))
	if err != nil {
		return err
	}
	r.Latency.Histogram = []analyze.Bucket{}
	byB := map[int64]int64{}
	maxB := int64(-1)
	for _, row := range rows {
		n := ints(row)
		byB[n[0]] = n[1]
		maxB = max(maxB, n[0])
	}
	for b := int64(0); b <= maxB; b++ {
		r.Latency.Histogram = append(r.Latency.Histogram, analyze.Bucket{LeNS: (int64(1) << b) * 1000, Count: byB[b]})
	}
	rows, err = q(fmt.Sprintf(`SELECT ts_ns - %d, instance, waker, waker_name, woken, woken_name, latency_us FROM %s.wakes
		WHERE %s AND has_latency = 1 ORDER BY latency_us DESC, ts_ns LIMIT %d`, first, db, where, opt.Worst))
	if err != nil {
		return err
	}
	r.Latency.Worst = []analyze.WorstWake{}
	for _, row := range rows {
		n := ints(row)
		r.Latency.Worst = append(r.Latency.Worst, analyze.WorstWake{TS: n[0], Waker: gname(row[1], row[2], row[3]),
			Woken: gname(row[1], row[4], row[5]), Task: uint32(n[4]), LatencyNS: n[6] * 1000})
	}
	return nil
}

// latencyByInstance fills the latency by instance and, when wakes waited
// at least slow to run, the wake_latency finding: where, how many. The
// fleet's rows do not say whether a P was parked meanwhile (the file
// report's slow_wake counts only those, with their causes), so it is
// information, never a warning.
func latencyByInstance(q queryFunc, db, where string, slow time.Duration, of int, r *analyze.Report) error {
	us := slow.Microseconds()
	r.Config.SlowWakeNS = int64(slow)
	rows, err := q(fmt.Sprintf(`SELECT instance, count(), countIf(has_latency = 1),
		arrayStringConcat(arrayMap(x -> toString(toInt64(x)), quantilesExactIf(0.5, 0.99)(latency_us, has_latency = 1)), ','),
		toInt64(maxIf(latency_us, has_latency = 1)), countIf(has_latency = 1 AND latency_us >= %d), countIf(has_latency = 1 AND latency_us >= %d)
		FROM %s.wakes WHERE %s GROUP BY instance ORDER BY countIf(has_latency = 1 AND latency_us >= %d) DESC, instance`, us, 10*us, db, where, us))
	if err != nil {
		return err
	}
	var total, big, wakes, maxNS int64
	var on []analyze.InstanceCount
	for _, row := range rows {
		n := ints(splitPair(row, 3)[1:])
		li := analyze.LatencyInstance{Instance: row[0], Wakes: n[0], LatencyStats: latencyStats(n[1:5]), Slow: n[5], Over10x: n[6]}
		r.Latency.Instances = append(r.Latency.Instances, li)
		total, big, wakes = total+li.Slow, big+li.Over10x, wakes+li.Wakes
		maxNS = max(maxNS, li.MaxNS)
		if li.Slow > 0 {
			on = append(on, analyze.InstanceCount{Instance: li.Instance, Goroutines: int(li.Slow)})
		}
	}
	if total == 0 {
		return nil
	}
	var parts []string
	for i, li := range r.Latency.Instances {
		if i == 5 || li.Slow == 0 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d (p99 %s)", li.Instance, li.Slow, analyze.FmtNS(li.P99NS)))
	}
	if len(on) > len(parts) {
		parts = append(parts, fmt.Sprintf("%d more", len(on)-len(parts)))
	}
	pct := strconv.FormatFloat(100*float64(total)/float64(max(wakes, 1)), 'f', 1, 64) + "%"
	r.Findings = append(r.Findings, analyze.Finding{Kind: "wake_latency", Severity: "info",
		Text: fmt.Sprintf("%d of %d wake(s) (%s) waited at least %s to run, on %d of %d instance(s): %s; %d of %s or more; the longest %s "+
			"(whether a P was free then is in the records, not in ClickHouse: `wakeshim report` on an instance's files gives the causes)",
			total, wakes, pct, analyze.FmtNS(int64(slow)), len(on), of, strings.Join(parts, ", "), big, analyze.FmtNS(10*int64(slow)), analyze.FmtNS(maxNS)),
		Numbers: map[string]int64{"count": total, "over_10x": big, "wakes": wakes, "max_ns": maxNS,
			"instances": int64(len(on)), "of_instances": int64(of)}})
	return nil
}

// gname names a goroutine of an instance: "INSTANCE gN NAME".
func gname(instance, id, name string) string {
	if id == "0" {
		return instance + " runtime"
	}
	if name == "g"+id {
		return instance + " g" + id
	}
	return instance + " g" + id + " " + name
}

// splitPair returns the row with its field i, "P50,P99" (quantilesExact
// joined), as two fields.
func splitPair(row []string, i int) []string {
	a, b, _ := strings.Cut(row[i], ",")
	return slices.Concat(row[:i], []string{a, b}, row[i+1:])
}

func latencyStats(n []int64) analyze.LatencyStats {
	if n[0] == 0 {
		return analyze.LatencyStats{}
	}
	return analyze.LatencyStats{Count: n[0], P50NS: n[1] * 1000, P99NS: n[2] * 1000, MaxNS: n[3] * 1000}
}

// queue is the global run queue over the fleet: the largest sample of
// each of at most 2000 steps of the time covered.
func queue(q queryFunc, db, where string, first, last int64, r *analyze.Report) error {
	step := max((last-first)/2000, 1)
	rows, err := q(fmt.Sprintf(`SELECT intDiv(ts_ns - %d, %d) * %d AS t, max(global_q) FROM %s.queue WHERE %s GROUP BY t ORDER BY t LIMIT 2000`,
		first, step, step, db, where))
	if err != nil {
		return err
	}
	for _, row := range rows {
		n := ints(row)
		r.Queue = append(r.Queue, analyze.QueuePoint{TS: n[0], GlobalQ: int(n[1])})
	}
	return nil
}
