package analyze

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/records"
)

// feed runs the analyzer over hand-made events (times in µs).
type feed struct {
	a *Analyzer
}

func newFeed(t *testing.T, cfg Config) *feed {
	a, err := New(cfg)
	require.NoError(t, err)
	return &feed{a: a}
}

func (f *feed) add(rec format.Record, stack []string, loc string) {
	f.a.Add(&records.Event{Record: rec, T: int64(rec.TS) * 1000, Stack: stack, Location: loc})
}

const (
	locWorker = "example.com/app/srv.(*pool).worker (created at example.com/app/srv.Start /src/srv.go:12)"
	locFeeder = "example.com/app/srv.feeder"
)

func TestBlocksWakersLatency(t *testing.T) {
	f := newFeed(t, Config{})
	stk := []string{"[chan_receive]", "runtime.chanrecv1 runtime/chan.go:1", "example.com/app/srv.(*pool).worker /src/srv.go:40"}
	poll := func(ts uint32, w uint8, task uint32, loc string) {
		f.add(format.Record{Code: format.CodePollStart, TS: ts, Worker: w, Task: task}, nil, loc)
	}
	end := func(ts uint32, w uint8) { f.add(format.Record{Code: format.CodePollEnd, TS: ts, Worker: w}, nil, "") }
	wake := func(ts uint32, waker, woken uint32) {
		f.add(format.Record{Code: format.CodeWakeEvent, TS: ts, Waker: waker, Task: woken}, nil, "")
	}
	pend := func(ts uint32, task, dur uint32) {
		f.add(format.Record{Code: format.CodeTaskPending, TS: ts, Task: task, Duration: dur}, stk, "")
	}
	poll(0, 0, 10, locWorker)
	end(10, 0)
	poll(0, 1, 11, locWorker)
	end(12, 1)
	poll(20, 1, 5, locFeeder)
	// Worker 10 blocked from 10µs: re-reported twice while blocked, then
	// woken by the feeder at 5010µs, reported a last time, runs at 5030.
	pend(2010, 10, 2000)
	pend(4010, 10, 4000)
	wake(5010, 5, 10)
	pend(5010, 10, 5000)
	poll(5030, 0, 10, "")
	end(5040, 0)
	// Worker 11 blocked from 12µs, re-reported, never woken: still blocked.
	pend(3012, 11, 3000)
	pend(6012, 11, 6000)
	end(6100, 1)
	r := f.a.Report(7000 * 1000)

	require.Len(t, r.Pending, 1)
	g := r.Pending[0]
	assert.Equal(t, "chan_receive", g.Reason)
	assert.Equal(t, stk[1:], g.Frames)
	assert.Equal(t, 2, g.Count, "re-reports fold into one block each")
	assert.Equal(t, int64(5), r.PendingRecs)
	assert.Equal(t, int64(2), r.PendingTotal)
	assert.Equal(t, 2, g.Goroutines)
	assert.Equal(t, int64(11000e3), g.TotalNS)
	assert.Equal(t, int64(6000e3), g.MaxNS)
	assert.Equal(t, 1, g.StillBlocked)
	assert.Equal(t, 2, g.MaxAtOnce)
	require.Len(t, g.Wakers, 1)
	assert.Equal(t, Waker{Name: "srv.feeder", TaskIDs: []uint32{5}, Count: 1, TotalNS: 5000e3}, g.Wakers[0])

	require.Len(t, r.Wakes, 1)
	e := r.Wakes[0]
	assert.Equal(t, "srv.feeder", e.Waker)
	assert.Equal(t, "srv.(*pool).worker", e.Woken, "named by the entry, before \" (created at \"")
	assert.Equal(t, locWorker, e.WokenLocation)
	assert.Equal(t, LatencyStats{Count: 1, P50NS: 20e3, P99NS: 20e3, MaxNS: 20e3}, e.Latency)
	assert.Equal(t, e.Latency, r.Latency.LatencyStats)
	require.Len(t, r.Latency.Worst, 1)
	assert.Equal(t, WorstWake{TS: 5010e3, Waker: "g5 srv.feeder", Woken: "g10 srv.(*pool).worker", Task: 10, LatencyNS: 20e3}, r.Latency.Worst[0])
	var hist int64
	for _, b := range r.Latency.Histogram {
		hist += b.Count
	}
	assert.Equal(t, int64(1), hist)

	var blocks []Block
	for b := range f.a.Blocks() {
		blocks = append(blocks, b)
	}
	require.Len(t, blocks, 2)
	assert.Equal(t, Block{Task: 10, Reason: "chan_receive", Frames: stk[1:], Start: 10e3, Last: 5010e3, Duration: 5000e3,
		Woken: true, Waker: 5}, blocks[0])
	assert.Equal(t, Block{Task: 11, Reason: "chan_receive", Frames: stk[1:], Start: 12e3, Last: 6012e3, Duration: 6000e3,
		StillBlocked: true}, blocks[1])
	assert.Equal(t, locWorker, f.a.Location(0, 10))

	require.Len(t, r.Workers, 2)
	assert.Equal(t, Worker{Worker: 0, BusyNS: 20e3, Polls: 2}, r.Workers[0])
	assert.Equal(t, Worker{Worker: 1, BusyNS: 12e3 + 6080e3, Polls: 2}, r.Workers[1])
}

func TestFindings(t *testing.T) {
	f := newFeed(t, Config{Stuck: time.Millisecond, HerdCount: 3, QueueGoroutines: 3, SlowWake: 100 * time.Microsecond})
	mu := []string{"[sync.Mutex.Lock]", "sync.(*Mutex).Lock sync/mutex.go:1", "main.work main.go:9"}
	f.add(format.Record{Code: format.CodeWorkerPark, TS: 0, Worker: 1}, nil, "")
	for g := uint32(20); g < 24; g++ {
		f.add(format.Record{Code: format.CodePollStart, TS: 0, Task: g}, nil, "main.work")
		f.add(format.Record{Code: format.CodePollEnd, TS: 1}, nil, "")
	}
	// g9 wakes 20, 21, 22 within 1ms (and 20 twice: counted once).
	for i, g := range []uint32{20, 20, 21, 22} {
		f.add(format.Record{Code: format.CodeWakeEvent, TS: 5000 + uint32(i)*10, Waker: 9, Task: g}, nil, "")
		f.add(format.Record{Code: format.CodeTaskPending, TS: 5000 + uint32(i)*10, Task: g, Duration: 4000}, mu, "")
	}
	// 20 runs 530µs after its first wake, while P1 is parked.
	f.add(format.Record{Code: format.CodePollStart, TS: 5530, Task: 20}, nil, "")
	f.add(format.Record{Code: format.CodePollEnd, TS: 5540}, nil, "")
	// 23, created during the records and never woken, blocks and never
	// runs again.
	f.add(format.Record{Code: format.CodeTaskSpawn, Task: 23}, nil, "main.work (created at main.main /src/main.go:3)")
	f.add(format.Record{Code: format.CodeTaskPending, TS: 6000, Task: 23, Duration: 5000}, mu, "")
	r := f.a.Report(10000e3)
	kinds := map[string]Finding{}
	for _, fd := range r.Findings {
		kinds[fd.Kind] = fd
	}
	// 21, 22 and 23 never ran again; 23 alone was never woken since its
	// creation: a strong suspect (a lock), the others are info.
	require.Contains(t, kinds, "suspect")
	assert.Equal(t, int64(23), kinds["suspect"].Numbers["task_id"])
	assert.Equal(t, int64(9000e3), kinds["suspect"].Numbers["blocked_ns"], "blocked from 1ms to the end at 10ms")
	assert.Equal(t, int64(1), kinds["suspect"].Numbers["goroutines"])
	assert.Contains(t, kinds["suspect"].Text, "g23 main.work created at main.go:3 suspect: blocked for 9.00ms in sync.Mutex.Lock at sync.(*Mutex).Lock")
	assert.Contains(t, kinds["suspect"].Text, "never woken since it was created at main.main /src/main.go:3")
	require.Len(t, r.Verdicts, 3)
	assert.Equal(t, 3, r.VerdictSummary.Suspect)
	assert.Equal(t, 1, r.VerdictSummary.Warnings)
	require.Contains(t, kinds, "herd")
	assert.Equal(t, int64(3), kinds["herd"].Numbers["woken"])
	require.Contains(t, kinds, "slow_wake")
	assert.Equal(t, int64(530e3), kinds["slow_wake"].Numbers["max_ns"])
	assert.Equal(t, int64(1), kinds["slow_wake"].Numbers["parked_workers"])
	// g9 was not running on a P: a P free and no thread ran g20. One slow
	// wake of 4, 530µs: info.
	assert.Equal(t, int64(1), kinds["slow_wake"].Numbers["free"])
	assert.Equal(t, int64(0), kinds["slow_wake"].Numbers["behind"])
	assert.Equal(t, "info", kinds["slow_wake"].Severity)
	require.Contains(t, kinds, "queue")
	assert.Equal(t, int64(4), kinds["queue"].Numbers["goroutines"])
}

func TestShortFunc(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/x/server.(*client).readLoop":          "server.(*client).readLoop",
		"main.main":                                       "main.main",
		"example.com/a/b.F[go.shape.int,example.com/c.T]": "b.F[go.shape.int,example.com/c.T]",
	} {
		assert.Equal(t, want, ShortFunc(in), in)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := New(Config{Stuck: -1})
	assert.Error(t, err)
	_, err = New(Config{WindowSet: true, WindowStart: 2, WindowEnd: 1})
	assert.Error(t, err)
}

// Real traces, checked against the facts their programs recorded.

func traceFile(name string) string { return filepath.Join("..", "testdata", "traces", name) }

func facts(t *testing.T, name string, v any) {
	b, err := os.ReadFile(traceFile(name + ".json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func analyzeTrace(t *testing.T, cfg Config, names ...string) (*Report, *Analyzer) {
	var paths []string
	for _, n := range names {
		paths = append(paths, traceFile(n))
	}
	ins, err := records.Expand(paths)
	require.NoError(t, err)
	r, a, err := Analyze(records.NewRun(ins, records.Options{Convert: convert.Config{Ignore: convert.SystemGoroutine}}), cfg)
	require.NoError(t, err)
	return r, a
}

func TestMutexTrace(t *testing.T) {
	var fx struct {
		Holder, Waiter uint32
		Func           string
		MeasuredWaitMS float64 `json:"measured_wait_ms"`
	}
	facts(t, "mutex", &fx)
	r, a := analyzeTrace(t, Config{}, "mutex.trace")
	var g *PendingGroup
	for i := range r.Pending {
		for _, f := range r.Pending[i].Frames {
			if strings.HasPrefix(f, fx.Func+" ") {
				g = &r.Pending[i]
			}
		}
	}
	require.NotNil(t, g, "a group with %s", fx.Func)
	assert.Equal(t, 1, g.Count)
	assert.InDelta(t, fx.MeasuredWaitMS*1e6, float64(g.MaxNS), 1e6)
	require.Len(t, g.Wakers, 1)
	assert.Equal(t, []uint32{fx.Holder}, g.Wakers[0].TaskIDs)
	assert.Equal(t, 0, g.StillBlocked)
	// The waiter's wake by the holder, and when it ran.
	found := false
	for _, w := range r.Latency.Worst {
		if w.Task == fx.Waiter {
			found = true
			assert.True(t, strings.HasPrefix(w.Waker, "g1 "), w.Waker)
		}
	}
	assert.True(t, found, "the waiter's wake-to-run latency is listed")
	assert.Equal(t, r.WakesTotal, r.Latency.Count, "every wake was followed by a run")

	var delay int64
	leafReasons := 0
	samples := a.PendingSamples()
	for _, s := range samples {
		delay += s.NS
		if strings.HasPrefix(s.Stack[0], "[") {
			leafReasons++
		}
		assert.NotEmpty(t, s.Waker)
	}
	assert.Equal(t, len(samples), leafReasons, "the wait reason is the leaf frame")
	var total int64
	for _, g := range r.Pending {
		total += g.TotalNS
	}
	assert.Equal(t, total, delay)
}

func TestPingPongTrace(t *testing.T) {
	var fx struct {
		A, B   uint32
		Rounds int64
	}
	facts(t, "pingpong", &fx)
	r, _ := analyzeTrace(t, Config{HerdCount: 3}, "pingpong.trace")
	var ab, ba int64
	for _, e := range r.Wakes {
		if e.WakerTasks == 1 && e.WokenTasks == 1 && e.Waker != "runtime" {
			switch e.Count {
			case fx.Rounds:
				if ab == 0 {
					ab = e.Count
				} else {
					ba = e.Count
				}
			}
		}
	}
	assert.Equal(t, fx.Rounds, ab, "A wakes B once per round: %+v", r.Wakes)
	assert.Equal(t, fx.Rounds, ba, "B wakes A once per round")
	for _, f := range r.Findings {
		assert.NotEqual(t, "herd", f.Kind, "waking one goroutine over and over is no herd: %s", f.Text)
	}
	assert.NotEmpty(t, r.Timeline.Wakes)
	assert.NotEmpty(t, r.Timeline.Polls)
	for _, p := range r.Timeline.Polls {
		assert.True(t, p.StartNS >= r.Timeline.StartNS && p.EndNS <= r.Timeline.EndNS && p.StartNS <= p.EndNS, "%+v", p)
	}
}

func TestPreblockedTrace(t *testing.T) {
	var fx struct {
		P3 struct {
			ID   uint32
			Func string
		}
	}
	facts(t, "preblocked", &fx)
	r, _ := analyzeTrace(t, Config{Stuck: 5 * time.Millisecond}, "preblocked.trace")
	// P3, blocked since before the records on a receive nobody sends
	// to, with no leak profile: a suspect, info only (a receive is how
	// service goroutines wait too).
	require.Len(t, r.Verdicts, 1, "%+v", r.Verdicts)
	v := r.Verdicts[0]
	assert.Equal(t, fx.P3.ID, v.TaskID)
	assert.Equal(t, VerdictSuspect, v.Verdict)
	assert.Equal(t, "info", v.Severity)
	assert.Equal(t, "chan receive", v.Reason)
	g := r.Pending[v.Group]
	assert.Equal(t, 1, g.StillBlocked)
	assert.True(t, strings.Contains(strings.Join(g.Frames, "\n"), fx.P3.Func+" "), g.Frames)
}

func TestFixedWindow(t *testing.T) {
	r, _ := analyzeTrace(t, Config{WindowSet: true, WindowStart: 5 * time.Millisecond, WindowEnd: 6 * time.Millisecond}, "pingpong.trace")
	assert.Equal(t, int64(5e6), r.Timeline.StartNS)
	assert.Equal(t, int64(6e6), r.Timeline.EndNS)
	for _, w := range r.Timeline.Wakes {
		assert.True(t, w.TS >= 5e6 && w.TS < 6e6)
	}
}

// TestSlowWakeCauses: a wake whose goroutine ran on the P it was woken
// onto, after the waker kept running there, is "behind"; one that ran
// elsewhere (or with its P idle) "free". A warning only when at least 1%
// of the wakes (and 10) waited 10 x -slow-wake or more.
func TestSlowWakeCauses(t *testing.T) {
	for _, tc := range []struct {
		name              string
		lat               uint32 // µs from wake to run
		runOn             uint8  // the P the woken goroutine runs on
		behind, free, big int64
		sev               string
		others            int // quick wakes beside the 12 slow ones
	}{
		{name: "behind, big, 12 of 12", lat: 15000, runOn: 0, behind: 12, big: 12, sev: "warning"},
		{name: "free, big, 12 of 12", lat: 15000, runOn: 2, free: 12, big: 12, sev: "warning"},
		{name: "behind, small", lat: 2000, runOn: 0, behind: 12, sev: "info"},
		{name: "big but rare: 12 of 1212", lat: 15000, runOn: 0, behind: 12, big: 12, sev: "info", others: 1200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeed(t, Config{})
			// P1 parked all along; the waker g9 runs on P0 throughout.
			f.add(format.Record{Code: format.CodeWorkerPark, TS: 0, Worker: 1}, nil, "")
			f.add(format.Record{Code: format.CodePollStart, TS: 1, Worker: 0, Task: 9}, nil, "main.waker")
			ts := uint32(10)
			for i := range 12 {
				g := uint32(100 + i)
				f.add(format.Record{Code: format.CodeWakeEvent, TS: ts, Waker: 9, Task: g, Worker: 0}, nil, "")
				// The woken goroutine runs lat later, on runOn (P0: after
				// the waker's poll there ends).
				if tc.runOn == 0 {
					f.add(format.Record{Code: format.CodePollEnd, TS: ts + tc.lat - 1, Worker: 0}, nil, "")
				}
				f.add(format.Record{Code: format.CodePollStart, TS: ts + tc.lat, Worker: tc.runOn, Task: g}, nil, "main.woken")
				f.add(format.Record{Code: format.CodePollEnd, TS: ts + tc.lat + 1, Worker: tc.runOn}, nil, "")
				if tc.runOn == 0 {
					f.add(format.Record{Code: format.CodePollStart, TS: ts + tc.lat + 2, Worker: 0, Task: 9}, nil, "main.waker")
				}
				ts += tc.lat + 10
			}
			for i := range tc.others {
				g := uint32(1000 + i)
				f.add(format.Record{Code: format.CodeWakeEvent, TS: ts, Waker: 9, Task: g, Worker: 0}, nil, "")
				f.add(format.Record{Code: format.CodePollStart, TS: ts + 1, Worker: 3, Task: g}, nil, "main.woken")
				f.add(format.Record{Code: format.CodePollEnd, TS: ts + 2, Worker: 3}, nil, "")
				ts += 10
			}
			r := f.a.Report(int64(ts+10) * 1000)
			sw := findingOf(t, r, "slow_wake")
			assert.Equal(t, int64(12), sw.Numbers["count"])
			assert.Equal(t, tc.behind, sw.Numbers["behind"])
			assert.Equal(t, tc.free, sw.Numbers["free"])
			assert.Equal(t, tc.big, sw.Numbers["over_10x"])
			assert.Equal(t, int64(12+tc.others), sw.Numbers["wakes"])
			assert.Equal(t, tc.sev, sw.Severity, sw.Text)
		})
	}
}

// TestLatencyByGroup: a pair's latency sums by the woken's block group,
// with more groups than addLatency searches in order (pairScan): one sum
// per group, each the sum of its wakes, listed once in the pair's groups.
func TestLatencyByGroup(t *testing.T) {
	f := newFeed(t, Config{})
	const groups, rounds = pairScan + 5, 3
	stk := func(g int) []string {
		return []string{"[chan_receive]", "runtime.chanrecv1 runtime/chan.go:1", fmt.Sprintf("main.work%d main.go:%d", g, g)}
	}
	stks := make([][]string, groups)
	for g := range stks {
		stks[g] = stk(g)
	}
	ts := uint32(100)
	want := map[int]int64{} // µs by group
	for r := range rounds {
		for g := range groups {
			lat := uint32(1 + g + 7*r)
			f.add(format.Record{Code: format.CodeWakeEvent, TS: ts, Waker: 5, Task: 10}, nil, "")
			f.add(format.Record{Code: format.CodeTaskPending, TS: ts, Task: 10, Duration: 50}, stks[g], "")
			f.add(format.Record{Code: format.CodePollStart, TS: ts + lat, Task: 10}, nil, "")
			f.add(format.Record{Code: format.CodePollEnd, TS: ts + lat + 1}, nil, "")
			want[g] += int64(lat)
			ts += 100
		}
	}
	a := f.a
	pi := a.pairs[[2]int32{a.task(0, 5), a.task(0, 10)}]
	p := a.pairL.at(pi)
	require.Len(t, p.groups, groups, "each group once")
	for _, pg := range p.groups {
		acc := a.latSum[latKey{pi, pg.group}]
		require.NotNil(t, acc)
		assert.Same(t, acc, pg.acc, "the pair's sum is latSum's")
		g := slices.IndexFunc(stks, func(s []string) bool { return a.group(s) == pg.group })
		assert.Equal(t, latAcc{n: rounds, us: want[g]}, *acc, "group %d", g)
	}
	assert.Len(t, a.latSum, groups)
}
