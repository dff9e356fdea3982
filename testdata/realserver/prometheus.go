package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// promFacts is what Debian's Prometheus, scraping the server's shim
// (WAKESHIM=...,metrics=ADDR) every second, said through its query API
// during the load.
type promFacts struct {
	Version string   `json:"version"`
	Wakes   []int64  `json:"wakes_total"` // two queries, the second larger
	Reasons []string `json:"wait_reasons"`
	Blocked int      `json:"blocked_entries"`
	P99S    float64  `json:"p99_wake_latency_s"`
}

// prometheus is a running Prometheus with its storage in a temp dir.
type prometheus struct {
	base   string
	cmd    *exec.Cmd
	exited chan error
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startPrometheus runs bin scraping target every second.
func startPrometheus(bin, target, dir string) (*prometheus, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: nats\n    static_configs:\n      - targets: [%q]\n", target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	p := &prometheus{base: "http://" + addr, cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait(); log.Close() }()
	return p, nil
}

func (p *prometheus) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s promSample) value() float64 {
	v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
	return v
}

func (p *prometheus) query(q string) ([]promSample, error) {
	resp, err := http.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status, Error string
		Data          struct{ Result []promSample }
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, r.Error)
	}
	return r.Data.Result, nil
}

// watch asks Prometheus, until deadline, for the shim's wake counter (two
// values, the second larger), the wait histogram's reason labels, the
// blocked goroutines' entries and the p99 wake latency.
func (p *prometheus) watch(ctx context.Context, deadline time.Time) (promFacts, error) {
	var pf promFacts
	poll := func(what string, cond func() (bool, error)) error {
		for {
			ok, err := cond()
			if ok {
				return nil
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("prometheus: %s: not seen by the deadline (%v)", what, err)
			}
			select {
			case err := <-p.exited:
				return fmt.Errorf("prometheus exited: %v", err)
			case <-time.After(200 * time.Millisecond): // (polling for the condition)
			}
		}
	}
	wakes := func() (int64, error) {
		res, err := p.query(`wakeshim_wakes_total{job="nats"}`)
		if err != nil || len(res) != 1 {
			return 0, fmt.Errorf("%v, %d series", err, len(res))
		}
		return int64(res[0].value()), nil
	}
	if err := poll("wakeshim_wakes_total", func() (bool, error) {
		w, err := wakes()
		if w > 0 {
			pf.Wakes = []int64{w}
		}
		return w > 0, err
	}); err != nil {
		return pf, err
	}
	if err := poll("wakeshim_wakes_total growing", func() (bool, error) {
		w, err := wakes()
		if w > pf.Wakes[0] {
			pf.Wakes = append(pf.Wakes, w)
			return true, nil
		}
		return false, err
	}); err != nil {
		return pf, err
	}
	if err := poll("wakeshim_wait_seconds_bucket by reason", func() (bool, error) {
		res, err := p.query(`count by (reason) (wakeshim_wait_seconds_bucket{job="nats"})`)
		pf.Reasons = pf.Reasons[:0]
		for _, s := range res {
			pf.Reasons = append(pf.Reasons, s.Metric["reason"])
		}
		slices.Sort(pf.Reasons)
		return slices.Contains(pf.Reasons, "IO_wait"), err
	}); err != nil {
		return pf, err
	}
	if res, err := p.query(`sum by (entry) (wakeshim_blocked_goroutines{job="nats"})`); err == nil {
		pf.Blocked = len(res)
	}
	if res, err := p.query(`histogram_quantile(0.99, sum by (le) (rate(wakeshim_wake_latency_seconds_bucket{job="nats"}[5s])))`); err == nil && len(res) == 1 {
		pf.P99S = res[0].value()
	}
	return pf, nil
}
