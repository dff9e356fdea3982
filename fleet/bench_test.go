package fleet

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/internal/chserver"
)

// BenchmarkShip ships the nats-server trace (converted on the fly) as a
// new instance each time: the whole of `wakeshim ship`.
func BenchmarkShip(b *testing.B) {
	s := chserver.Start(b)
	c, err := NewClient(s.URL("wakeshim"))
	if err != nil {
		b.Fatal(err)
	}
	var rows, recs int64
	var el time.Duration
	for i := 0; b.Loop(); i++ {
		res, err := Ship(context.Background(), c, []string{natsTrace}, ShipOptions{Service: "bench", Instance: fmt.Sprint(i)})
		if err != nil {
			b.Fatal(err)
		}
		rows += res.RowsTotal()
		recs += res.Records
		el += res.Elapsed
	}
	b.ReportMetric(float64(rows)/el.Seconds(), "rows/s")
	b.ReportMetric(float64(recs)/el.Seconds(), "records/s")
}

// BenchmarkInsert measures the insert path alone: wake rows, RowBinary,
// batches of 100000, into the wakes table.
func BenchmarkInsert(b *testing.B) {
	s := chserver.Start(b)
	c, err := NewClient(s.URL("wakeshim"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := c.EnsureSchema(ctx); err != nil {
		b.Fatal(err)
	}
	const n = 1_000_000
	start := time.Now().UnixNano()
	var el time.Duration
	for b.Loop() {
		t0 := time.Now()
		bt := &batcher{c: c, ctx: ctx, table: "wakes", loadID: newLoadID(), max: 100000,
			cols: []string{"service", "instance", "load_id", "batch", "time", "ts_ns", "process", "waker", "woken",
				"waker_name", "woken_name", "worker", "has_latency", "latency_us"}}
		for i := range n {
			r := bt.row("bench", "i")
			ts := start + int64(i)*1000
			r.dateTime(ts)
			r.i64(ts)
			r.u32(0)
			r.u32(uint32(i % 97))
			r.u32(uint32(i % 1013))
			r.str("server.(*client).readLoop")
			r.str("server.(*client).flushClients")
			r.u8(uint8(i % 8))
			r.u8(1)
			r.u32(uint32(i % 500))
			if err := bt.rowDone(); err != nil {
				b.Fatal(err)
			}
		}
		if err := bt.flush(); err != nil {
			b.Fatal(err)
		}
		el += time.Since(t0)
	}
	b.ReportMetric(float64(n*b.N)/el.Seconds(), "rows/s")
}

// BenchmarkReport measures fleet.Report over WAKESHIM_REPORT_ROWS (default
// 10 million) synthetic wake rows and a tenth as many pending rows of 40
// instances, 1000 stacks and 200 wake edges, committed as one load each;
// and 20 loads per instance of 1000 verdicts, 21 findings and 250
// pauses each.
func BenchmarkReport(b *testing.B) {
	s := chserver.Start(b)
	c, err := NewClient(s.URL("wakeshim"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := c.EnsureSchema(ctx); err != nil {
		b.Fatal(err)
	}
	n := 10_000_000
	if v := os.Getenv("WAKESHIM_REPORT_ROWS"); v != "" {
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	const instances = 40
	start := time.Now().Add(-time.Hour).UnixNano()
	t0 := time.Now()
	stacks := map[uint64]stackRow{}
	for inst := range instances {
		load := newLoadID()
		wk := &batcher{c: c, ctx: ctx, table: "wakes", loadID: load, max: 200000,
			cols: []string{"service", "instance", "load_id", "batch", "time", "ts_ns", "process", "waker", "woken",
				"waker_name", "woken_name", "worker", "has_latency", "latency_us"}}
		name := fmt.Sprint("i", inst)
		for i := range n / instances {
			r := wk.row("big", name)
			ts := start + int64(i)*100000
			r.dateTime(ts)
			r.i64(ts)
			r.u32(0)
			r.u32(uint32(i % 97))
			r.u32(uint32(i % 1013))
			r.str(fmt.Sprint("pkg.waker", i%20))
			r.str(fmt.Sprint("pkg.woken", i%10))
			r.u8(uint8(i % 8))
			r.u8(uint8(i % 2))
			r.u32(uint32(i % 5000))
			if err := wk.rowDone(); err != nil {
				b.Fatal(err)
			}
		}
		if err := wk.flush(); err != nil {
			b.Fatal(err)
		}
		pd := &batcher{c: c, ctx: ctx, table: "pending", loadID: load, max: 200000,
			cols: []string{"service", "instance", "load_id", "batch", "time", "ts_ns", "last_ns", "duration_ns", "process", "task",
				"stack_id", "reason", "woken", "waker", "waker_name", "still_blocked"}}
		for i := range n / instances / 10 {
			frames := []string{fmt.Sprint("pkg.wait", i%1000), "pkg.loop", "pkg.main"}
			id := StackID("chan_receive", frames)
			stacks[id] = stackRow{"chan_receive", frames}
			r := pd.row("big", name)
			ts := start + int64(i)*1000000
			r.dateTime(ts)
			r.i64(ts)
			r.i64(ts + 500000)
			r.i64(int64(i%7919) * 1000)
			r.u32(0)
			r.u32(uint32(i % 5000))
			r.u64(id)
			r.str("chan_receive")
			r.u8(1)
			r.u32(uint32(i % 97))
			r.str(fmt.Sprint("pkg.waker", i%20))
			r.u8(uint8(i % 1000 / 999))
			if err := pd.rowDone(); err != nil {
				b.Fatal(err)
			}
		}
		if err := pd.flush(); err != nil {
			b.Fatal(err)
		}
		if err := c.Exec(ctx, fmt.Sprintf("INSERT INTO %s.files (service, instance, file_id, load_id, path, records, start_ns, span_ns, shipped) VALUES ('big', %s, %s, %s, 'synthetic', %d, %d, %d, now())",
			c.Database, Quote(name), Quote(load), Quote(load), n/instances, start, int64(n/instances)*100000)); err != nil {
			b.Fatal(err)
		}
	}
	// The verdicts: each instance's one process shipped in 20 loads (as
	// the shim ships), 1000 goroutines blocked at the end of each, idle
	// in 50 stacks; 2 leaked on every tenth instance.
	const vloads, vgoroutines, vpauses = 20, 1000, 250
	for inst := range instances {
		name := fmt.Sprint("i", inst)
		for ld := range vloads {
			load := newLoadID()
			end := start + int64(ld+1)*int64(time.Minute)
			vb := &batcher{c: c, ctx: ctx, table: "verdicts", loadID: load, max: 200000,
				cols: []string{"service", "instance", "load_id", "batch", "time", "ts_ns", "process", "proc", "task", "name", "func", "created_at",
					"stack_id", "reason", "since_ns", "blocked_ns", "verdict", "severity", "evidence", "woken_here", "wakes", "spawned", "cycle",
					"proof_file", "proof_form", "proof_matched_by", "proof_state"}}
			for g := range vgoroutines {
				verdict, severity, fn := "idle", "info", fmt.Sprint("pkg.serve", g%50)
				if inst%10 == 0 && g < 2 {
					verdict, severity, fn = "leaked", "warning", "pkg.leak"
				}
				frames := []string{fn, "pkg.main"}
				id := StackID("chan_receive", frames)
				stacks[id] = stackRow{"chan_receive", frames}
				r := vb.row("big", name)
				r.dateTime(end)
				r.i64(end)
				r.u32(0)
				r.str("prog-1")
				r.u32(uint32(g + 10))
				r.str(fn)
				r.str(fn)
				r.str("")
				r.u64(id)
				r.str("chan receive")
				r.i64(end - int64(g)*1000000)
				r.i64(int64(g) * 1000000)
				r.str(verdict)
				r.str(severity)
				r.strs([]string{"woken 3 time(s) before from this same wait"})
				r.u32(3)
				r.i64(3)
				r.u8(1)
				r.b = append(r.b, 0) // cycle: none
				for range 4 {
					r.str("")
				}
				if err := vb.rowDone(); err != nil {
					b.Fatal(err)
				}
			}
			if err := vb.flush(); err != nil {
				b.Fatal(err)
			}
			// The findings of the load's analysis: 10 herds (20 wakers
			// over the fleet), a slow_wake, 10 queues (of 50 stacks);
			// and 250 pauses.
			fb := &batcher{c: c, ctx: ctx, table: "findings", loadID: load, max: 200000,
				cols: []string{"service", "instance", "load_id", "batch", "time", "ts_ns", "process", "proc", "from_ns", "end_ns", "kind", "severity", "key", "name", "text",
					"task", "woken", "count", "total_ns", "max_ns", "behind", "free", "pause", "all_busy", "over_10x", "wakes", "numbers"}}
			from := end - int64(time.Minute)
			for f := range 21 {
				kind, key, fn := "herd", "", fmt.Sprint("pkg.waker", (inst+ld+f)%20)
				switch {
				case f == 10:
					kind, fn = "slow_wake", "pkg.worker"
				case f > 10:
					frames := []string{fmt.Sprint("pkg.serve", (ld+f)%50), "pkg.main"}
					id := StackID("chan_receive", frames)
					kind, key, fn = "queue", strconv.FormatUint(id, 10), frames[0]
				default:
					key = fn
				}
				ts := from + int64(f)*int64(time.Second)
				r := fb.row("big", name)
				r.dateTime(ts)
				r.i64(ts)
				r.u32(0)
				r.str("prog-1")
				r.i64(from)
				r.i64(end)
				r.str(kind)
				r.str("info")
				r.str(key)
				r.str(fn)
				r.str(kind + " finding text of some length, as the analysis writes it, with numbers 123 and 4.56ms")
				r.u32(uint32(f + 1))
				r.i64(int64(10 + f))
				r.i64(int64(100 + f))
				r.i64(int64(f) * 1e6)
				r.i64(int64(f) * 1e5)
				for range 6 {
					r.i64(int64(f))
				}
				r.str(`{"woken":12,"window_ns":1000000,"ts_ns":123456,"waker_task_id":7}`)
				if err := fb.rowDone(); err != nil {
					b.Fatal(err)
				}
			}
			if err := fb.flush(); err != nil {
				b.Fatal(err)
			}
			pb := &batcher{c: c, ctx: ctx, table: "pauses", loadID: load, max: 200000,
				cols: []string{"service", "instance", "load_id", "batch", "time", "ts_ns", "process", "proc", "duration_ns", "reason"}}
			for i := range vpauses {
				ts := from + int64(i)*int64(time.Minute)/vpauses
				r := pb.row("big", name)
				r.dateTime(ts)
				r.i64(ts)
				r.u32(0)
				r.str("prog-1")
				r.i64(int64(i%997) * 1000)
				r.str([]string{"GC sweep termination", "GC mark termination"}[i%2])
				if err := pb.rowDone(); err != nil {
					b.Fatal(err)
				}
			}
			if err := pb.flush(); err != nil {
				b.Fatal(err)
			}
			// The chains' summaries of the load: 50 wait groups (of the
			// pending rows' 1000 stacks) with 5 roots each, its 10
			// longest chains of 20 links, and 8 Ps.
			if err := benchChains(c, ctx, name, load, from, end, inst, ld); err != nil {
				b.Fatal(err)
			}
			if err := benchProfiles(c, ctx, name, load, from, end, inst, ld); err != nil {
				b.Fatal(err)
			}
			if err := c.Exec(ctx, fmt.Sprintf(`INSERT INTO %s.verdict_runs (service, instance, load_id, batch, time, ts_ns, process, proc, blocked, leak_files, leak_named, leak_matched)
				VALUES ('big', %s, %s, 0, toDateTime(%d), %d, 0, 'prog-1', %d, [], 0, 0)`, c.Database, Quote(name), Quote(load), end/1e9, end, vgoroutines)); err != nil {
				b.Fatal(err)
			}
			if err := c.Exec(ctx, fmt.Sprintf("INSERT INTO %s.files (service, instance, file_id, load_id, path, records, start_ns, span_ns, shipped) VALUES ('big', %s, %s, %s, 'synthetic-verdicts', 0, %d, 0, now())",
				c.Database, Quote(name), Quote(load), Quote(load), start)); err != nil {
				b.Fatal(err)
			}
		}
	}
	l := &loader{c: c, ctx: ctx, opt: ShipOptions{Now: time.Now}, res: &ShipResult{Rows: map[string]int64{}}}
	if err := l.shipStacks(stacks); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d wake rows, %d pending rows, %d verdict rows of %d instances inserted in %v", n, n/10, instances*vloads*vgoroutines, instances, time.Since(t0))
	// The verdicts' queries alone, once.
	tv := time.Now()
	var vr analyze.Report
	q := func(query string) ([][]string, error) { return c.Query(ctx, query) }
	if err := verdicts(q, c.Database, c.committed(Scope{Service: "big"}), 1000, map[string]int{}, start, instances, &vr); err != nil {
		b.Fatal(err)
	}
	if vr.VerdictSummary.Leaked != 2*instances/10 || vr.VerdictSummary.Idle != instances*vgoroutines-2*instances/10 {
		b.Fatalf("verdicts %+v", vr.VerdictSummary)
	}
	b.Logf("the verdicts' queries over %d rows (%d of the latest loads): %v", instances*vloads*vgoroutines, instances*vgoroutines, time.Since(tv))
	tl := time.Now()
	if err := latencyByInstance(q, c.Database, c.committed(Scope{Service: "big"}), time.Millisecond, instances, &vr); err != nil {
		b.Fatal(err)
	}
	b.Logf("the latency by instance over %d wake rows: %v", n, time.Since(tl))
	tf := time.Now()
	if err := fleetFindings(q, c.Database, c.committed(Scope{Service: "big"}), map[string]int{}, start, instances, &vr); err != nil {
		b.Fatal(err)
	}
	b.Logf("the findings' queries over %d rows: %v", instances*vloads*21, time.Since(tf))
	tp := time.Now()
	if err := fleetPauses(q, c.Database, c.committed(Scope{Service: "big"}), 1000, 20, start, instances, &vr); err != nil {
		b.Fatal(err)
	}
	if vr.Pauses == nil || vr.Pauses.Count != instances*vloads*vpauses {
		b.Fatalf("pauses %+v", vr.Pauses)
	}
	b.Logf("the pauses' queries over %d rows: %v", instances*vloads*vpauses, time.Since(tp))
	tc := time.Now()
	var ids []string
	for g := range 1000 {
		ids = append(ids, strconv.FormatUint(StackID("chan_receive", []string{fmt.Sprint("pkg.wait", g), "pkg.loop", "pkg.main"}), 10))
	}
	cr := analyze.Report{Pending: make([]analyze.PendingGroup, len(ids))}
	if err := chainRoots(q, c.Database, c.committed(Scope{Service: "big"}), ids, &cr); err != nil {
		b.Fatal(err)
	}
	roots := 0
	for _, g := range cr.Pending {
		roots += len(g.Roots)
	}
	if roots == 0 {
		b.Fatal("no chain roots")
	}
	b.Logf("the chain roots' queries over %d rows (%d groups' roots): %v", instances*vloads*50*5, roots, time.Since(tc))
	tc = time.Now()
	if err := fleetChains(q, c.Database, c.committed(Scope{Service: "big"}), 10, map[string]int{}, start, instances, &cr); err != nil {
		b.Fatal(err)
	}
	if len(cr.Chains) != 10 || len(cr.Chains[0].Links) != 20 {
		b.Fatalf("%d chains", len(cr.Chains))
	}
	b.Logf("the longest chains' queries over %d rows: %v", instances*vloads*10, time.Since(tc))
	tc = time.Now()
	if err := fleetWorkers(q, c.Database, c.committed(Scope{Service: "big"}), &cr); err != nil {
		b.Fatal(err)
	}
	if len(cr.Workers) != 8 || len(cr.WorkersByInstance) != instances {
		b.Fatalf("%d Ps, %d instances", len(cr.Workers), len(cr.WorkersByInstance))
	}
	b.Logf("the Ps' queries over %d rows: %v", instances*vloads*8, time.Since(tc))
	tc = time.Now()
	profs, err := ReportProfiles(ctx, c, ReportOptions{Scope: Scope{Service: "big"}})
	if err != nil {
		b.Fatal(err)
	}
	blocks := 0
	for _, p := range profs.Latency {
		if p.Block {
			blocks++
		}
	}
	if len(profs.Latency) == 0 || len(profs.Roots) == 0 || blocks == 0 {
		b.Fatalf("%d latency, %d root samples", len(profs.Latency), len(profs.Roots))
	}
	b.Logf("the profiles' queries over %d rows (%d latency, %d root samples): %v", instances*vloads*benchProfileRows,
		len(profs.Latency), len(profs.Roots), time.Since(tc))
	for b.Loop() {
		rep, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "big"}})
		if err != nil {
			b.Fatal(err)
		}
		if rep.WakesTotal != int64(n/instances*instances) {
			b.Fatalf("report of %d wakes, want %d", rep.WakesTotal, n)
		}
	}
}

// benchChains inserts a load's chain_roots (50 groups × 5 roots), chains
// (10 of 20 links) and workers (8 Ps) rows.
func benchChains(c *Client, ctx context.Context, name, load string, from, end int64, inst, ld int) error {
	rb := &batcher{c: c, ctx: ctx, table: "chain_roots", loadID: load, max: 200000,
		cols: []string{"service", "instance", "load_id", "batch", "time", "ts_ns", "from_ns", "end_ns", "stack_id", "reason", "kind", "func",
			"ns", "waits", "max_ns", "group_waits"}}
	for g := range 50 {
		id := StackID("chan_receive", []string{fmt.Sprint("pkg.wait", (inst+ld+g)%1000), "pkg.loop", "pkg.main"})
		for k, kind := range []string{"cpu", "cpu", "network", "scheduler", "timer"} {
			r := rb.row("big", name)
			r.dateTime(end)
			r.i64(end)
			r.i64(from)
			r.i64(end)
			r.u64(id)
			r.str("chan_receive")
			r.str(kind)
			fn := ""
			if kind == "cpu" {
				fn = fmt.Sprint("pkg.worker", (g+k)%30)
			}
			r.str(fn)
			r.i64(int64(1000000 * (k + 1)))
			r.i64(int64(10 + k))
			r.i64(int64(100000 * (k + 1)))
			r.i64(40)
			if err := rb.rowDone(); err != nil {
				return err
			}
		}
	}
	if err := rb.flush(); err != nil {
		return err
	}
	cb := &batcher{c: c, ctx: ctx, table: "chains", loadID: load, max: 200000,
		cols: []string{"service", "instance", "load_id", "batch", "time", "ts_ns", "process", "proc", "from_ns", "end_ns", "task", "name", "stack_id", "reason",
			"wait_ns", "waker", "waker_name", "truncated", "roots", "root_ns", "link_n", "link_s"}}
	for ch := range 10 {
		wait := int64((inst*vloadsBench+ld)*10+ch) * 1000
		ts := from + int64(ch)*1e9
		r := cb.row("big", name)
		r.dateTime(ts)
		r.i64(ts)
		r.u32(0)
		r.str("prog-1")
		r.i64(from)
		r.i64(end)
		r.u32(uint32(ch + 10))
		r.str(fmt.Sprint("g", ch+10, " pkg.worker"))
		r.u64(StackID("chan_receive", []string{"pkg.wait1", "pkg.loop", "pkg.main"}))
		r.str("chan_receive")
		r.i64(wait)
		r.u32(7)
		r.str("g7 pkg.waker")
		r.u8(0)
		r.strs([]string{"cpu", "pkg.waker", "network", ""})
		r.i64s([]int64{wait / 2, wait - wait/2})
		const nl = 20
		var nums []int64
		var strs []string
		for i := range nl {
			nums = append(nums, 1, 7, ts+int64(i), ts+int64(i)+1, 1, int64(i%8), 0, 0, 0)
			strs = append(strs, "cpu", "g7 pkg.waker", "", "", "")
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
	wb := &batcher{c: c, ctx: ctx, table: "workers", loadID: load, max: 200000,
		cols: []string{"service", "instance", "load_id", "batch", "time", "ts_ns", "from_ns", "end_ns", "worker", "busy_ns", "parked_ns", "polls", "span_ns"}}
	for p := range 8 {
		r := wb.row("big", name)
		r.dateTime(end)
		r.i64(end)
		r.i64(from)
		r.i64(end)
		r.u32(uint32(p))
		r.i64(int64(p+inst) * 1e8)
		r.i64(int64(8-p) * 1e8)
		r.i64(int64(1000 * (p + 1)))
		r.i64(end - from)
		if err := wb.rowDone(); err != nil {
			return err
		}
	}
	return wb.flush()
}

const vloadsBench = 20

// benchProfileRows is the rows of profiles a load of BenchmarkReport has.
const benchProfileRows = 300

// benchProfiles inserts a load's profiles rows: 150 latency samples
// (130 at the pending rows' stacks by 20 wakers, 20 with no block) and
// 150 root samples (120 at those stacks, 30 with no block).
func benchProfiles(c *Client, ctx context.Context, name, load string, from, end int64, inst, ld int) error {
	pb := &batcher{c: c, ctx: ctx, table: "profiles", loadID: load, max: 200000,
		cols: []string{"service", "instance", "load_id", "batch", "time", "ts_ns", "from_ns", "end_ns", "profile", "stack_id", "frame", "label", "count", "ns"}}
	kinds := []string{"cpu", "network", "timer", "syscall", "unknown"}
	for i := range benchProfileRows {
		profile, label, frame, block := "latency", fmt.Sprint("pkg.waker", i%20), "", i < 130
		if i >= 150 {
			profile, label, block = "roots", kinds[i%len(kinds)], i < 270
			if !block {
				label = "scheduler"
				frame = fmt.Sprint("[scheduler] pkg.worker", i%30)
			}
		} else if !block {
			frame = fmt.Sprint("[woken] pkg.woken", i%10)
		}
		var id uint64
		if block {
			id = StackID("chan_receive", []string{fmt.Sprint("pkg.wait", (inst+ld+i)%1000), "pkg.loop", "pkg.main"})
		}
		r := pb.row("big", name)
		r.dateTime(end)
		r.i64(end)
		r.i64(from)
		r.i64(end)
		r.str(profile)
		r.u64(id)
		r.str(frame)
		r.str(label)
		r.i64(int64(1 + i%17))
		r.i64(int64(1000 * (1 + i%101)))
		if err := pb.rowDone(); err != nil {
			return err
		}
	}
	return pb.flush()
}
