package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wakeshim/wakeshim/analyze"
)

// The wake chains and the Ps over the fleet. Both need the records in
// time order per goroutine and P, which the tables do not keep: the
// shipper's analysis (the one that judges the verdicts and finds the
// findings) walks the chains and sums the Ps on each load, and ships
// what the file report shows of them, known at the end of the load's
// run (so with the file holding it, as the findings: runEnds):
//
//   - chain_roots: one row per wait group (stack_id) and root (kind, and
//     for cpu the entry function), the group's waiting time it caused,
//     the waits it had a share of and the largest share: sums and maxima,
//     so that the fleet's are exact;
//   - chains: one row per chain the load kept (the longest waits, 10 by
//     default: the file report's), links and roots as arrays: the fleet's
//     longest are among the loads' longest, so they are exact too;
//   - workers: one row per P of the load: busy, parked, polls and the
//     load's time line.
//
// A load read again (a directory that grew) supersedes the earlier one
// as for the findings (supersededLoads, per table).

// chainKept is how many chains a load keeps: the file report's default
// (analyze.Config.Chains), so that the fleet's longest 10 are exact.
const chainKept = 10

// chainStacks returns whether this load ships the end of the run (the
// chains and the Ps are known then), and adds the stacks of the groups'
// and chains' blocks to stacks.
func (l *loader) chainStacks(stacks map[uint64]stackRow) bool {
	if _, ends := l.runEnds(); len(ends) == 0 || !ends[len(ends)-1] {
		return false
	}
	rep := l.rd.rep
	for _, g := range rep.Pending {
		if len(g.Roots) > 0 {
			stacks[StackID(g.Reason, g.Frames)] = stackRow{g.Reason, g.Frames}
		}
	}
	for _, c := range rep.Chains {
		if id := chainStackID(c.Reason, c.Frames); id != 0 {
			stacks[id] = stackRow{c.Reason, c.Frames}
		}
		for _, k := range c.Links {
			if id := chainStackID(k.Reason, k.Frames); id != 0 {
				stacks[id] = stackRow{k.Reason, k.Frames}
			}
		}
	}
	return true
}

// chainStackID is the stack id of a chain's or link's block, 0 for none.
func chainStackID(reason string, frames []string) uint64 {
	if len(frames) == 0 {
		return 0
	}
	return StackID(reason, frames)
}

// shipChains loads the chains' rows and the Ps' of the load's analysis.
func (l *loader) shipChains() error {
	rep, o := l.rd.rep, l.opt
	from, end := l.base, l.base+l.rd.run.End
	rb := l.batcher("chain_roots", "time", "ts_ns", "from_ns", "end_ns", "stack_id", "reason", "kind", "func",
		"ns", "waits", "max_ns", "group_waits")
	for _, g := range rep.Pending {
		if len(g.Roots) == 0 {
			continue
		}
		id := StackID(g.Reason, g.Frames)
		for _, rs := range g.Roots {
			r := rb.row(o.Service, o.Instance)
			r.dateTime(end)
			r.i64(end)
			r.i64(from)
			r.i64(end)
			r.u64(id)
			r.str(g.Reason)
			r.str(rs.Kind)
			r.str(rs.Func)
			r.i64(rs.NS)
			r.i64(rs.Waits)
			r.i64(rs.MaxNS)
			r.i64(g.ChainedWaits)
			if err := rb.rowDone(); err != nil {
				return err
			}
		}
	}
	if err := rb.flush(); err != nil {
		return err
	}
	l.res.Rows["chain_roots"] = rb.total

	names, _ := l.runEnds()
	procOf := inputProcess(l.rd.run.Inputs)
	cb := l.batcher("chains", "time", "ts_ns", "process", "proc", "from_ns", "end_ns", "task", "name", "stack_id", "reason",
		"wait_ns", "waker", "waker_name", "truncated", "roots", "root_ns", "link_n", "link_s")
	var strs []string
	var nums []int64
	for _, c := range rep.Chains {
		process := procOf[l.rd.inputAt(c.StartNS)]
		r := cb.row(o.Service, o.Instance)
		r.dateTime(l.base + c.StartNS)
		r.i64(l.base + c.StartNS)
		r.u32(uint32(process))
		r.str(names[process])
		r.i64(from)
		r.i64(end)
		r.u32(c.Task)
		r.str(c.Name)
		r.u64(chainStackID(c.Reason, c.Frames))
		r.str(c.Reason)
		r.i64(c.WaitNS)
		r.u32(c.Waker)
		r.str(c.WakerName)
		r.u8(boolU8(c.Truncated))
		strs, nums = strs[:0], nums[:0]
		for _, rs := range c.Roots {
			strs, nums = append(strs, rs.Kind, rs.Func), append(nums, rs.NS)
		}
		r.strs(strs)
		r.i64s(nums)
		strs, nums = strs[:0], nums[:0]
		for _, k := range c.Links {
			nums = append(nums, int64(k.Depth), int64(k.Task), l.base+k.StartNS, l.base+k.EndNS, k.ShareNS, int64(k.Worker),
				int64(chainStackID(k.Reason, k.Frames)), int64(k.Waker), int64(k.QueueMax))
			strs = append(strs, k.Kind, k.Name, k.Reason, k.WakerName, k.Note)
		}
		r.i64s(nums)
		r.strs(strs)
		if err := cb.rowDone(); err != nil {
			return err
		}
	}
	if err := cb.flush(); err != nil {
		return err
	}
	l.res.Rows["chains"] = cb.total

	wb := l.batcher("workers", "time", "ts_ns", "from_ns", "end_ns", "worker", "busy_ns", "parked_ns", "polls", "span_ns")
	for _, w := range rep.Workers {
		r := wb.row(o.Service, o.Instance)
		r.dateTime(end)
		r.i64(end)
		r.i64(from)
		r.i64(end)
		r.u32(uint32(w.Worker))
		r.i64(w.BusyNS)
		r.i64(w.ParkedNS)
		r.i64(w.Polls)
		r.i64(rep.SpanNS)
		if err := wb.rowDone(); err != nil {
			return err
		}
	}
	if err := wb.flush(); err != nil {
		return err
	}
	l.res.Rows["workers"] = wb.total
	return nil
}

// chainRoots fills r.Pending[i].Roots, ChainedNS and ChainedWaits.
func chainRoots(q queryFunc, db, where string, ids []string, r *analyze.Report) error {
	if len(ids) == 0 {
		return nil
	}
	not, err := supersededLoads(q, db, "chain_roots", where)
	if err != nil {
		return err
	}
	sel := where + not
	idx := make(map[string]int, len(ids))
	for i, id := range ids {
		idx[id] = i
	}
	in := strings.Join(ids, ", ")
	rows, err := q(fmt.Sprintf(`SELECT toString(stack_id), kind, func, sum(ns), sum(waits), max(max_ns), uniqExact(instance)
		FROM %s.chain_roots WHERE %s AND stack_id IN (%s) GROUP BY stack_id, kind, func`, db, sel, in))
	if err != nil {
		return err
	}
	for _, row := range rows {
		i, ok := idx[row[0]]
		if !ok {
			continue
		}
		n := ints(row[3:])
		g := &r.Pending[i]
		g.Roots = append(g.Roots, analyze.RootShare{Kind: row[1], Func: row[2], NS: n[0], Waits: n[1], MaxNS: n[2], Instances: int(n[3])})
		g.ChainedNS += n[0]
	}
	rows, err = q(fmt.Sprintf(`SELECT toString(stack_id), sum(w) FROM (SELECT stack_id, load_id, any(group_waits) AS w
		FROM %s.chain_roots WHERE %s AND stack_id IN (%s) GROUP BY stack_id, load_id) GROUP BY stack_id`, db, sel, in))
	if err != nil {
		return err
	}
	for _, row := range rows {
		if i, ok := idx[row[0]]; ok {
			r.Pending[i].ChainedWaits = ints(row[1:])[0]
		}
	}
	for i := range r.Pending {
		analyze.SortRootShares(r.Pending[i].Roots, r.Pending[i].ChainedNS)
	}
	return nil
}

// fleetChains fills r.Chains: the n longest waits' chains over the
// instances (each load shipped its own longest, so these are exact for
// n up to chainKept), times from first; pending maps the stack ids of
// r.Pending to their index.
func fleetChains(q queryFunc, db, where string, n int, pending map[string]int, first int64, of int, r *analyze.Report) error {
	not, err := supersededLoads(q, db, "chains", where)
	if err != nil {
		return err
	}
	// The arrays joined (strings by newlines, which names, reasons and
	// notes do not hold; numbers by commas): TabSeparated's own arrays
	// would need a parser for their quoting. Joined for the n rows kept
	// only (the subquery).
	rows, err := q(fmt.Sprintf(`SELECT instance, ts_ns - %d, task, name, toString(stack_id), reason, wait_ns, waker, waker_name, truncated,
		arrayStringConcat(roots, '\n'), arrayStringConcat(arrayMap(x -> toString(x), root_ns), ','),
		arrayStringConcat(arrayMap(x -> toString(x), link_n), ','), arrayStringConcat(link_s, '\n')
		FROM (SELECT * FROM %s.chains WHERE %s ORDER BY wait_ns DESC, ts_ns, instance LIMIT %d) ORDER BY wait_ns DESC, ts_ns, instance`,
		first, db, where+not, n))
	if err != nil {
		return err
	}
	r.ChainsOf = of
	split := func(s string, n int) []string {
		out := []string{}
		if s != "" {
			out = strings.Split(s, "\n")
		}
		for len(out) < n {
			out = append(out, "")
		}
		return out
	}
	splitN := func(s string, n int) []int64 {
		var f []string
		if s != "" {
			f = strings.Split(s, ",")
		}
		v := ints(f)
		for len(v) < n {
			v = append(v, 0)
		}
		return v
	}
	stackIDs := map[string]bool{}
	type madeChain struct {
		stack string
		links []string
	}
	var made []madeChain
	for _, row := range rows {
		h := ints(row[:10])
		c := analyze.Chain{Instance: row[0], StartNS: h[1], Task: uint32(h[2]), Name: row[3], Reason: row[5], WaitNS: h[6],
			Waker: uint32(h[7]), WakerName: row[8], Truncated: h[9] != 0, Group: -1, Frames: []string{}, Links: []analyze.ChainLink{}}
		c.EndNS = c.StartNS + c.WaitNS
		if g, ok := pending[row[4]]; ok && row[4] != "0" {
			c.Group = g
		}
		rs := split(row[10], 0)
		rns := splitN(row[11], len(rs)/2)
		c.Roots = []analyze.RootShare{}
		for i := 0; i+1 < len(rs); i += 2 {
			ns := rns[i/2]
			c.Roots = append(c.Roots, analyze.RootShare{Kind: rs[i], Func: rs[i+1], NS: ns, Waits: 1, MaxNS: ns})
		}
		analyze.SortRootShares(c.Roots, c.WaitNS)
		ls := split(row[13], 0)
		nl := len(ls) / 5
		ln := splitN(row[12], 9*nl)
		stacks := make([]string, nl)
		for i := range nl {
			v, s := ln[9*i:9*i+9], ls[5*i:5*i+5]
			c.Links = append(c.Links, analyze.ChainLink{Depth: int(v[0]), Task: uint32(v[1]), StartNS: v[2] - first, EndNS: v[3] - first,
				ShareNS: v[4], Worker: int(v[5]), Waker: uint32(v[7]), QueueMax: int(v[8]),
				Kind: s[0], Name: s[1], Reason: s[2], WakerName: s[3], Note: s[4], Frames: []string{}})
			if v[6] != 0 {
				stacks[i] = strconv.FormatUint(uint64(v[6]), 10)
				stackIDs[stacks[i]] = true
			}
		}
		if row[4] != "0" {
			stackIDs[row[4]] = true
		}
		r.Chains = append(r.Chains, c)
		made = append(made, madeChain{stack: row[4], links: stacks})
	}
	frames := map[string][]string{}
	if len(stackIDs) > 0 {
		ids := make([]string, 0, len(stackIDs))
		for id := range stackIDs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		rows, err := q(fmt.Sprintf(`SELECT toString(stack_id), arrayStringConcat(any(frames), '\n') FROM %s.stacks WHERE stack_id IN (%s) GROUP BY stack_id`,
			db, strings.Join(ids, ", ")))
		if err != nil {
			return err
		}
		for _, row := range rows {
			if row[1] != "" {
				frames[row[0]] = strings.Split(row[1], "\n")
			}
		}
	}
	for i, m := range made {
		c := &r.Chains[i]
		if f, ok := frames[m.stack]; ok {
			c.Frames = f
		}
		for j := range c.Links {
			if f, ok := frames[m.links[j]]; ok {
				c.Links[j].Frames = f
			}
		}
	}
	return nil
}

// fleetWorkers fills r.Workers (the Ps by number, summed over the
// instances, with the time their records cover) and r.WorkersByInstance
// (the busiest share first).
func fleetWorkers(q queryFunc, db, where string, r *analyze.Report) error {
	not, err := supersededLoads(q, db, "workers", where)
	if err != nil {
		return err
	}
	sel := where + not
	rows, err := q(fmt.Sprintf(`SELECT worker, sum(busy_ns), sum(parked_ns), sum(polls), sum(span_ns), uniqExact(instance)
		FROM %s.workers WHERE %s GROUP BY worker ORDER BY worker`, db, sel))
	if err != nil {
		return err
	}
	for _, row := range rows {
		n := ints(row)
		r.Workers = append(r.Workers, analyze.Worker{Worker: int(n[0]), BusyNS: n[1], ParkedNS: n[2], Polls: n[3], SpanNS: n[4], Instances: int(n[5])})
	}
	rows, err = q(fmt.Sprintf(`SELECT instance, max(ps), sum(b), sum(p), sum(n), sum(s) FROM (
		SELECT instance, load_id, uniqExact(worker) AS ps, sum(busy_ns) AS b, sum(parked_ns) AS p, sum(polls) AS n, any(span_ns) AS s
		FROM %s.workers WHERE %s GROUP BY instance, load_id) GROUP BY instance`, db, sel))
	if err != nil {
		return err
	}
	for _, row := range rows {
		n := ints(row[1:])
		r.WorkersByInstance = append(r.WorkersByInstance, analyze.WorkerInstance{Instance: row[0], Ps: int(n[0]), BusyNS: n[1],
			ParkedNS: n[2], Polls: n[3], SpanNS: n[4]})
	}
	slices.SortFunc(r.WorkersByInstance, func(x, y analyze.WorkerInstance) int {
		if c := cmp.Compare(busyShare(y), busyShare(x)); c != 0 {
			return c
		}
		return strings.Compare(x.Instance, y.Instance)
	})
	return nil
}

// busyShare is an instance's Ps' busy time over their time.
func busyShare(w analyze.WorkerInstance) float64 {
	if w.SpanNS <= 0 || w.Ps <= 0 {
		return 0
	}
	return float64(w.BusyNS) / (float64(w.SpanNS) * float64(w.Ps))
}
