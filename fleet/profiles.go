package fleet

import (
	"context"
	"fmt"
	"strings"

	"github.com/wakeshim/wakeshim/analyze"
)

// The latency and root-cause profiles over the fleet (`wakeshim report
// -from -pprof`'s latency.pb.gz and roots.pb.gz). Both need the records
// in time order (a wake's latency is measured to the woken goroutine's
// next PollStart, a root is found by walking the wake chains), so the
// shipper's analysis makes each load's samples, as `wakeshim report`
// does for a file (Analyzer.LatencySamples, RootSamples), and ships
// their sums: one row of profiles per sample (profile, stack, label),
// with the file holding the end of the load's run, as the chains
// (runEnds). The report adds them up with one GROUP BY over the
// instances and loads; a load read again (a directory that grew)
// supersedes the one it covers (supersededLoads).

// profileRow is one sample of a load's profiles.
type profileRow struct {
	profile string
	stack   uint64 // 0: frame
	frame   string
	label   string
	count   int64
	ns      int64
}

// profileStack is the stack id of a sample's stack (its stack added to
// stacks), or 0 and the pseudo-frame of a sample with no block.
func profileStack(block bool, stk []string, stacks map[uint64]stackRow) (uint64, string) {
	if !block || len(stk) == 0 {
		return 0, strings.Join(stk, "\n")
	}
	reason := strings.TrimSuffix(strings.TrimPrefix(stk[0], "["), "]")
	frames := stk[1:]
	id := StackID(reason, frames)
	stacks[id] = stackRow{reason, frames}
	return id, ""
}

// profiles returns the rows of the load's latency and root-cause
// profiles and adds their stacks to stacks. Call when the load ships the
// run's end (chainStacks).
func (l *loader) profiles(stacks map[uint64]stackRow) []profileRow {
	an := l.rd.an
	lat, roots := an.LatencySamples(), an.RootSamples()
	out := make([]profileRow, 0, len(lat)+len(roots))
	for _, s := range lat {
		id, frame := profileStack(s.Block, s.Stack, stacks)
		out = append(out, profileRow{"latency", id, frame, s.Waker, s.Count, s.NS})
	}
	for _, s := range roots {
		id, frame := profileStack(s.Block, s.Stack, stacks)
		out = append(out, profileRow{"roots", id, frame, s.Kind, s.Count, s.NS})
	}
	return out
}

// shipProfiles loads the rows of profiles.
func (l *loader) shipProfiles(rows []profileRow) error {
	o := l.opt
	from, end := l.base, l.base+l.rd.run.End
	b := l.batcher("profiles", "time", "ts_ns", "from_ns", "end_ns", "profile", "stack_id", "frame", "label", "count", "ns")
	for _, p := range rows {
		r := b.row(o.Service, o.Instance)
		r.dateTime(end)
		r.i64(end)
		r.i64(from)
		r.i64(end)
		r.str(p.profile)
		r.u64(p.stack)
		r.str(p.frame)
		r.str(p.label)
		r.i64(p.count)
		r.i64(p.ns)
		if err := b.rowDone(); err != nil {
			return err
		}
	}
	if err := b.flush(); err != nil {
		return err
	}
	l.res.Rows["profiles"] = b.total
	return nil
}

// Profiles are the fleet's latency and root-cause profiles: the samples
// of the loads summed by stack, label and instance (the sample's
// Instance, a label "instance" in the pprof profile).
type Profiles struct {
	Latency []analyze.ProfileSample
	Roots   []analyze.RootSample
}

// ReportProfiles returns the latency and root-cause profiles of the
// fleet's committed records in opt's scope and window (Since and Until
// on the end of each load's run, as the chains'): two queries, the
// samples summed by ClickHouse (GROUP BY profile, instance, stack,
// label), then their stacks. Samples are ordered by profile, instance,
// then the most nanoseconds first.
func ReportProfiles(ctx context.Context, c *Client, opt ReportOptions) (*Profiles, error) {
	if opt.Service == "" {
		return nil, fmt.Errorf("fleet: no service name")
	}
	db := c.Database
	where := opt.where(c)
	q := func(query string) ([][]string, error) {
		rows, err := c.Query(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("fleet profiles: %w", err)
		}
		return rows, nil
	}
	not, err := supersededLoads(q, db, "profiles", where)
	if err != nil {
		return nil, err
	}
	sel := where + not
	rows, err := q(fmt.Sprintf(`SELECT profile, instance, toString(stack_id), frame, label, sum(count) AS n, sum(ns) AS t
		FROM %s.profiles WHERE %s GROUP BY profile, instance, stack_id, frame, label
		ORDER BY profile, instance, t DESC, n DESC, stack_id, frame, label`, db, sel))
	if err != nil {
		return nil, err
	}
	frames := map[string][]string{}
	stacks, err := q(fmt.Sprintf(`SELECT toString(stack_id), any(reason), arrayStringConcat(any(frames), '\n') FROM %s.stacks
		WHERE stack_id IN (SELECT stack_id FROM %s.profiles WHERE %s AND stack_id != 0) GROUP BY stack_id`, db, db, sel))
	if err != nil {
		return nil, err
	}
	for _, row := range stacks {
		reason := row[1]
		if reason == "" {
			reason = "unknown"
		}
		stk := []string{"[" + reason + "]"}
		if row[2] != "" {
			stk = append(stk, strings.Split(row[2], "\n")...)
		}
		frames[row[0]] = stk
	}
	p := &Profiles{Latency: []analyze.ProfileSample{}, Roots: []analyze.RootSample{}}
	for _, row := range rows {
		n := ints(row[5:])
		stk, block := frames[row[2]], true
		if row[2] == "0" || stk == nil {
			stk, block = strings.Split(row[3], "\n"), false
			if row[3] == "" {
				stk = []string{"[unknown]"}
			}
		}
		switch row[0] {
		case "latency":
			p.Latency = append(p.Latency, analyze.ProfileSample{Stack: stk, Block: block, Waker: row[4], Count: n[0], NS: n[1], Instance: row[1]})
		case "roots":
			p.Roots = append(p.Roots, analyze.RootSample{Stack: stk, Block: block, Kind: row[4], Count: n[0], NS: n[1], Instance: row[1]})
		}
	}
	return p, nil
}
