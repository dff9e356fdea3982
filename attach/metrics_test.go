package attach_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/attach"
)

func scrapeMetrics(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// TestAttachMetrics: attach -metrics serves the shim's metrics for its
// target (the real pprofserver program) while it runs, and closes the
// port when the run ends.
func TestAttachMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	addr, stop := server(t)
	defer stop()
	dir := t.TempDir()
	addrc := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		sum  attach.Summary
		err  error
		done = make(chan struct{})
		mu   sync.Mutex
		logs []string
	)
	go func() {
		defer close(done)
		sum, err = attach.Run(ctx, attach.Config{URL: addr, Dir: dir, Window: 500 * time.Millisecond, Metrics: "127.0.0.1:0",
			Log: func(msg string) {
				mu.Lock()
				logs = append(logs, msg)
				mu.Unlock()
				if a, ok := strings.CutPrefix(msg, "metrics at http://"); ok {
					addrc <- strings.TrimSuffix(a, "/metrics")
				}
			}})
	}()
	var maddr string
	select {
	case maddr = <-addrc:
	case <-time.After(60 * time.Second):
		t.Fatal("no metrics address logged within 60s")
	}
	url := "http://" + maddr + "/metrics"
	var wakes float64
	reasons := map[string]bool{}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		fams, err := scrapeMetrics(url)
		require.NoError(t, err)
		wakes = fams["wakeshim_wakes_total"].GetMetric()[0].GetCounter().GetValue()
		for _, m := range fams["wakeshim_wait_seconds"].GetMetric() {
			reasons[m.GetLabel()[0].GetValue()] = true
		}
		if wakes > 0 && reasons["sync.Mutex.Lock"] {
			break
		}
		require.True(t, time.Now().Before(deadline), "after 90s: %v wakes, reasons %v", wakes, reasons)
	}
	cancel()
	<-done
	require.NoError(t, err)
	t.Logf("scraped %v wakes, reasons %v; the run: %d windows, %d wakes", wakes, reasons, sum.Windows, sum.Wakes)
	assert.LessOrEqual(t, wakes, float64(sum.Wakes))
	// The port is closed with the run.
	if c, err := net.DialTimeout("tcp", maddr, 5*time.Second); err == nil {
		c.Close()
		t.Errorf("metrics port %s open after Run returned", maddr)
	}
}

// TestAttachMetricsPortInUse: a -metrics address in use is an error before
// any request.
func TestAttachMetricsPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	target := &countingHandler{}
	srv := http.Server{Handler: target}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(tl)
	defer srv.Close()
	_, err = attach.Run(context.Background(), attach.Config{URL: tl.Addr().String(), Dir: t.TempDir(), Metrics: ln.Addr().String(), For: time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
	assert.Contains(t, err.Error(), "Metrics")
	assert.Zero(t, target.n.Load(), "requests to the target")
}

// countingHandler counts the requests it is sent (and answers 404).
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.n.Add(1)
	http.NotFound(w, r)
}
