package shim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/wakeshim/wakeshim/internal/metrics"
	"github.com/wakeshim/wakeshim/shim/internal/bridge"
)

// The session's metrics (docs/fleet.md, "Prometheus"): what the records
// say, counted by the worker as it writes them (internal/metrics), served
// at http://Config.Metrics/metrics in the Prometheus text format, written
// by WriteMetrics, and as a prometheus.Collector by package shim/prom.
//
// The server is the smallest HTTP/1.1 that Prometheus and curl need (GET
// /metrics, one request per connection), on package net: net/http and
// Prometheus' client library would cost every program that imports
// shim/auto some 230 and 1,800 heap allocations at init even with the shim
// off (TestInitAllocs).

func init() { bridge.Families = sessionFamilies }

func sessionFamilies(v any) []metrics.Family {
	s, _ := v.(*Session)
	if s == nil {
		s = Current()
	}
	if s == nil {
		return nil
	}
	return s.families()
}

func (s *Session) families() []metrics.Family {
	st := s.Stats()
	return s.tracker.Families(metrics.Extra{GensLost: map[string]int64{
		"evicted": st.GensEvicted, "dropped": st.GensDropped, "skipped": st.GensSkipped, "failed": st.GensFailed}})
}

// WriteMetrics writes the session's metrics in the Prometheus text
// exposition format (version 0.0.4), as http://Config.Metrics/metrics
// serves them. Safe to call at any time, after Stop too (the last counts).
func (s *Session) WriteMetrics(w io.Writer) error {
	if s == nil {
		return nil
	}
	return metrics.WriteText(w, s.families())
}

// metricsServer serves /metrics on its listener until closed.
type metricsServer struct {
	s    *Session
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn map[net.Conn]bool
}

// metricsTimeout bounds the reading of a request and the writing of its
// answer.
const metricsTimeout = 10 * time.Second

// startMetrics listens on Config.Metrics. A listener that cannot be had (a
// port in use) is reported once; the session runs on without metrics.
func (s *Session) startMetrics() {
	if s.cfg.Metrics == "" {
		return
	}
	ln, err := net.Listen("tcp", s.cfg.Metrics)
	if err != nil {
		s.reportOnce("metrics", "metrics: %v; running without the metrics server", err)
		return
	}
	m := &metricsServer{s: s, ln: ln, conn: map[net.Conn]bool{}}
	s.metrics = m
	m.wg.Add(1)
	go m.serve()
}

// MetricsAddr returns the address the metrics server listens on ("" when
// none runs: Config.Metrics unset, the listener could not be had, or after
// Stop).
func (s *Session) MetricsAddr() string {
	if s == nil || s.metrics == nil || s.stopped.Load() {
		return ""
	}
	return s.metrics.ln.Addr().String()
}

// close closes the listener and the connections, and waits for its
// goroutines.
func (m *metricsServer) close() {
	m.ln.Close()
	m.mu.Lock()
	for c := range m.conn {
		c.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

func (m *metricsServer) serve() {
	defer m.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			m.s.recovered("metrics server", p)
		}
	}()
	m.s.registerSelf()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return // closed
		}
		m.mu.Lock()
		m.conn[c] = true
		m.mu.Unlock()
		m.wg.Add(1)
		go m.serveConn(c)
	}
}

// serveConn answers one request and closes the connection.
func (m *metricsServer) serveConn(c net.Conn) {
	defer m.wg.Done()
	defer func() {
		c.Close()
		m.mu.Lock()
		delete(m.conn, c)
		m.mu.Unlock()
	}()
	defer func() {
		if p := recover(); p != nil {
			m.s.recovered("metrics server", p)
		}
	}()
	c.SetDeadline(time.Now().Add(metricsTimeout))
	br := bufio.NewReaderSize(io.LimitReader(c, 16<<10), 4096)
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	for { // the headers: read to the blank line, ignored
		h, err := br.ReadString('\n')
		if err != nil {
			respond(c, "400 Bad Request", "text/plain; charset=utf-8", "request headers too long or cut short\n", false)
			return
		}
		if strings.TrimRight(h, "\r\n") == "" {
			break
		}
	}
	f := strings.Fields(line)
	if len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/1.") {
		respond(c, "400 Bad Request", "text/plain; charset=utf-8", "bad request line\n", false)
		return
	}
	method, target := f[0], f[1]
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if method != "GET" && method != "HEAD" {
		respond(c, "405 Method Not Allowed", "text/plain; charset=utf-8", "GET or HEAD only\n", false)
		return
	}
	if target != "/metrics" {
		respond(c, "404 Not Found", "text/plain; charset=utf-8", "wakeshim serves /metrics only\n", method == "HEAD")
		return
	}
	var body bytes.Buffer
	metrics.WriteText(&body, m.s.families())
	respond(c, "200 OK", metrics.TextContentType, body.String(), method == "HEAD")
}

func respond(c net.Conn, status, ctype, body string, head bool) {
	bw := bufio.NewWriter(c)
	fmt.Fprintf(bw, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", status, ctype, len(body))
	if !head {
		bw.WriteString(body)
	}
	bw.Flush()
}
