package prom_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/waitreason"
	"github.com/wakeshim/wakeshim/records"
	"github.com/wakeshim/wakeshim/shim"
	"github.com/wakeshim/wakeshim/shim/prom"
)

// scrape GETs url and parses the text exposition.
func scrape(url string) (map[string]*dto.MetricFamily, http.Header, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	return fams, resp.Header, err
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

//go:noinline
func metricsStuck(ch chan int) { <-ch }

//go:noinline
func metricsSleeper(stop chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-stop:
			return
		case <-time.After(3 * time.Millisecond):
		}
	}
}

// churn runs goroutine handoffs (trace events, wakes) until stop is closed.
func churn(stop chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	c := make(chan int)
	for {
		select {
		case <-stop:
			return
		default:
		}
		go func() { c <- 1 }()
		<-c
	}
}

// (These tests are here, not in package shim's, because they link
// Prometheus' client library, whose init would change the timing of the
// GC in the shim's end-to-end helper programs, the shim's test binary.)

// TestSessionMetrics runs a session with metrics=127.0.0.1:0 under a
// workload (channel handoffs, timer waits, a goroutine stuck for good),
// scrapes /metrics while it runs, then checks the last values against the
// files the session wrote, read back, and against the prometheus.Collector
// of shim/prom.
func TestSessionMetrics(t *testing.T) {
	dir := t.TempDir()
	var stderr syncBuf
	s, err := shim.Start(shim.Config{Dir: dir, Metrics: "127.0.0.1:0", Budget: -1, Interval: 100 * time.Millisecond,
		Sample: 200 * time.Millisecond, Stderr: &stderr})
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.Stop()
		}
	})
	addr := s.MetricsAddr()
	require.NotEmpty(t, addr)
	url := "http://" + addr + "/metrics"

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go churn(stop, &wg)
	go metricsSleeper(stop, &wg)
	stuck := make(chan int)
	go metricsStuck(stuck)

	// While it runs: the wait histogram has the sleep reason, the stuck
	// goroutine is blocked now, wakes are counted.
	var fams map[string]*dto.MetricFamily
	var hdr http.Header
	deadline := time.Now().Add(90 * time.Second)
	for {
		fams, hdr, err = scrape(url)
		require.NoError(t, err)
		ok := fams["wakeshim_wakes_total"].GetMetric()[0].GetCounter().GetValue() > 0
		sleep, blocked := false, false
		for _, m := range fams["wakeshim_wait_seconds"].GetMetric() {
			sleep = sleep || labelOf(m, "reason") == waitreason.Sleep && m.GetHistogram().GetSampleCount() > 0
		}
		for _, m := range fams["wakeshim_blocked_goroutines"].GetMetric() {
			blocked = blocked || strings.HasSuffix(labelOf(m, "entry"), ".metricsStuck") && m.GetGauge().GetValue() == 1
		}
		if ok && sleep && blocked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90s: wakes %v, sleep waits %v, stuck goroutine blocked now %v", ok, sleep, blocked)
		}
		time.Sleep(50 * time.Millisecond) // (polling for the condition)
	}
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", hdr.Get("Content-Type"))
	for _, name := range []string{"wakeshim_wait_seconds", "wakeshim_wake_latency_seconds", "wakeshim_wakes_total",
		"wakeshim_records_written_total", "wakeshim_records_dropped_total", "wakeshim_blocked_goroutines",
		"wakeshim_records_coverage_ratio", "wakeshim_records_covered_seconds_total", "wakeshim_trace_generations_lost_total"} {
		assert.Contains(t, fams, name)
	}
	for _, m := range fams["wakeshim_wait_seconds"].GetMetric() {
		r := labelOf(m, "reason")
		assert.True(t, r == "other" || slices.Contains(waitreason.All, r), "reason %q", r)
	}
	cov := fams["wakeshim_records_coverage_ratio"].GetMetric()[0].GetGauge().GetValue()
	assert.Greater(t, cov, 0.0)
	assert.LessOrEqual(t, cov, 1.0)
	// Not found, not allowed.
	resp, err := http.Get("http://" + addr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
	resp, err = http.Post(url, "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 405, resp.StatusCode)

	close(stop)
	wg.Wait()
	require.NoError(t, s.Stop())
	stopped = true
	close(stuck)
	t.Logf("stderr: %s", stderr.String())

	// Stop closed the listener.
	assert.Empty(t, s.MetricsAddr())
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		c.Close()
		t.Errorf("metrics listener %s still open after Stop", addr)
	}

	// The last values against the files.
	var buf bytes.Buffer
	require.NoError(t, s.WriteMetrics(&buf))
	p := expfmt.NewTextParser(model.UTF8Validation)
	last, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	ins, err := records.Expand([]string{dir})
	require.NoError(t, err)
	var counts [format.NumCodes]int64
	for ev, err := range records.NewRun(ins, records.Options{}).Events() {
		require.NoError(t, err)
		counts[ev.Code]++
	}
	st := s.Stats()
	t.Logf("%d records, %d wakes, %d TaskPending in %d file(s); %d generations lost", st.Convert.TotalRecords(),
		counts[format.CodeWakeEvent], counts[format.CodeTaskPending], st.Files, st.GensLost)
	for _, m := range last["wakeshim_records_written_total"].GetMetric() {
		name := labelOf(m, "record")
		for c := range format.Code(format.NumCodes) {
			if c.String() == name {
				assert.Equal(t, float64(counts[c]), m.GetCounter().GetValue(), "%s records", name)
				assert.Equal(t, float64(st.Convert.Records[c]), m.GetCounter().GetValue(), "%s records, by the converter", name)
			}
		}
	}
	assert.Equal(t, float64(counts[format.CodeWakeEvent]), last["wakeshim_wakes_total"].GetMetric()[0].GetCounter().GetValue())
	assert.Equal(t, float64(st.RecordsDropped), last["wakeshim_records_dropped_total"].GetMetric()[0].GetCounter().GetValue())
	for _, m := range last["wakeshim_trace_generations_lost_total"].GetMetric() {
		want := map[string]int64{"evicted": st.GensEvicted, "dropped": st.GensDropped, "skipped": st.GensSkipped, "failed": st.GensFailed}
		assert.Equal(t, float64(want[labelOf(m, "cause")]), m.GetCounter().GetValue())
	}

	// The same families through client_golang's registry (pedantic: the
	// descriptions and the metrics must agree).
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(prom.NewCollector(s)))
	gathered, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, gathered, len(last))
	for _, g := range gathered {
		w := last[g.GetName()]
		require.NotNil(t, w, g.GetName())
		assert.Equal(t, w.GetType(), g.GetType(), g.GetName())
		assert.Equal(t, w.GetHelp(), g.GetHelp(), g.GetName())
		require.Len(t, g.Metric, len(w.Metric), g.GetName())
		if g.GetName() == "wakeshim_records_coverage_ratio" {
			continue // (a share of the time since the start: it moves)
		}
		for _, gm := range g.Metric {
			var wm *dto.Metric
			for _, m := range w.Metric {
				if labelsEqual(m, gm) {
					wm = m
				}
			}
			require.NotNil(t, wm, "%s %v", g.GetName(), gm.Label)
			switch g.GetType() {
			case dto.MetricType_HISTOGRAM:
				assert.Equal(t, wm.GetHistogram().GetSampleCount(), gm.GetHistogram().GetSampleCount())
				assert.InDelta(t, wm.GetHistogram().GetSampleSum(), gm.GetHistogram().GetSampleSum(), 1e-9)
				for i, b := range gm.GetHistogram().GetBucket() {
					assert.Equal(t, wm.GetHistogram().GetBucket()[i].GetCumulativeCount(), b.GetCumulativeCount())
					assert.Equal(t, wm.GetHistogram().GetBucket()[i].GetUpperBound(), b.GetUpperBound())
				}
			case dto.MetricType_COUNTER:
				assert.Equal(t, wm.GetCounter().GetValue(), gm.GetCounter().GetValue(), g.GetName())
			case dto.MetricType_GAUGE:
				assert.Equal(t, wm.GetGauge().GetValue(), gm.GetGauge().GetValue(), g.GetName())
			}
		}
	}
	// And with no session running, NewCollector(nil) collects nothing.
	reg = prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(prom.NewCollector(nil)))
	gathered, err = reg.Gather()
	require.NoError(t, err)
	assert.Empty(t, gathered)
}

// labelsEqual compares two metrics' labels, in any order (client_golang
// sorts them by name; the text gives them in the family's order).
func labelsEqual(a, b *dto.Metric) bool {
	if len(a.Label) != len(b.Label) {
		return false
	}
	for _, l := range a.Label {
		if labelOf(b, l.GetName()) != l.GetValue() {
			return false
		}
	}
	return true
}

// TestMetricsPortInUse: a metrics address that cannot be listened on is
// reported once; the session runs on, writing its records.
func TestMetricsPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var stderr syncBuf
	s, err := shim.Start(shim.Config{Dir: t.TempDir(), Metrics: ln.Addr().String(), Stderr: &stderr, Interval: 100 * time.Millisecond})
	require.NoError(t, err)
	assert.Empty(t, s.MetricsAddr())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go churn(stop, &wg)
	for deadline := time.Now().Add(60 * time.Second); s.Stats().Convert.Records[format.CodeWakeEvent] == 0; time.Sleep(10 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "no wakes converted in 60s")
	}
	close(stop)
	wg.Wait()
	require.NoError(t, s.Stop())
	out := stderr.String()
	assert.Equal(t, 1, strings.Count(out, "wakeshim: metrics: "), "stderr: %s", out)
	assert.Contains(t, out, "address already in use")
	assert.Contains(t, out, ln.Addr().String())
	// The listener of the other is untouched.
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	c.Close()
	// The metrics are there all the same, for WriteMetrics.
	var buf bytes.Buffer
	require.NoError(t, s.WriteMetrics(&buf))
	assert.Contains(t, buf.String(), "wakeshim_wakes_total ")
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

//go:noinline
func leakedForever(ch chan int) { <-ch }

//go:noinline
func heldWaiter(ch chan int) { <-ch }

// TestLeakedMetric: with the goroutineleak profile (Go 1.27, or Go 1.26
// with GOEXPERIMENT=goroutineleakprofile), wakeshim_leaked_goroutines
// counts the goroutine blocked on a channel nothing else can reach, by
// entry function, and not the one blocked on a channel the test keeps;
// wakeshim_blocked_goroutines has the first as verdict="leaked", the
// second as "suspect" (never woken, on a channel the GC found reachable).
// Without the profile the family is absent, and both are suspects.
func TestLeakedMetric(t *testing.T) {
	s, err := shim.Start(shim.Config{Dir: t.TempDir(), LeakProfile: time.Second, Interval: 100 * time.Millisecond, Stderr: &syncBuf{}})
	require.NoError(t, err)
	defer s.Stop()
	go leakedForever(make(chan int))
	held := make(chan int)
	go heldWaiter(held)
	defer close(held)
	const pkg = "github.com/wakeshim/wakeshim/shim/prom_test."
	// leaked returns wakeshim_leaked_goroutines by entry (and whether the
	// family is there), and wakeshim_blocked_goroutines by verdict, then
	// entry.
	leaked := func() (map[string]float64, bool, map[string]map[string]float64) {
		var buf bytes.Buffer
		require.NoError(t, s.WriteMetrics(&buf))
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(&buf)
		require.NoError(t, err)
		f, ok := fams["wakeshim_leaked_goroutines"]
		m := map[string]float64{}
		for _, x := range f.GetMetric() {
			m[labelOf(x, "entry")] = x.GetGauge().GetValue()
		}
		bl := map[string]map[string]float64{}
		for _, x := range fams["wakeshim_blocked_goroutines"].GetMetric() {
			v := labelOf(x, "verdict")
			if bl[v] == nil {
				bl[v] = map[string]float64{}
			}
			bl[v][labelOf(x, "entry")] = x.GetGauge().GetValue()
		}
		return m, ok, bl
	}
	var bl map[string]map[string]float64
	if pprof.Lookup("goroutineleak") == nil {
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var ok bool
			_, ok, bl = leaked()
			require.False(t, ok, "no goroutineleak profile in %s, and yet the family", runtime.Version())
			if bl["suspect"][pkg+"leakedForever"] == 1 && bl["suspect"][pkg+"heldWaiter"] == 1 {
				break
			}
			require.True(t, time.Now().Before(deadline), "after 90s: blocked now %v", bl)
		}
		assert.Empty(t, bl["leaked"])
		return
	}
	var m map[string]float64
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var ok bool
		m, ok, bl = leaked()
		if ok && m[pkg+"leakedForever"] == 1 && bl["leaked"][pkg+"leakedForever"] == 1 && bl["suspect"][pkg+"heldWaiter"] == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "after 90s (%d profiles): leaked %v, blocked now %v", s.Stats().LeakProfiles, m, bl)
	}
	t.Logf("leaked by entry: %v; blocked now by verdict: %v (%d profiles)", m, bl, s.Stats().LeakProfiles)
	for e := range m {
		assert.NotContains(t, e, "heldWaiter")
	}
	assert.NotContains(t, bl["suspect"], pkg+"leakedForever")
	for e := range bl["leaked"] {
		assert.NotContains(t, e, "heldWaiter")
	}
}
