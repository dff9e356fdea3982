package fleet

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

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
// instances, 1000 stacks and 200 wake edges, committed as one load each.
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
	l := &loader{c: c, ctx: ctx, opt: ShipOptions{Now: time.Now}, res: &ShipResult{Rows: map[string]int64{}}}
	if err := l.shipStacks(stacks); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d wake rows, %d pending rows of %d instances inserted in %v", n, n/10, instances, time.Since(t0))
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
