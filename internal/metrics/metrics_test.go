package metrics_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/live"
	"github.com/wakeshim/wakeshim/internal/metrics"
	"github.com/wakeshim/wakeshim/internal/rotate"
	"github.com/wakeshim/wakeshim/internal/waitreason"
	"github.com/wakeshim/wakeshim/records"
	"github.com/wakeshim/wakeshim/tracewire"
)

// observe converts a trace as the shim does (the converter's live hooks,
// long blocks re-reported every step, the files rotated at maxFile) into
// files in a new directory, through a Tracker.
func observe(t testing.TB, trace string, maxFile int64, step time.Duration) (string, *metrics.Tracker) {
	t.Helper()
	dir := t.TempDir()
	files, err := rotate.New(dir, "t", 1, false, maxFile, 1<<40)
	require.NoError(t, err)
	tr := metrics.New(step)
	var lv live.Ops
	c, err := convert.New(convert.Config{Ignore: convert.SystemGoroutine, Live: &lv}, tr.Wrap(files))
	require.NoError(t, err)
	f, err := os.Open(trace)
	require.NoError(t, err)
	defer f.Close()
	rd, _, err := tracewire.NewReader(f, false)
	require.NoError(t, err)
	n := 0
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.NoError(t, lv.Consume(ev))
		if files.Full() {
			require.NoError(t, c.Rotate())
		}
		if n++; n%2000 == 0 {
			_, err := lv.Refresh(step, step)
			require.NoError(t, err)
			tr.Publish()
		}
	}
	require.NoError(t, c.Close())
	require.NoError(t, files.Close())
	tr.Publish()
	return dir, tr
}

// want is what the metrics should say, computed from the files the
// tracker's records went to, read back: the waits as package analyze folds
// them, the latencies and counts from the events themselves.
type want struct {
	records        [format.NumCodes]int64
	segments       int
	waitN, waitSum map[string]int64 // by reason label: ended waits, µs
	waitBuckets    map[string][]uint64
	latN, latSum   int64
	latBuckets     []uint64
	blocked        map[string]int64 // by entry
	verdicts       map[string]int64 // the blocked, by the report's verdict (deadlocked: suspect)
	rep            *analyze.Report
}

func compute(t *testing.T, dir string, waitBounds, latBounds []float64) want {
	t.Helper()
	ins, err := records.Expand([]string{dir})
	require.NoError(t, err)
	w := want{waitN: map[string]int64{}, waitSum: map[string]int64{}, waitBuckets: map[string][]uint64{},
		latBuckets: make([]uint64, len(latBounds)), blocked: map[string]int64{}, verdicts: map[string]int64{}}
	wakeAt := map[uint32]int64{}
	// Woken since it last ran: a goroutine still blocked at the end that
	// was woken is not blocked now (it waits for a P).
	wokenSinceRan := map[uint32]bool{}
	for ev, err := range records.NewRun(ins, records.Options{}).Events() {
		require.NoError(t, err)
		w.records[ev.Code]++
		w.segments = ev.Segment + 1
		switch ev.Code {
		case format.CodeWakeEvent:
			wokenSinceRan[ev.Task] = true
			if _, ok := wakeAt[ev.Task]; !ok {
				wakeAt[ev.Task] = ev.T
			}
		case format.CodePollStart:
			delete(wokenSinceRan, ev.Task)
			if at, ok := wakeAt[ev.Task]; ok {
				delete(wakeAt, ev.Task)
				us := (ev.T - at) / 1000
				w.latN++
				w.latSum += us
				for i, le := range latBounds {
					if float64(us)/1e6 <= le {
						w.latBuckets[i]++
					}
				}
			}
		}
	}
	rep, an, err := analyze.Analyze(records.NewRun(ins, records.Options{}), analyze.Config{KeepBlocks: true})
	require.NoError(t, err)
	w.rep = rep
	verdictOf := map[uint32]string{}
	for _, v := range rep.Verdicts {
		verdictOf[v.TaskID] = v.Verdict
	}
	for b := range an.Blocks() {
		if b.StillBlocked {
			if !wokenSinceRan[b.Task] {
				entry, ok := records.Entry(an.Location(b.Process, b.Task))
				if !ok {
					entry = ""
					for i := len(b.Frames) - 1; i >= 0; i-- {
						fn, _, _ := strings.Cut(b.Frames[i], " ")
						if fn != "runtime.goexit" && fn != "runtime.main" {
							entry = fn
							break
						}
					}
				}
				if entry == "" {
					entry = "unknown"
				}
				if b.Task == 1 {
					entry = "main.main" // (whatever g1 ran when first seen)
				}
				w.blocked[entry]++
				v := verdictOf[b.Task]
				if v == analyze.VerdictDeadlocked {
					v = analyze.VerdictSuspect // (a wake graph's verdict: suspect in the metrics)
				}
				w.verdicts[v]++
			}
			continue
		}
		r := b.Reason
		if !slices.Contains(waitreason.All, r) {
			r = metrics.OtherLabel
		}
		us := b.Duration / 1000
		w.waitN[r]++
		w.waitSum[r] += us
		if w.waitBuckets[r] == nil {
			w.waitBuckets[r] = make([]uint64, len(waitBounds))
		}
		for i, le := range waitBounds {
			if float64(us)/1e6 <= le {
				w.waitBuckets[r][i]++
			}
		}
	}
	return w
}

func family(fams []metrics.Family, name string) *metrics.Family {
	for i := range fams {
		if fams[i].Name == name {
			return &fams[i]
		}
	}
	return nil
}

// TestTrackerMatchesRecords converts real traces through a Tracker and
// checks every metric against what the records it saw say, read back from
// the files.
func TestTrackerMatchesRecords(t *testing.T) {
	for _, tc := range []struct {
		trace   string
		maxFile int64
		step    time.Duration
	}{
		{"../../testdata/realtraces/nats-server.trace", 64 << 10, 50 * time.Millisecond}, // many segments, re-reports
		{"../../testdata/realtraces/nats-server.trace", 64 << 20, 10 * time.Millisecond},
		{"../../testdata/traces/preblocked.trace", 64 << 20, 2 * time.Millisecond},
		{"../../testdata/traces/chains-mutex.trace", 64 << 20, time.Millisecond},
		{"../../testdata/leaks/out/etcd7443.trace", 64 << 20, time.Millisecond},
	} {
		t.Run(filepath.Base(tc.trace)+"/"+tc.step.String(), func(t *testing.T) {
			if _, err := os.Stat(tc.trace); err != nil {
				t.Fatalf("bundled trace missing: %v", err)
			}
			dir, tr := observe(t, tc.trace, tc.maxFile, tc.step)
			fams := tr.Families(metrics.Extra{})
			wait := family(fams, metrics.NameWait)
			require.NotNil(t, wait)
			var waitBounds []float64
			if len(wait.Metrics) > 0 {
				waitBounds = wait.Metrics[0].Hist.Bounds
			}
			lat := family(fams, metrics.NameLatency).Metrics[0].Hist
			w := compute(t, dir, waitBounds, lat.Bounds)
			t.Logf("%d records in %d file(s): %d wakes, %d TaskPending, %d wait(s) ended in %d reason(s), %d blocked at the end",
				w.rep.Records, w.segments, w.records[format.CodeWakeEvent], w.records[format.CodeTaskPending],
				sum(w.waitN), len(w.waitN), sum(w.blocked))
			require.Positive(t, w.records[format.CodeWakeEvent])
			require.NotEmpty(t, w.waitN, "the trace has waits")
			if tc.maxFile < 1<<20 {
				require.Greater(t, w.segments, 1, "the records span several files")
			}

			// Counters: every record written, by type; the wakes.
			wr := family(fams, metrics.NameWritten)
			for _, m := range wr.Metrics {
				var code format.Code
				for c := range format.Code(format.NumCodes) {
					if c.String() == m.Values[0] {
						code = c
					}
				}
				assert.Equal(t, float64(w.records[code]), m.Value, "records written %s", m.Values[0])
			}
			assert.Equal(t, float64(w.records[format.CodeWakeEvent]), family(fams, metrics.NameWakes).Metrics[0].Value)
			assert.Equal(t, 0.0, family(fams, metrics.NameDropped).Metrics[0].Value)

			// Waits by reason: count, sum and buckets of the waits that ended.
			got := map[string]*metrics.Histogram{}
			for _, m := range wait.Metrics {
				got[m.Values[0]] = m.Hist
			}
			assert.Len(t, got, len(w.waitN), "reasons")
			for r, n := range w.waitN {
				h := got[r]
				if !assert.NotNil(t, h, "reason %s", r) {
					continue
				}
				assert.Equal(t, uint64(n), h.Count, "waits of %s", r)
				assert.InDelta(t, float64(w.waitSum[r])/1e6, h.Sum, 1e-9, "wait time of %s", r)
				assert.Equal(t, w.waitBuckets[r], h.Cumulative, "buckets of %s", r)
			}
			// The analysis counts the same waits.
			var repWaits int64
			for _, g := range w.rep.Pending {
				repWaits += int64(g.Count - g.StillBlocked)
			}
			assert.Equal(t, repWaits, int64(sumHist(got)), "waits ended, by the report")

			// Wake-to-run latency.
			assert.Equal(t, uint64(w.latN), lat.Count)
			assert.Equal(t, w.rep.Latency.Count, int64(lat.Count), "latencies, by the report")
			assert.InDelta(t, float64(w.latSum)/1e6, lat.Sum, 1e-9)
			assert.Equal(t, w.latBuckets, lat.Cumulative)

			// Blocked now: the blocks still in progress at the end, by
			// entry and by verdict, the report's.
			bl := family(fams, metrics.NameBlocked)
			require.Equal(t, []string{"verdict", "entry"}, bl.Labels)
			gotBl, gotV := map[string]int64{}, map[string]int64{}
			for _, m := range bl.Metrics {
				gotV[m.Values[0]] += int64(m.Value)
				gotBl[m.Values[1]] += int64(m.Value)
			}
			t.Logf("blocked now by verdict: %v", gotV)
			assert.Equal(t, w.verdicts, gotV, "verdicts of the goroutines blocked now")
			if len(w.blocked) <= metrics.MaxEntries {
				assert.Equal(t, w.blocked, gotBl)
			} else {
				// At most MaxEntries entries of each verdict, the rest
				// as other.
				assert.LessOrEqual(t, len(bl.Metrics), len(metrics.Verdicts)*(metrics.MaxEntries+1))
				assert.Equal(t, sum(w.blocked), sum(gotBl))
				for e, n := range gotBl {
					if e != metrics.OtherLabel {
						assert.LessOrEqual(t, n, w.blocked[e], e)
					}
				}
			}

			// Coverage: the one window, first record to last.
			cov := family(fams, metrics.NameCovered).Metrics[0].Value
			assert.InDelta(t, float64(w.rep.SpanNS)/1e9, cov, 1e-3, "time covered")

			// The text exposition parses, with the same values.
			var buf bytes.Buffer
			require.NoError(t, metrics.WriteText(&buf, fams))
			parser := expfmt.NewTextParser(model.UTF8Validation)
			parsed, err := parser.TextToMetricFamilies(&buf)
			require.NoError(t, err)
			pw := parsed[metrics.NameWait]
			require.NotNil(t, pw)
			assert.Len(t, pw.Metric, len(w.waitN))
			for _, m := range pw.Metric {
				r := m.Label[0].GetValue()
				assert.Equal(t, uint64(w.waitN[r]), m.Histogram.GetSampleCount(), "parsed waits of %s", r)
			}
			assert.Equal(t, float64(w.records[format.CodeWakeEvent]), parsed[metrics.NameWakes].Metric[0].Counter.GetValue())
		})
	}
}

func sum[K comparable](m map[K]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func sumHist(m map[string]*metrics.Histogram) uint64 {
	var n uint64
	for _, h := range m {
		n += h.Count
	}
	return n
}

// BenchmarkConvertObserved is the converter's cost with and without a
// Tracker on its records (the real nats-server trace, files in a temp
// directory).
func BenchmarkConvertObserved(b *testing.B) {
	data, err := os.ReadFile("../../testdata/realtraces/nats-server.trace")
	require.NoError(b, err)
	for _, observed := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "tracked"}[observed], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				files, err := rotate.New(b.TempDir(), "t", 1, false, 64<<20, 1<<40)
				require.NoError(b, err)
				var out convert.Output = files
				var tr *metrics.Tracker
				if observed {
					tr = metrics.New(time.Second)
					out = tr.Wrap(files)
				}
				var lv live.Ops
				c, err := convert.New(convert.Config{Ignore: convert.SystemGoroutine, Live: &lv}, out)
				require.NoError(b, err)
				rd, _, err := tracewire.NewReader(bytes.NewReader(data), false)
				require.NoError(b, err)
				for {
					ev, err := rd.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					if err := lv.Consume(ev); err != nil {
						b.Fatal(err)
					}
				}
				require.NoError(b, c.Close())
				require.NoError(b, files.Close())
				if tr != nil {
					tr.Publish()
				}
			}
		})
	}
}

// BenchmarkTrackerRecords is the Tracker alone on the records of the real
// nats-server trace (37,000 records: 6,600 wakes, 2,200 TaskPending), fed
// as the converter gives them: ns/op per record.
func BenchmarkTrackerRecords(b *testing.B) {
	dir, _ := observe(b, "../../testdata/realtraces/nats-server.trace", 64<<20, 10*time.Millisecond)
	ins, err := records.Expand([]string{dir})
	require.NoError(b, err)
	var recs []format.Record
	for ev, err := range records.NewRun(ins, records.Options{}).Events() {
		require.NoError(b, err)
		r := ev.Record
		r.Frames = slices.Clone(r.Frames)
		recs = append(recs, r)
	}
	b.ResetTimer()
	for i := 0; i < b.N; {
		tr := metrics.New(10 * time.Millisecond)
		for j := range recs {
			tr.Record(&recs[j])
		}
		tr.Publish()
		i += len(recs)
	}
}

// TestTrackerGapsAndRestarts: a gap (a new trace window) forgets the wakes
// whose run is not in the records and counts the time covered window by
// window; a new process (attach's target restarted) forgets the blocks
// in progress; a block no longer re-reported is forgotten.
func TestTrackerGapsAndRestarts(t *testing.T) {
	tr := metrics.New(time.Second)
	rec := func(r format.Record) { tr.Record(&r) }
	value := func(name string) float64 {
		tr.Publish()
		f := family(tr.Families(metrics.Extra{}), name)
		if f == nil || len(f.Metrics) == 0 {
			return 0
		}
		if f.Metrics[0].Hist != nil {
			return float64(f.Metrics[0].Hist.Count)
		}
		var v float64
		for _, m := range f.Metrics {
			v += m.Value
		}
		return v
	}
	rec(format.Record{Code: format.CodeFrameDef, ID: 1, Str: "[chan_receive]"})
	rec(format.Record{Code: format.CodeFrameDef, ID: 2, Str: "main.worker /x/main.go:10"})
	// Window 1: 0..1s. g5 woken at 0.9s, its run only after a gap.
	rec(format.Record{Code: format.CodeQueueSample, TS: 0})
	rec(format.Record{Code: format.CodeWakeEvent, TS: 900_000, Task: 5})
	// g7 blocked for 2s by 1s (re-reported: in progress).
	rec(format.Record{Code: format.CodeTaskPending, TS: 1_000_000, Task: 7, Duration: 2_000_000, Frames: []uint16{1, 2}})
	assert.Equal(t, 1.0, value(metrics.NameBlocked))
	assert.InDelta(t, 1.0, value(metrics.NameCovered), 1e-9)
	tr.Gap()
	// Window 2: 5s..5.5s. g5 runs: no latency (its wake is before the gap).
	rec(format.Record{Code: format.CodePollStart, TS: 5_000_000, Task: 5})
	assert.Equal(t, 0.0, value(metrics.NameLatency))
	rec(format.Record{Code: format.CodeWakeEvent, TS: 5_100_000, Task: 5})
	rec(format.Record{Code: format.CodePollStart, TS: 5_100_050, Task: 5})
	assert.Equal(t, 1.0, value(metrics.NameLatency))
	// g7's block carried across the gap, re-reported, then ended.
	rec(format.Record{Code: format.CodeTaskPending, TS: 5_200_000, Task: 7, Duration: 6_200_000, Frames: []uint16{1, 2}})
	assert.Equal(t, 1.0, value(metrics.NameBlocked))
	rec(format.Record{Code: format.CodeWakeEvent, TS: 5_500_000, Task: 7})
	assert.Equal(t, 0.0, value(metrics.NameBlocked), "woken: no longer blocked now")
	rec(format.Record{Code: format.CodeTaskPending, TS: 5_500_000, Task: 7, Duration: 6_500_000, Frames: []uint16{1, 2}})
	rec(format.Record{Code: format.CodePollStart, TS: 5_500_010, Task: 7})
	tr.Publish()
	w := family(tr.Families(metrics.Extra{}), metrics.NameWait)
	require.Len(t, w.Metrics, 1)
	assert.Equal(t, []string{"chan_receive"}, w.Metrics[0].Values)
	assert.Equal(t, uint64(1), w.Metrics[0].Hist.Count, "one wait, re-reported twice")
	assert.InDelta(t, 6.5, w.Metrics[0].Hist.Sum, 1e-9)
	assert.InDelta(t, 1.50001, value(metrics.NameCovered), 1e-9, "1s, then 0.50001s (to the last record)")

	// g9 blocked, then its process restarts: forgotten, not observed.
	rec(format.Record{Code: format.CodeTaskPending, TS: 5_600_000, Task: 9, Duration: 3_000_000, Frames: []uint16{1, 2}})
	assert.Equal(t, 1.0, value(metrics.NameBlocked))
	tr.NewProcess()
	rec(format.Record{Code: format.CodeQueueSample, TS: 0})
	assert.Equal(t, 0.0, value(metrics.NameBlocked))
	assert.Equal(t, 1.0, value(metrics.NameWait), "the restart ends no wait")

	// g11 blocked and re-reported, then never again: forgotten 30s after
	// its next report was due (max(age/8, 1s)), not before.
	rec(format.Record{Code: format.CodeFrameDef, ID: 1, Str: "[select]"})
	rec(format.Record{Code: format.CodeTaskPending, TS: 1_000_000, Task: 11, Duration: 1_000_000, Frames: []uint16{1}})
	rec(format.Record{Code: format.CodeQueueSample, TS: 30_000_000})
	assert.Equal(t, 1.0, value(metrics.NameBlocked))
	rec(format.Record{Code: format.CodeQueueSample, TS: 34_000_000})
	assert.Equal(t, 0.0, value(metrics.NameBlocked))
}

// TestTrackerVerdicts plants goroutines blocked now of each kind and checks
// NameBlocked's verdict label against the report's verdicts on the same
// records (written to files as the shim does, read back by package
// analyze): idle by wait reason, by a service frame, woken before from the
// same wait, one of a pool, a wait here ended by the runtime; suspect for a
// lock whose other waiters got through, a nil channel, a wait never woken;
// leaked once a goroutineleak profile names it; at most MaxEntries entries
// of a verdict, the rest as other.
func TestTrackerVerdicts(t *testing.T) {
	dir := t.TempDir()
	files, err := rotate.New(dir, "t", 1, false, 64<<20, 1<<40)
	require.NoError(t, err)
	tr := metrics.New(time.Second)
	out := tr.Wrap(files)
	rec := func(r format.Record) { require.NoError(t, out.WriteRecord(&r)) }
	frames := map[string]uint16{}
	stack := func(fs ...string) []uint16 {
		var ids []uint16
		for _, f := range fs {
			id, ok := frames[f]
			if !ok {
				id = uint16(len(frames) + 1)
				frames[f] = id
				rec(format.Record{Code: format.CodeFrameDef, ID: id, Str: f})
			}
			ids = append(ids, id)
		}
		return ids
	}
	var ts uint32 = 10_000_000
	tick := func() uint32 { ts += 10; return ts }
	// block: goroutine g blocks for 2s at stack; woken (by waker) and run
	// after, or left blocked now.
	block := func(g uint32, st []uint16, wake bool, waker uint32) {
		if wake {
			rec(format.Record{Code: format.CodeWakeEvent, TS: tick(), Task: g, Waker: waker})
		}
		rec(format.Record{Code: format.CodeTaskPending, TS: tick(), Task: g, Duration: 2_000_000, Frames: st})
		if wake {
			rec(format.Record{Code: format.CodePollStart, TS: tick(), Task: g})
		}
	}
	rec(format.Record{Code: format.CodeQueueSample, TS: ts})
	// Idle by reason: IO wait.
	block(10, stack("[IO_wait]", "internal/poll.runtime_pollWait /go/netpoll.go:1", "main.conn /x/main.go:1"), false, 0)
	// Idle by frame: the signal loop's receive.
	block(11, stack("[chan_receive]", "os/signal.signal_recv /go/sig.go:1", "main.signals /x/main.go:2"), false, 0)
	// Idle: woken before from this same wait (by goroutine 99), blocked
	// there again (a new wait: it starts after the run).
	own := stack("[sync.Mutex.Lock]", "main.locker /x/main.go:3")
	block(12, own, true, 99)
	ts += 2_100_000
	block(12, own, false, 0)
	// Suspect: a lock others got through (not a pool: says nothing of this one).
	lock := stack("[sync.Mutex.Lock]", "main.queued /x/main.go:4")
	block(13, lock, true, 99)
	block(14, lock, false, 0)
	// Idle: one of a pool, another of which was woken from this receive.
	pool := stack("[chan_receive]", "main.poolWorker /x/main.go:5")
	block(15, pool, true, 99)
	block(16, pool, false, 0)
	// Idle: a wait here was ended by the runtime (a timer: waker 0).
	timer := stack("[select]", "main.timerLoop /x/main.go:6")
	block(17, timer, true, 0)
	block(18, timer, false, 0)
	// Suspect: a nil channel (the report's deadlocked).
	block(19, stack("[chan_receive_nil]", "main.nilWait /x/main.go:7"), false, 0)
	// Suspect, then leaked: never woken; and 12 more suspects, in 12 entries.
	block(20, stack("[chan_receive]", "main.stuck /x/main.go:8"), false, 0)
	for i := range uint32(12) {
		block(30+i, stack("[chan_send]", fmt.Sprintf("main.sender%02d /x/main.go:%d", i, 10+i)), false, 0)
	}
	// Woken, not run yet: no longer blocked now (and not judged).
	block(21, stack("[chan_receive]", "main.wokenNotRun /x/main.go:9"), false, 0)
	rec(format.Record{Code: format.CodeWakeEvent, TS: tick(), Task: 21, Waker: 99})
	require.NoError(t, out.Close())
	tr.Publish()

	blocked := func() (map[string]map[string]float64, int) {
		f := family(tr.Families(metrics.Extra{}), metrics.NameBlocked)
		require.Equal(t, []string{"verdict", "entry"}, f.Labels)
		m := map[string]map[string]float64{}
		for _, x := range f.Metrics {
			if m[x.Values[0]] == nil {
				m[x.Values[0]] = map[string]float64{}
			}
			m[x.Values[0]][x.Values[1]] = x.Value
		}
		return m, len(f.Metrics)
	}
	got, n := blocked()
	assert.Equal(t, map[string]float64{"main.conn": 1, "main.signals": 1, "main.locker": 1, "main.poolWorker": 1, "main.timerLoop": 1},
		got[analyze.VerdictIdle])
	sus := got[analyze.VerdictSuspect]
	assert.Len(t, sus, metrics.MaxEntries+1, "the 10 entries with the most, then other: %v", sus)
	var total float64
	for _, v := range sus {
		total += v
	}
	assert.Equal(t, 15.0, total, "queued, nilWait, stuck and the 12 senders")
	assert.Equal(t, 1.0, sus["main.queued"]) // (names sort first among equal counts)
	assert.Equal(t, 1.0, sus["main.nilWait"])
	assert.Equal(t, 5.0, sus[metrics.OtherLabel], "senders 08 to 11, stuck")
	assert.Nil(t, got[analyze.VerdictLeaked])
	assert.Equal(t, 5+metrics.MaxEntries+1, n)

	// The report's verdicts on the same records: the same counts.
	ins, err := records.Expand([]string{dir})
	require.NoError(t, err)
	rep, _, err := analyze.Analyze(records.NewRun(ins, records.Options{}), analyze.Config{KeepBlocks: true})
	require.NoError(t, err)
	byTask := map[uint32]string{}
	for _, v := range rep.Verdicts {
		byTask[v.TaskID] = v.Verdict
	}
	for _, g := range []uint32{10, 11, 12, 16, 18} {
		assert.Equal(t, analyze.VerdictIdle, byTask[g], "report on g%d", g)
	}
	for _, g := range []uint32{14, 20, 30, 41} {
		assert.Equal(t, analyze.VerdictSuspect, byTask[g], "report on g%d", g)
	}
	assert.Equal(t, analyze.VerdictDeadlocked, byTask[19], "report on g19, the nil channel")

	// A goroutineleak profile names g20 (and a goroutine the records do
	// not show blocked): leaked from the next Publish, no longer suspect.
	tr.SetLeaked(map[string]int64{"main.stuck": 1, "main.elsewhere": 1}, []uint64{20, 77})
	got, _ = blocked()
	assert.Nil(t, got[analyze.VerdictLeaked], "before Publish")
	tr.Publish()
	got, _ = blocked()
	assert.Equal(t, map[string]float64{"main.stuck": 1}, got[analyze.VerdictLeaked])
	total = 0
	for _, v := range got[analyze.VerdictSuspect] {
		total += v
	}
	assert.Equal(t, 14.0, total)
	lk := family(tr.Families(metrics.Extra{}), metrics.NameLeaked)
	require.NotNil(t, lk)
	assert.Len(t, lk.Metrics, 2, "the profile's own count, blocked now or not")
}
