package shim_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// prometheusBinary returns Debian's prometheus (package prometheus); when
// it is missing the test fails under CI=true and is skipped otherwise.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("prometheus")
	if err != nil {
		if _, err2 := os.Stat("/usr/bin/prometheus"); err2 == nil {
			return "/usr/bin/prometheus"
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("prometheus not installed (Debian package prometheus; .ci/run installs it): %v", err)
		}
		t.Skipf("prometheus not installed (Debian package prometheus): %v", err)
	}
	return p
}

// freePort returns a loopback address with a port free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// startShimmed runs the helper "metrics" (the test binary with shim/auto,
// WAKESHIM=...,metrics=127.0.0.1:0) and returns its metrics address; it
// is stopped (stdin closed: the shim's Stop) at the end of the test.
func startShimmed(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=metrics", "WAKESHIM=dir="+dir+",metrics=127.0.0.1:0,interval=200ms")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	t.Cleanup(func() {
		stdin.Close()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("shimmed program: %v\nstderr: %s", err, stderr.String())
			}
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("shimmed program did not stop within 60s of its stdin closing")
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "METRICS "); ok {
				lines <- addr
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case addr := <-lines:
		return addr
	case <-time.After(60 * time.Second):
		t.Fatalf("the shimmed program did not say its metrics address within 60s; stderr: %s", stderr.String())
	}
	return ""
}

// startPrometheus runs prometheus on a free loopback port, its storage in
// a temp directory, scraping target every second; it returns its URL.
func startPrometheus(t *testing.T, target, rules string) string {
	t.Helper()
	bin := prometheusBinary(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: wakeshim
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: [%q]
`, rules, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	addr := freePort(t)
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("prometheus did not stop within 60s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	base := "http://" + addr
	waitFor(t, 60*time.Second, "prometheus ready", func() (bool, string) {
		select {
		case err := <-exited:
			t.Fatalf("prometheus exited: %v\n%s", err, out.String())
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return base
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v (%s)", what, d, why)
		}
		time.Sleep(100 * time.Millisecond) // (polling for the condition)
	}
}

// promSample is one series of an instant query's result.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query runs an instant query through Prometheus' HTTP API.
func query(base, q string) ([]promSample, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promSample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s: %s", q, r.Status, r.Error)
	}
	return r.Data.Result, nil
}

func (s promSample) value() float64 {
	str, _ := s.Value[1].(string)
	v, _ := strconv.ParseFloat(str, 64)
	return v
}

// TestPrometheusScrapesShim: Debian's Prometheus scrapes a shimmed program
// (WAKESHIM=...,metrics=ADDR) every second; through its query API the wait
// histogram has reason labels and the wake counter grows.
func TestPrometheusScrapesShim(t *testing.T) {
	prometheusBinary(t) // (skip before starting anything)
	target := startShimmed(t)
	rules, err := filepath.Abs("../docs/prometheus/wakeshim.rules.yml")
	require.NoError(t, err)
	base := startPrometheus(t, target, rules)

	var reasons []string
	waitFor(t, 90*time.Second, "wakeshim_wait_seconds_bucket with reason labels", func() (bool, string) {
		res, err := query(base, `wakeshim_wait_seconds_bucket{job="wakeshim"}`)
		if err != nil {
			return false, err.Error()
		}
		seen := map[string]bool{}
		reasons = reasons[:0]
		for _, s := range res {
			if r := s.Metric["reason"]; r != "" && !seen[r] {
				seen[r] = true
				reasons = append(reasons, r)
			}
		}
		return seen["sync.Mutex.Lock"] && seen["chan_receive"], fmt.Sprintf("%d series, reasons %v", len(res), reasons)
	})
	t.Logf("reasons: %v", reasons)

	var first float64
	waitFor(t, 60*time.Second, "wakeshim_wakes_total scraped", func() (bool, string) {
		res, err := query(base, `wakeshim_wakes_total{job="wakeshim"}`)
		if err != nil || len(res) != 1 {
			return false, fmt.Sprintf("%v, %d series", err, len(res))
		}
		first = res[0].value()
		return first > 0, fmt.Sprint(first)
	})
	var second float64
	waitFor(t, 60*time.Second, "wakeshim_wakes_total growing", func() (bool, string) {
		res, err := query(base, `wakeshim_wakes_total{job="wakeshim"}`)
		if err != nil || len(res) != 1 {
			return false, fmt.Sprintf("%v, %d series", err, len(res))
		}
		second = res[0].value()
		return second > first, fmt.Sprintf("%v then %v", first, second)
	})
	t.Logf("wakeshim_wakes_total: %v, then %v", first, second)

	// The goroutines blocked now, by verdict and entry function: the
	// ticker loop idle, the goroutine on a channel a global keeps suspect,
	// the one on a channel nothing else has leaked with the goroutineleak
	// profile (Go 1.27: the shim takes it at 10s, then every minute),
	// suspect without. The ticker loop is blocked now for part of each
	// period only: over the last minute.
	leakVerdict := "suspect"
	if pprof.Lookup("goroutineleak") != nil {
		leakVerdict = "leaked"
	}
	want := map[string]string{".idleTicker": "idle", ".heldForever": "suspect", ".stuckForever": leakVerdict}
	waitFor(t, 90*time.Second, "the blocked goroutines' verdicts in wakeshim_blocked_goroutines", func() (bool, string) {
		res, err := query(base, `max_over_time(wakeshim_blocked_goroutines{job="wakeshim"}[1m])`)
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		found := 0
		for _, s := range res {
			seen = append(seen, s.Metric["verdict"]+" "+s.Metric["entry"])
			for suffix, v := range want {
				if strings.HasSuffix(s.Metric["entry"], suffix) && s.Metric["verdict"] == v && s.value() >= 1 {
					found++
				}
			}
		}
		return found == len(want), fmt.Sprint(seen)
	})
	t.Logf("verdicts seen: %v (leaked with the goroutineleak profile: %v)", want, leakVerdict == "leaked")
	// Only the verdicts of the report, and no entry counted twice in one.
	res, err := query(base, `count by (verdict) (wakeshim_blocked_goroutines{job="wakeshim"})`)
	require.NoError(t, err)
	for _, s := range res {
		require.Contains(t, []string{"leaked", "idle", "suspect"}, s.Metric["verdict"])
		require.LessOrEqual(t, s.value(), 11.0, "the bound: 10 entries and other")
	}
	// The 7 rules of docs/prometheus/wakeshim.rules.yml load and evaluate
	// without error, and the recording rules have a value.
	waitFor(t, 60*time.Second, "the docs' rules evaluated", func() (bool, string) {
		resp, err := http.Get(base + "/api/v1/rules")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []struct {
						Name           string `json:"name"`
						Health         string `json:"health"`
						LastError      string `json:"lastError"`
						LastEvaluation string `json:"lastEvaluation"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return false, err.Error()
		}
		n := 0
		for _, g := range r.Data.Groups {
			for _, rule := range g.Rules {
				if rule.Health != "ok" {
					if rule.Health == "err" {
						t.Fatalf("rule %s: %s", rule.Name, rule.LastError)
					}
					return false, rule.Name + ": " + rule.Health
				}
				n++
			}
		}
		return n == 7, fmt.Sprintf("%d rules ok", n)
	})
	waitFor(t, 60*time.Second, "the recording rule's p99", func() (bool, string) {
		res, err := query(base, `job:wakeshim_wake_latency_seconds:p99_5m{job="wakeshim"}`)
		if err != nil {
			return false, err.Error()
		}
		return len(res) == 1, fmt.Sprintf("%d series", len(res))
	})
	waitFor(t, 60*time.Second, "the recording rule's suspects", func() (bool, string) {
		res, err := query(base, `job_verdict:wakeshim_blocked_goroutines:sum{job="wakeshim",verdict="suspect"}`)
		if err != nil {
			return false, err.Error()
		}
		return len(res) == 1 && res[0].value() >= 1, fmt.Sprintf("%v", res)
	})

	// A quantile over the scraped histogram, as a dashboard would ask.
	res, err = query(base, `histogram_quantile(0.99, sum by (le) (rate(wakeshim_wake_latency_seconds_bucket{job="wakeshim"}[10s])))`)
	require.NoError(t, err)
	require.Len(t, res, 1)
	t.Logf("p99 wake-to-run latency over 10s: %gs", res[0].value())
}

// lockedBuffer is a goroutine-safe bytes.Buffer (a child's stderr).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
