package analyze

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/records"
)

// step is one record of a synthetic run, or (end) a goroutine's end.
type step struct {
	rec   format.Record
	stack []string
	loc   string
	end   bool
}

// script builds synthetic runs (times in µs).
type script struct{ steps []step }

func (s *script) rec(r format.Record, stack []string, loc string) {
	s.steps = append(s.steps, step{rec: r, stack: stack, loc: loc})
}
func (s *script) spawn(task uint32, loc string) {
	s.rec(format.Record{Code: format.CodeTaskSpawn, Task: task}, nil, loc)
}
func (s *script) poll(ts uint32, w uint8, task uint32, loc string) {
	s.rec(format.Record{Code: format.CodePollStart, TS: ts, Worker: w, Task: task}, nil, loc)
}
func (s *script) pollEnd(ts uint32, w uint8) {
	s.rec(format.Record{Code: format.CodePollEnd, TS: ts, Worker: w}, nil, "")
}
func (s *script) wake(ts uint32, w uint8, waker, woken uint32) {
	s.rec(format.Record{Code: format.CodeWakeEvent, TS: ts, Worker: w, Waker: waker, Task: woken}, nil, "")
}
func (s *script) pend(ts uint32, task, dur uint32, stack []string) {
	s.rec(format.Record{Code: format.CodeTaskPending, TS: ts, Task: task, Duration: dur}, stack, "")
}
func (s *script) exit(ts uint32, task uint32) {
	s.steps = append(s.steps, step{rec: format.Record{TS: ts, Task: task}, end: true})
}

// run analyzes the script, giving the goroutines' ends or not, and
// returns the report, the analyzer and the report's JSON.
func (s *script) run(t *testing.T, cfg Config, ends bool) (*Report, *Analyzer, string) {
	t.Helper()
	a, err := New(cfg)
	require.NoError(t, err)
	var last int64
	for i := range s.steps {
		st := &s.steps[i]
		tt := int64(st.rec.TS) * 1000
		if st.end {
			if ends {
				a.End(&records.End{T: tt, Task: st.rec.Task})
			}
			continue
		}
		a.Add(&records.Event{Record: st.rec, T: tt, Stack: st.stack, Location: st.loc})
		last = max(last, tt)
	}
	r := a.Report(last)
	b, err := json.Marshal(struct {
		R                *Report
		Pend, Lat, Roots any
	}{r, a.PendingSamples(), a.LatencySamples(), a.RootSamples()})
	require.NoError(t, err)
	return r, a, string(b)
}

const (
	locLoop  = "example.com/app.loop (created at example.com/app.main /src/app.go:10)"
	locChild = "example.com/app.loop.func1 (created at example.com/app.loop /src/app.go:20)"
)

var (
	stkChild = []string{"[chan_receive]", "runtime.chanrecv1 runtime/chan.go:1", "example.com/app.loop.func1 /src/app.go:21"}
	stkLoop  = []string{"[sync_wait_group_wait]", "sync.(*WaitGroup).Wait sync/waitgroup.go:1", "example.com/app.loop /src/app.go:22"}
)

// shortLived is the corpus's stacks trace in small: a long-lived loop
// (g2) that, n times over, starts a goroutine, wakes it through a
// channel and waits for it to exit (woken by it), the goroutines'
// blocks long enough to be reported.
func shortLived(n int) *script {
	s := &script{}
	s.spawn(2, locLoop)
	ts := uint32(10)
	for i := range n {
		c := uint32(100 + i)
		s.spawn(c, locChild)
		s.poll(ts, 0, 2, locLoop)
		s.pollEnd(ts+2, 0)
		s.poll(ts+3, 1, c, locChild)
		s.pollEnd(ts+5, 1) // the child blocks in a receive
		s.poll(ts+6, 0, 2, locLoop)
		s.wake(ts+1206, 0, 2, c) // the loop sends, after 1.2ms
		s.pend(ts+1206, c, 1201, stkChild)
		s.pollEnd(ts+1207, 0) // and waits
		s.poll(ts+1210, 1, c, locChild)
		s.wake(ts+1212, 1, c, 2) // the child's wg.Done wakes it
		s.pend(ts+1212, 2, 1205, stkLoop)
		s.pollEnd(ts+1213, 1)
		s.exit(ts+1213, c)
		ts += 1220
	}
	return s
}

// TestEndFreesGoroutines: a run of 100,000 short-lived goroutines holds
// the state of a bounded number of them when their ends are given (and
// of every one when not), and the report is the same either way.
func TestEndFreesGoroutines(t *testing.T) {
	const n = 100_000
	s := shortLived(n)
	_, kept, want := s.run(t, Config{}, false)
	_, freed, got := s.run(t, Config{}, true)
	require.Equal(t, want, got, "the report with the ends given")

	tasks, chains, taskPages, chainPages := kept.held()
	assert.Equal(t, n+2, tasks, "without the ends: every goroutine held")
	assert.Equal(t, n+2, chains)

	tasks, chains, taskPages, chainPages = freed.held()
	t.Logf("held with the ends: %d goroutines, %d chain histories, %d + %d pages", tasks, chains, taskPages, chainPages)
	assert.LessOrEqual(t, tasks, 4, "goroutines held")
	// Those of ended goroutines wait for a collection (at most
	// chainCollectMin of them here); the loop's ring (chainRing
	// intervals) can lead into the latest children's: those are kept.
	assert.LessOrEqual(t, chains, chainCollectMin+chainRing+4, "chain histories held")
	assert.LessOrEqual(t, taskPages, 2)
	assert.LessOrEqual(t, chainPages, 2+(chainCollectMin+chainRing)/pageLen+1)
	assert.LessOrEqual(t, freed.cur.len(), 4, "block slots")
}

// TestEndKeepBlocks: with Config.KeepBlocks nothing is freed (Blocks
// needs every goroutine to the end).
func TestEndKeepBlocks(t *testing.T) {
	s := shortLived(1000)
	_, a, _ := s.run(t, Config{KeepBlocks: true}, true)
	tasks, chains, _, _ := a.held()
	assert.Equal(t, 1002, tasks)
	assert.Equal(t, 1002, chains)
	n := 0
	for range a.Blocks() {
		n++
	}
	assert.Equal(t, 2000, n)
}

// TestChainThroughEndedWaker: a wait ended by a goroutine that exited
// before the wait's record came has its chain walked through the dead
// waker's history, which still names it; and the waker's own waker,
// ended too, is named a level deeper.
func TestChainThroughEndedWaker(t *testing.T) {
	const (
		locV = "example.com/app.producer (created at example.com/app.main /src/app.go:30)"
		locW = "example.com/app.relay (created at example.com/app.main /src/app.go:31)"
		locG = "example.com/app.consumer (created at example.com/app.main /src/app.go:32)"
	)
	stkG := []string{"[chan_receive]", "runtime.chanrecv1 runtime/chan.go:1", "example.com/app.consumer /src/app.go:40"}
	stkW := []string{"[chan_receive]", "runtime.chanrecv1 runtime/chan.go:1", "example.com/app.relay /src/app.go:50"}
	s := &script{}
	s.spawn(5, locV)
	s.spawn(6, locW)
	s.spawn(7, locG)
	s.poll(10, 0, 7, locG)
	s.pollEnd(20, 0) // G blocks from 20µs
	s.poll(30, 1, 6, locW)
	s.pollEnd(40, 1) // W blocks from 40µs
	s.poll(50, 1, 5, locV)
	s.wake(3000, 1, 5, 6) // V runs 3ms, wakes W
	s.pend(3000, 6, 2960, stkW)
	s.pollEnd(3001, 1)
	s.exit(3001, 5) // V exits
	s.poll(3100, 1, 6, locW)
	s.wake(5100, 1, 6, 7) // W runs 2ms, wakes G, and exits
	s.pollEnd(5101, 1)
	s.exit(5101, 6)
	// Enough goroutines that start and end meanwhile for the chain
	// histories to be collected (collectChains) before the wait's
	// record: W's and V's, still reachable from G's wake, are kept.
	for i := range 2 * chainCollectMin {
		id := uint32(1000 + i)
		s.spawn(id, locChild)
		s.poll(5101, 0, id, locChild)
		s.pollEnd(5101, 0)
		s.exit(5101, id)
	}
	s.pend(5101, 7, 5081, stkG)
	s.poll(5200, 0, 7, locG)
	s.pollEnd(5300, 0)
	r, a, got := s.run(t, Config{}, true)
	_, _, want := s.run(t, Config{}, false)
	require.Equal(t, want, got, "the report with the ends given")
	tasks, _, _, _ := a.held()
	assert.Equal(t, 2, tasks, "the runtime and G held")
	assert.Positive(t, a.ch.freed, "chain histories collected")

	c := chainOf(t, r, 7)
	assert.Equal(t, "g6 app.relay", c.WakerName, chainText(c))
	assert.Equal(t, uint32(6), c.Waker)
	names := map[string]bool{}
	for _, l := range c.Links {
		names[l.Name] = true
	}
	assert.True(t, names["g6 app.relay"], "the dead waker in the links\n%s", chainText(c))
	assert.True(t, names["g5 app.producer"], "its dead waker a level deeper\n%s", chainText(c))
	assert.Equal(t, int64(5080_000), c.WaitNS)
}

// TestEndSameReport: on real traces (the bundled ones and the small
// shapes of the corpus), the report made freeing the ended goroutines
// is the one made keeping them (an End option that does nothing), and
// the ends were given.
func TestEndSameReport(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "traces", "*.trace"))
	require.NoError(t, err)
	shapes, err := filepath.Glob(filepath.Join("..", "testdata", "shapes", "*.trace"))
	require.NoError(t, err)
	paths = append(paths, shapes...)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		t.Run(filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), func(t *testing.T) {
			report := func(opt records.Options) (string, *Analyzer) {
				ins, err := records.Expand([]string{p})
				require.NoError(t, err)
				r, a, err := Analyze(records.NewRun(ins, opt), Config{})
				require.NoError(t, err)
				b, err := json.Marshal(struct {
					R                *Report
					Pend, Lat, Roots any
				}{r, a.PendingSamples(), a.LatencySamples(), a.RootSamples()})
				require.NoError(t, err)
				return string(b), a
			}
			want, _ := report(records.Options{End: func(*records.End) {}})
			got, a := report(records.Options{})
			require.Equal(t, want, got)
			if a.ended == 0 {
				t.Logf("no goroutine ended")
			}
		})
	}
}

// TestEndPairs: the wake pairs folded at their goroutines' ends give the
// edges, latencies, profiles and verdicts of the pairs kept: a goroutine
// woken by two live wakers of one name (counted once among the edge's
// woken), a waker that ends before its woken runs (the latency of that
// wake), wakers that end one after the other (their sums merged), and a
// goroutine still blocked at the end whose waker ended (its verdict's
// wakes).
func TestEndPairs(t *testing.T) {
	const locL = "example.com/app.server (created at example.com/app.main /src/app.go:40)"
	s := &script{}
	for _, id := range []uint32{2, 3} {
		s.spawn(id, locL)
		s.poll(1, 0, id, locL)
		s.pollEnd(2, 0)
	}
	ts := uint32(10)
	for i := range 300 {
		c := uint32(100 + i)
		s.spawn(c, locChild)
		s.poll(ts, 1, c, locChild)
		s.pollEnd(ts+1, 1)
		for _, l := range []uint32{2, 3} { // both servers wake it
			s.poll(ts+2, 0, l, locL)
			s.wake(ts+1300, 0, l, c)
			if l == 2 {
				s.pend(ts+1300, c, 1299, stkChild)
			}
			s.pollEnd(ts+1301, 0)
		}
		s.poll(ts+1400, 1, c, locChild)
		s.wake(ts+1401, 1, c, 2) // it wakes server 2, and ends before 2 runs
		s.pend(ts+1401, 2, 1399, stkLoop)
		s.pollEnd(ts+1402, 1)
		s.exit(ts+1402, c)
		ts += 1500
	}
	s.poll(ts, 0, 2, locL) // server 2 runs at last
	s.pollEnd(ts+1, 0)
	// Server 3 blocks at the end, after a wake by a goroutine that ended.
	s.spawn(999, locChild)
	s.poll(ts+2, 1, 999, locChild)
	s.wake(ts+3, 1, 999, 3)
	s.pollEnd(ts+4, 1)
	s.exit(ts+4, 999)
	s.poll(ts+5, 0, 3, locL)
	s.pollEnd(ts+6, 0)
	s.pend(ts+3_000_000, 3, 3_000_000-6, stkLoop)
	r, a, got := s.run(t, Config{}, true)
	_, _, want := s.run(t, Config{}, false)
	require.Equal(t, want, got, "the report with the ends given")
	assert.Equal(t, 301, int(a.ended))
	assert.LessOrEqual(t, a.pairL.heldPages(), 2, "pair pages held")
	found := false
	for _, e := range r.Wakes {
		if e.Waker == "app.server" && e.Woken == "app.loop.func1 created at app.go:20" {
			found = true
			assert.Equal(t, 2, e.WakerTasks)
			assert.Equal(t, 300, e.WokenTasks)
			assert.Equal(t, int64(600), e.Count)
		}
	}
	assert.True(t, found, "the servers' edge: %+v", r.Wakes)
	require.Len(t, r.Verdicts, 1, "server 3 blocked at the end")
	assert.Equal(t, uint32(3), r.Verdicts[0].TaskID)
	assert.Equal(t, int64(1), r.Verdicts[0].Wakes, "its wake, by a goroutine that ended")
}
