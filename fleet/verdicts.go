package fleet

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wakeshim/wakeshim/analyze"
)

// The verdicts over a fleet: the goroutines still blocked at the end of
// each instance's records, as the shipper judged them (table verdicts,
// one row per goroutine, verdict_runs one row per process run of a load),
// grouped by ClickHouse by verdict and stack across the instances.
//
// "At the end" is per process: of the loads of one instance and process
// (the PROG-PID of the shim's files; "" for other inputs) in the window,
// the one whose records end last. The shim ships a process's files in
// many loads, each judged at its own end: a goroutine blocked through
// all of them is in each, and only the last says how things ended.

// latestRuns is the condition on a verdicts or verdict_runs row of the
// rows where: it belongs to the latest load of its instance and
// process.
func latestRuns(db, where string) string {
	return fmt.Sprintf(`(instance, proc, load_id) IN (SELECT instance, proc, argMax(load_id, ts_ns) FROM %s.verdict_runs WHERE %s GROUP BY instance, proc)`,
		db, where)
}

var verdictRank = []string{analyze.VerdictLeaked, analyze.VerdictDeadlocked, analyze.VerdictSuspect, analyze.VerdictIdle}

// verdicts fills r.Verdicts (one per verdict, severity and stack, the
// longest blocked goroutine's fields, the counts by instance),
// r.VerdictSummary, and a finding per group that is a warning. pending
// maps the stack ids of r.Pending to their index; first is the start of
// the time covered; of the instances of the report.
func verdicts(q queryFunc, db, where string, top int, pending map[string]int, first int64, of int, r *analyze.Report) error {
	sel := where + " AND " + latestRuns(db, where)
	sum := &r.VerdictSummary
	sum.IdleByFunc = []analyze.FuncCount{}
	sum.Profile.Files = []string{}

	rows, err := q(fmt.Sprintf(`SELECT verdict, severity, count() FROM %s.verdicts WHERE %s GROUP BY verdict, severity`, db, sel))
	if err != nil {
		return err
	}
	for _, row := range rows {
		n := int(ints(row[2:])[0])
		switch row[0] {
		case analyze.VerdictLeaked:
			sum.Leaked += n
		case analyze.VerdictDeadlocked:
			sum.Deadlocked += n
		case analyze.VerdictIdle:
			sum.Idle += n
		case analyze.VerdictSuspect:
			sum.Suspect += n
		}
		if row[1] == "warning" {
			sum.Warnings += n
		}
	}
	rows, err = q(fmt.Sprintf(`SELECT func, count(), uniqExact(instance) FROM %s.verdicts WHERE %s AND verdict = 'idle'
		GROUP BY func ORDER BY count() DESC, func`, db, sel))
	if err != nil {
		return err
	}
	for _, row := range rows {
		n := ints(row[1:])
		sum.IdleByFunc = append(sum.IdleByFunc, analyze.FuncCount{Func: row[0], Count: int(n[0]), Instances: int(n[1])})
	}

	// The profiles of the latest runs.
	rows, err = q(fmt.Sprintf(`SELECT count(), countIf(length(leak_files) > 0), sum(leak_named), sum(leak_matched)
		FROM %s.verdict_runs WHERE %s`, db, sel))
	if err != nil {
		return err
	}
	n := ints(rows[0])
	runs, profiled := n[0], n[1]
	sum.Profile.Named, sum.Profile.Matched = int(n[2]), int(n[3])
	if profiled > 0 {
		rows, err = q(fmt.Sprintf(`SELECT instance, arrayStringConcat(leak_files, '\n') FROM %s.verdict_runs WHERE %s AND length(leak_files) > 0
			ORDER BY instance, proc LIMIT 100`, db, sel))
		if err != nil {
			return err
		}
		for _, row := range rows {
			for _, f := range strings.Split(row[1], "\n") {
				sum.Profile.Files = append(sum.Profile.Files, row[0]+":"+f)
			}
		}
	}
	if profiled < runs {
		sum.Profile.Note = fmt.Sprintf("no goroutineleak profile was shipped with %d of the %d process run(s) judged: their leaks are judged by the records alone, which cannot prove one "+
			"(ship the profile with the records: take it with Go 1.27, or Go 1.26 built with GOEXPERIMENT=goroutineleakprofile: pprof.Lookup(\"goroutineleak\"), /debug/pprof/goroutineleak)",
			runs-profiled, runs)
	}

	// The groups: by verdict, severity and stack, the fields of the
	// goroutine blocked longest.
	rank := "indexOf([" + quoteAll(verdictRank) + "], verdict)"
	rows, err = q(fmt.Sprintf(`SELECT verdict, severity, toString(stack_id), count(), uniqExact(instance), max(blocked_ns),
		argMax(instance, blocked_ns), argMax(task, blocked_ns), argMax(name, blocked_ns), argMax(func, blocked_ns), argMax(created_at, blocked_ns),
		any(reason), argMax(since_ns, blocked_ns), arrayStringConcat(argMax(evidence, blocked_ns), '\n'), argMax(woken_here, blocked_ns),
		argMax(wakes, blocked_ns), argMax(spawned, blocked_ns), arrayStringConcat(arrayMap(x -> toString(x), argMax(cycle, blocked_ns)), ','),
		argMax(proof_file, blocked_ns), argMax(proof_form, blocked_ns), argMax(proof_matched_by, blocked_ns), argMax(proof_state, blocked_ns)
		FROM %s.verdicts WHERE %s GROUP BY verdict, severity, stack_id
		ORDER BY %s, severity = 'warning' DESC, max(blocked_ns) DESC, stack_id LIMIT %d`, db, sel, rank, top))
	if err != nil {
		return err
	}
	idx := map[[3]string]int{}
	var ids, stackOf []string
	for _, row := range rows {
		n := ints(row)
		v := analyze.Verdict{Verdict: row[0], Severity: row[1], Goroutines: int(n[3]), OfInstances: of, BlockedNS: n[5],
			Instance: row[6], TaskID: uint32(n[7]), Name: row[8], Func: row[9], CreatedAt: row[10], Reason: row[11],
			SinceNS: n[12] - first, Evidence: lines(row[13]), WokenHere: int(n[14]), Wakes: n[15], Spawned: n[16] != 0,
			Frames: []string{}, Group: -1, Instances: []analyze.InstanceCount{}}
		if g, ok := pending[row[2]]; ok {
			v.Group = g
		}
		for _, s := range strings.Split(row[17], ",") {
			if id, err := strconv.ParseUint(s, 10, 32); err == nil {
				v.Cycle = append(v.Cycle, uint32(id))
			}
		}
		if row[18] != "" {
			v.Proof = &analyze.LeakProof{File: row[18], Form: row[19], MatchedBy: row[20], State: row[21]}
		}
		idx[[3]string{row[0], row[1], row[2]}] = len(r.Verdicts)
		stackOf = append(stackOf, row[2])
		if !slices.Contains(ids, row[2]) {
			ids = append(ids, row[2])
		}
		r.Verdicts = append(r.Verdicts, v)
	}
	if len(ids) == 0 {
		return nil
	}
	in := strings.Join(ids, ", ")
	frames := map[string][]string{}
	rows, err = q(fmt.Sprintf(`SELECT toString(stack_id), arrayStringConcat(any(frames), '\n') FROM %s.stacks WHERE stack_id IN (%s) GROUP BY stack_id`, db, in))
	if err != nil {
		return err
	}
	for _, row := range rows {
		frames[row[0]] = lines(row[1])
	}
	rows, err = q(fmt.Sprintf(`SELECT verdict, severity, toString(stack_id), instance, count() FROM %s.verdicts WHERE %s AND stack_id IN (%s)
		GROUP BY verdict, severity, stack_id, instance ORDER BY count() DESC, instance`, db, sel, in))
	if err != nil {
		return err
	}
	for _, row := range rows {
		if i, ok := idx[[3]string{row[0], row[1], row[2]}]; ok {
			r.Verdicts[i].Instances = append(r.Verdicts[i].Instances, analyze.InstanceCount{Instance: row[3], Goroutines: int(ints(row[4:])[0])})
		}
	}
	for i, id := range stackOf {
		if f := frames[id]; f != nil {
			r.Verdicts[i].Frames = f
		}
	}
	verdictFindings(r)
	return nil
}

// verdictFindings adds a finding per verdict group that is a warning (at
// most 10), as the file report has one per verdict and pending group:
// "3 goroutines leaked on 1 of 40 instances (web-3): ...".
func verdictFindings(r *analyze.Report) {
	n := 0
	for _, v := range r.Verdicts {
		if v.Severity != "warning" {
			continue
		}
		if n == 10 {
			break
		}
		n++
		who := fmt.Sprintf("%s g%d %s", v.Instance, v.TaskID, v.Name)
		what := who
		if v.Goroutines > 1 {
			what = fmt.Sprintf("%d goroutines (longest %s)", v.Goroutines, who)
		}
		text := fmt.Sprintf("%s %s on %s: blocked for %s in %s at %s until the end; %s",
			what, v.Verdict, analyze.OnInstances(v.Instances, v.OfInstances, 5), analyze.FmtNS(v.BlockedNS), v.Reason, analyze.StackLeaf(v.Frames),
			strings.Join(v.Evidence, "; "))
		r.Findings = append(r.Findings, analyze.Finding{Kind: v.Verdict, Severity: "warning", Text: text, Numbers: map[string]int64{
			"task_id": int64(v.TaskID), "blocked_ns": v.BlockedNS, "since_ns": v.SinceNS, "goroutines": int64(v.Goroutines),
			"group": int64(v.Group), "instances": int64(len(v.Instances)), "of_instances": int64(v.OfInstances)}})
	}
}

func lines(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = Quote(s)
	}
	return strings.Join(q, ", ")
}
