package fleet

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/chserver"
	"github.com/wakeshim/wakeshim/records"
)

func testdata(p ...string) string { return filepath.Join(append([]string{"..", "testdata"}, p...)...) }

var (
	natsTrace = testdata("realtraces", "nats-server.trace")
	flightrec = testdata("traces", "flightrec.trace")
	// Two v9 segments of one run.
	progFiles = []string{
		filepath.Join("..", "cmd", "wakeshim", "dumpdiffcmd", "testdata", "prog.1.v9"),
		filepath.Join("..", "cmd", "wakeshim", "dumpdiffcmd", "testdata", "prog.2.v9"),
	}
)

// local is what the records of inputs hold, read here without ClickHouse.
type local struct {
	blocks, wakes, spawns, queue, records int64
	latencies                             int64
	rep                                   *analyze.Report
}

func readLocal(t *testing.T, inputs ...string) local {
	t.Helper()
	ins, err := records.Expand(inputs)
	require.NoError(t, err)
	run := records.NewRun(ins, records.Options{})
	an, err := analyze.New(analyze.Config{Chains: -1})
	require.NoError(t, err)
	var l local
	for ev, err := range run.Events() {
		require.NoError(t, err)
		an.Add(ev)
		l.records++
		switch ev.Code {
		case format.CodeWakeEvent:
			l.wakes++
		case format.CodeTaskSpawn:
			l.spawns++
		case format.CodeQueueSample:
			l.queue++
		}
	}
	l.rep = an.Report(run.End)
	l.blocks = l.rep.PendingTotal
	l.latencies = l.rep.Latency.Count
	return l
}

func newClient(t *testing.T, s *chserver.Server) *Client {
	t.Helper()
	c, err := NewClient(s.URL("wakeshim"))
	require.NoError(t, err)
	c.Backoff = 50 * time.Millisecond
	return c
}

func ship(t *testing.T, c *Client, service, instance string, inputs ...string) *ShipResult {
	t.Helper()
	res, err := Ship(context.Background(), c, inputs, ShipOptions{Service: service, Instance: instance, BatchRows: 5000})
	require.NoError(t, err)
	return res
}

func count(t *testing.T, c *Client, table string, s Scope) int64 {
	t.Helper()
	n, err := c.Count(context.Background(), table, s)
	require.NoError(t, err)
	return n
}

func TestShip(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	nats := readLocal(t, natsTrace)
	require.Positive(t, nats.wakes)
	require.Positive(t, nats.blocks)
	prog := readLocal(t, progFiles...)

	// Two instances of one service, the same trace; one of another
	// service, v9 segments.
	for _, inst := range []string{"a", "b"} {
		res := ship(t, c, "nats", inst, natsTrace)
		assert.Equal(t, []string{natsTrace}, res.Files)
		assert.Empty(t, res.Skipped)
		assert.Equal(t, nats.records, res.Records)
		assert.Equal(t, nats.wakes, res.Rows["wakes"])
		assert.Equal(t, nats.blocks, res.Rows["pending"])
		t.Logf("instance %s: %d records, %d rows in %v (%.0f rows/s)", inst, res.Records, res.RowsTotal(), res.Elapsed,
			float64(res.RowsTotal())/res.Elapsed.Seconds())
	}
	res := ship(t, c, "prog", "p1", progFiles...)
	assert.Equal(t, progFiles, res.Files)

	for _, inst := range []string{"a", "b"} {
		sc := Scope{"nats", inst}
		assert.Equal(t, nats.wakes, count(t, c, "wakes", sc), inst)
		assert.Equal(t, nats.blocks, count(t, c, "pending", sc), inst)
		assert.Equal(t, nats.spawns, count(t, c, "spawns", sc), inst)
		assert.Equal(t, nats.queue, count(t, c, "queue", sc), inst)
		assert.Equal(t, int64(1), count(t, c, "files", sc), inst)
	}
	all := Scope{Service: "nats"}
	assert.Equal(t, 2*nats.wakes, count(t, c, "wakes", all))
	assert.Equal(t, 2*nats.blocks, count(t, c, "pending", all))
	lat, err := c.queryInt(context.Background(), "SELECT count() FROM wakeshim.wakes WHERE has_latency = 1 AND "+c.committed(all))
	require.NoError(t, err)
	assert.Equal(t, 2*nats.latencies, lat, "wakes with a wake-to-run latency")
	ps := Scope{Service: "prog"}
	assert.Equal(t, prog.wakes, count(t, c, "wakes", ps))
	assert.Equal(t, prog.blocks, count(t, c, "pending", ps))
	assert.Equal(t, int64(2), count(t, c, "files", ps))

	// Every pending row's stack is in stacks, once.
	orphans, err := c.queryInt(context.Background(), "SELECT count() FROM wakeshim.pending WHERE stack_id NOT IN (SELECT stack_id FROM wakeshim.stacks)")
	require.NoError(t, err)
	assert.Zero(t, orphans)
	dups, err := c.queryInt(context.Background(), "SELECT count() - uniqExact(stack_id) FROM wakeshim.stacks")
	require.NoError(t, err)
	assert.Zero(t, dups, "stacks stored once")

	// Shipping again adds nothing.
	again := ship(t, c, "nats", "a", natsTrace)
	assert.Empty(t, again.Files)
	assert.Equal(t, []string{natsTrace}, again.Skipped)
	assert.Zero(t, again.RowsTotal())
	assert.Equal(t, nats.wakes, count(t, c, "wakes", Scope{"nats", "a"}))
	rows, err := c.queryInt(context.Background(), "SELECT count() FROM wakeshim.wakes WHERE service = 'nats' AND instance = 'a'")
	require.NoError(t, err)
	assert.Equal(t, nats.wakes, rows, "no rows at all from the second ship, committed or not")

	// One segment already shipped: the run is read whole, the other
	// segment's rows alone are loaded.
	ship(t, c, "prog", "p2", progFiles[0])
	res = ship(t, c, "prog", "p2", progFiles...)
	assert.Equal(t, progFiles[1:], res.Files)
	assert.Equal(t, progFiles[:1], res.Skipped)
	assert.Equal(t, prog.wakes, count(t, c, "wakes", Scope{"prog", "p2"}))
}

func TestShipBadInput(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	data, err := os.ReadFile(filepath.Join("..", "cmd", "wakeshim", "dumpdiffcmd", "testdata", "prog.1.jsonl"))
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	require.Greater(t, len(lines), 20)
	lines[10] = `{"code":"WakeEvent","ts_us":"soon"}` + "\n"
	require.NoError(t, os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644))
	_, err = Ship(context.Background(), c, []string{bad}, ShipOptions{Service: "x", Instance: "y"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), bad)
	assert.Contains(t, err.Error(), "line 11")
	t.Log(err)
	assert.Zero(t, count(t, c, "files", Scope{Service: "x"}))

	notRecords := filepath.Join(t.TempDir(), "notes.txt")
	require.NoError(t, os.WriteFile(notRecords, []byte("hello\n"), 0o644))
	_, err = Ship(context.Background(), c, []string{notRecords}, ShipOptions{Service: "x", Instance: "y"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), notRecords)
}

// TestClientErrors: ClickHouse's own message reaches the caller, and a
// query error is not retried.
func TestClientErrors(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	require.NoError(t, c.EnsureSchema(context.Background()))
	retries := 0
	c.OnRetry = func(error, time.Duration) { retries++ }
	_, err := c.Query(context.Background(), "SELECT nosuchcolumn FROM system.one")
	require.Error(t, err)
	var ce *Error
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Message, "nosuchcolumn")
	assert.Positive(t, ce.Code)
	assert.Zero(t, retries)

	_, err = NewClient("ftp://x")
	assert.Error(t, err)
	_, err = NewClient("http://127.0.0.1:1/?database=bad-name")
	assert.Error(t, err)
}

// TestShipOutage stops ClickHouse in the middle of a load: the load fails
// with a clear error and leaves no visible rows; shipped again after the
// restart, the run is there once.
func TestShipOutage(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	c.Retries = 2
	nats := readLocal(t, natsTrace)
	batches := 0
	opt := ShipOptions{Service: "nats", Instance: "a", BatchRows: 1000, OnBatch: func(table string, n int) {
		batches++
		if table == "wakes" && s.Running() {
			s.Stop() // after the first acknowledged batch of wakes
		}
	}}
	_, err := Ship(context.Background(), c, []string{natsTrace}, opt)
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), "not committed, ship again")
	assert.Contains(t, err.Error(), "connection refused")
	assert.Contains(t, err.Error(), "after 2 retries")
	require.Positive(t, batches)

	s.Restart()
	sc := Scope{"nats", "a"}
	assert.Zero(t, count(t, c, "wakes", sc), "rows of the failed load are visible")
	raw, err := c.queryInt(context.Background(), "SELECT count() FROM wakeshim.wakes")
	require.NoError(t, err)
	assert.Equal(t, int64(1000), raw, "the failed load's first batch is in the table, uncommitted")

	opt.OnBatch = nil
	res, err := Ship(context.Background(), c, []string{natsTrace}, opt)
	require.NoError(t, err)
	assert.Equal(t, []string{natsTrace}, res.Files)
	assert.Equal(t, nats.wakes, count(t, c, "wakes", sc))
	assert.Equal(t, nats.blocks, count(t, c, "pending", sc))
	assert.Equal(t, nats.spawns, count(t, c, "spawns", sc))
	assert.Equal(t, nats.queue, count(t, c, "queue", sc))
	assert.Equal(t, int64(1), count(t, c, "files", sc))
}

// TestShipDirectory ships a shim directory as it grows, and the JSONL
// rendering of the same records: the same counts either way.
func TestShipDirectory(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	prog := readLocal(t, progFiles...)
	dir := t.TempDir()
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, to), data, 0o644))
	}
	copyFile(progFiles[0], "prog-100-1.bin")
	res := ship(t, c, "dir", "d1", dir)
	assert.Len(t, res.Files, 1)
	copyFile(progFiles[1], "prog-100-2.bin")
	res = ship(t, c, "dir", "d1", dir)
	assert.Equal(t, []string{filepath.Join(dir, "prog-100-2.bin")}, res.Files)
	assert.Equal(t, []string{filepath.Join(dir, "prog-100-1.bin")}, res.Skipped)
	sc := Scope{"dir", "d1"}
	assert.Equal(t, prog.wakes, count(t, c, "wakes", sc))
	assert.Equal(t, prog.spawns, count(t, c, "spawns", sc))
	assert.Equal(t, prog.queue, count(t, c, "queue", sc))
	assert.Equal(t, int64(2), count(t, c, "files", sc))
	// A block reported in both files counts once in each load
	// (docs/fleet.md): at least the run's blocks.
	blocks := count(t, c, "pending", sc)
	assert.GreaterOrEqual(t, blocks, prog.blocks)
	t.Logf("%d blocks shipped in two loads, %d in the run read whole", blocks, prog.blocks)

	jsonl := []string{
		filepath.Join("..", "cmd", "wakeshim", "dumpdiffcmd", "testdata", "prog.1.jsonl"),
		filepath.Join("..", "cmd", "wakeshim", "dumpdiffcmd", "testdata", "prog.2.jsonl"),
	}
	ship(t, c, "dir", "jsonl", jsonl...)
	sc = Scope{"dir", "jsonl"}
	assert.Equal(t, prog.wakes, count(t, c, "wakes", sc))
	assert.Equal(t, prog.blocks, count(t, c, "pending", sc))
	assert.Equal(t, prog.spawns, count(t, c, "spawns", sc))
}

// lostAnswers is a proxy in front of ClickHouse that passes every request
// on but, for the first n INSERTs into table, closes the connection
// instead of giving the answer: the insert is applied, the client does
// not know it.
type lostAnswers struct {
	target string
	table  string
	n      atomic.Int32
	lost   atomic.Int32
}

func (p *lostAnswers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), 502)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	q := r.URL.Query().Get("query")
	if resp.StatusCode == 200 && strings.HasPrefix(q, "INSERT INTO wakeshim."+p.table+" ") && p.n.Add(-1) >= 0 {
		p.lost.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// TestShipLostAnswers: INSERTs applied whose answers were lost are not
// sent again (the check finds their rows), so the load has no
// duplicates.
func TestShipLostAnswers(t *testing.T) {
	s := chserver.Start(t)
	nats := readLocal(t, natsTrace)
	direct := newClient(t, s)
	// Two batches of wakes lost, and the commit (one INSERT into files).
	for table, lose := range map[string]int32{"wakes": 2, "files": 1} {
		p := &lostAnswers{target: strings.TrimSuffix(s.URL(""), "/"), table: table}
		p.n.Store(lose)
		srv := httptest.NewServer(p)
		c, err := NewClient(srv.URL + "/?database=wakeshim")
		require.NoError(t, err)
		c.Backoff = 10 * time.Millisecond
		inst := "lost-" + table
		res, err := Ship(context.Background(), c, []string{natsTrace}, ShipOptions{Service: "nats", Instance: inst, BatchRows: 1000})
		srv.Close()
		require.NoError(t, err)
		assert.Equal(t, lose, p.lost.Load(), table)
		sc := Scope{"nats", inst}
		assert.Equal(t, nats.wakes, res.Rows["wakes"], table)
		raw, err := direct.queryInt(context.Background(), "SELECT count() FROM wakeshim.wakes WHERE instance = "+Quote(inst))
		require.NoError(t, err)
		assert.Equal(t, nats.wakes, raw, "%s: wakes in the table, committed or not", table)
		assert.Equal(t, nats.wakes, count(t, direct, "wakes", sc), table)
		assert.Equal(t, nats.blocks, count(t, direct, "pending", sc), table)
		assert.Equal(t, int64(1), count(t, direct, "files", sc), table)
	}
}
