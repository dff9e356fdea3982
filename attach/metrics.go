package attach

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wakeshim/wakeshim/internal/metrics"
	"github.com/wakeshim/wakeshim/internal/metrics/promcoll"
)

// serveMetrics serves tr's metrics at http://addr/metrics (promhttp, a
// registry of their own) until stop is called.
func serveMetrics(addr string, tr *metrics.Tracker, log func(string)) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("attach: Metrics (-metrics): %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcoll.New(func() []metrics.Family { return tr.Families(metrics.Extra{}) }))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	log(fmt.Sprintf("metrics at http://%s/metrics", ln.Addr()))
	return func() {
		srv.Close()
		<-done
	}, nil
}
