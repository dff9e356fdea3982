package attach_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/attach"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return b
}

// logs collects Config.Log lines, safe for the test to read afterwards.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) add(s string) { l.mu.Lock(); l.lines = append(l.lines, s); l.mu.Unlock() }
func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func quick(url, dir string, l *logs) attach.Config {
	return attach.Config{URL: url, Dir: dir, Window: attach.MinWindow, Timeout: 20 * time.Second,
		Retries: 2, Backoff: time.Millisecond, Log: l.add}
}

func TestRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	var l logs
	_, err = attach.Run(context.Background(), quick(addr, t.TempDir(), &l))
	var e *attach.Error
	require.ErrorAs(t, err, &e)
	assert.False(t, e.Transient, "a refused address before any window is permanent")
	assert.Contains(t, err.Error(), "http://"+addr+"/debug/pprof/trace?seconds=0.1")
	assert.Contains(t, err.Error(), "connection refused")
	assert.Empty(t, l.String(), "not retried")
}

func TestNotPprof(t *testing.T) {
	srv := httptest.NewServer(http.NewServeMux())
	defer srv.Close()
	var l logs
	_, err := attach.Run(context.Background(), quick(srv.URL, t.TempDir(), &l))
	require.ErrorIs(t, err, attach.ErrNotPprof)
	assert.Contains(t, err.Error(), srv.URL+"/debug/pprof/trace")
	assert.Contains(t, err.Error(), "404 Not Found")
}

func TestNotATrace(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!DOCTYPE html><html><body>a login page</body></html>")
	}))
	defer srv.Close()
	var l logs
	_, err := attach.Run(context.Background(), quick(srv.URL, t.TempDir(), &l))
	var e *attach.Error
	require.ErrorAs(t, err, &e)
	assert.False(t, e.Transient)
	assert.Contains(t, err.Error(), "not an execution trace")
}

// The real net/http/pprof handler while this process is already traced:
// the target answers 500, which is retried, then given up.
func TestTraceAlreadyRunning(t *testing.T) {
	require.NoError(t, trace.Start(io.Discard))
	defer trace.Stop()
	srv := httptest.NewServer(http.HandlerFunc(pprof.Trace))
	defer srv.Close()
	var l logs
	sum, err := attach.Run(context.Background(), quick(srv.URL+"/debug/pprof/", t.TempDir(), &l))
	require.ErrorIs(t, err, attach.ErrGaveUp)
	require.ErrorIs(t, err, attach.ErrTraceBusy)
	assert.Contains(t, err.Error(), "a trace is already running in the target")
	assert.Contains(t, err.Error(), "Could not enable tracing")
	assert.Equal(t, 3, sum.Failures, "the first try and two retries")
	assert.Equal(t, 2, strings.Count(l.String(), "retrying in"), l.String())
}

func TestUnauthorizedAndHeader(t *testing.T) {
	body := readTestdata(t, "testdata/pprofserver.trace")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	var l logs
	_, err := attach.Run(context.Background(), quick(srv.URL, t.TempDir(), &l))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401 Unauthorized: not allowed")

	cfg := quick(srv.URL, t.TempDir(), &l)
	cfg.Header = http.Header{"Authorization": {"Bearer s3cret"}}
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Progress = func(s attach.Summary) {
		if s.Complete > 0 {
			cancel() // one window is enough
		}
	}
	sum, err := attach.Run(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Complete)
	assert.Greater(t, sum.Records, int64(100))
}

// A window cut mid-way: the records of its complete generations are kept,
// the failure is retried, and a later window goes on in the same files.
func TestBodyCut(t *testing.T) {
	body := readTestdata(t, "../testdata/traces/flightrec.trace")
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			// Half the trace, then the connection drops.
			w.Header().Set("Content-Length", "51036")
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	var l logs
	cfg := quick(srv.URL, t.TempDir(), &l)
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Progress = func(s attach.Summary) {
		if s.Complete > 0 {
			cancel()
		}
	}
	sum, err := attach.Run(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Cut)
	assert.Equal(t, 1, sum.Complete)
	assert.Equal(t, 2, sum.Windows)
	assert.Contains(t, l.String(), "window cut after 25518 bytes")
	assert.Contains(t, l.String(), "the records of its complete part are kept")
	assert.Contains(t, l.String(), "retrying in")
	_, _, total := records(t, cfg.Dir)
	assert.Equal(t, sum.Records, int64(total))

	// The first, cut window alone made records.
	var l2 logs
	cfg = quick(srv.URL, t.TempDir(), &l2)
	cfg.Retries = -1
	n.Store(0)
	sum, err = attach.Run(context.Background(), cfg)
	require.ErrorIs(t, err, attach.ErrGaveUp)
	assert.Equal(t, 1, sum.Cut)
	assert.Greater(t, sum.Records, int64(50))
	_, _, total = records(t, cfg.Dir)
	assert.Equal(t, sum.Records, int64(total))
}

// A server that answers, sends part of the trace and hangs: the window is
// cut by the timeout, with what came kept.
func TestHungServer(t *testing.T) {
	body := readTestdata(t, "../testdata/traces/flightrec.trace")
	srv := hangingServer(t, body[:len(body)/2])
	var l logs
	cfg := quick(srv.URL, t.TempDir(), &l)
	cfg.Timeout = 300 * time.Millisecond
	cfg.Retries = -1
	sum, err := attach.Run(context.Background(), cfg)
	require.ErrorIs(t, err, attach.ErrGaveUp)
	assert.Contains(t, err.Error(), "(no answer within 400ms (timeout))")
	assert.Equal(t, 1, sum.Cut)
	assert.Greater(t, sum.Records, int64(50))
}

// A server that never answers at all.
func TestSilentServer(t *testing.T) {
	srv := hangingServer(t, nil)
	var l logs
	cfg := quick(srv.URL, t.TempDir(), &l)
	cfg.Timeout = 200 * time.Millisecond
	cfg.Retries = 1
	sum, err := attach.Run(context.Background(), cfg)
	require.ErrorIs(t, err, attach.ErrGaveUp)
	assert.Contains(t, err.Error(), srv.URL+"/debug/pprof/trace?seconds=0.1: no answer within 300ms (timeout)")
	assert.Equal(t, 2, sum.Failures)
	assert.Zero(t, sum.Records)
}

// Cut (a second interrupt) stops the window in progress at once, keeps
// what came and ends the run without an error.
func TestCut(t *testing.T) {
	body := readTestdata(t, "../testdata/traces/flightrec.trace")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	var l logs
	cfg := quick(srv.URL, t.TempDir(), &l)
	cfg.Window = time.Hour
	cut := make(chan struct{})
	cfg.Cut = cut
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	cfg.Progress = func(s attach.Summary) {
		if s.Events > 0 {
			once.Do(func() {
				cancel() // the first interrupt: the window would be finished...
				close(cut)
			})
		}
	}
	sum, err := attach.Run(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Cut)
	assert.Greater(t, sum.Records, int64(50))
	assert.Contains(t, l.String(), "window cut (interrupted)")
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  attach.Config
		want string
	}{
		{"no URL", attach.Config{Dir: "x"}, "no URL"},
		{"no dir", attach.Config{URL: "localhost:6060"}, "no Dir"},
		{"scheme", attach.Config{URL: "ftp://x", Dir: "x"}, "scheme"},
		{"query", attach.Config{URL: "http://x/?a=1", Dir: "x"}, "query"},
		{"window", attach.Config{URL: "x:1", Dir: "x", Window: time.Millisecond}, "Window"},
		{"every", attach.Config{URL: "x:1", Dir: "x", Window: 2 * time.Second, Every: time.Second}, "Every"},
		{"port", attach.Config{URL: "http://x:99999", Dir: "x"}, "port"},
		{"header", attach.Config{URL: "x:1", Dir: "x", Header: http.Header{"a b": {"c"}}}, "header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := attach.Run(context.Background(), tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// bodies is a RoundTripper serving fixed bodies, for the fuzzer: no
// network, no server.
type bodies struct {
	trace, dump []byte
	status      int
	cancel      func()
	n           atomic.Int32
}

func (b *bodies) RoundTrip(r *http.Request) (*http.Response, error) {
	body := b.trace
	if strings.Contains(r.URL.Path, "goroutine") {
		body = b.dump
	} else if b.n.Add(1) >= 2 {
		b.cancel() // two windows at most
	}
	return &http.Response{StatusCode: b.status, Status: http.StatusText(b.status), Header: http.Header{},
		Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

// FuzzResponse: nothing the server sends, as a trace body, a dump or a
// status, makes attach panic or write a file that does not decode.
func FuzzResponse(f *testing.F) {
	tr := readTestdata(f, "testdata/pprofserver.trace")
	d := readTestdata(f, "testdata/pprofserver.goroutines.txt")
	f.Add(tr, d, 200)
	f.Add(tr[:len(tr)/2], d[:len(d)/2], 200)
	f.Add(readTestdata(f, "../testdata/traces/pingpong.trace"), readTestdata(f, "../testdata/traces/preblocked.goroutines.debug2.txt"), 200)
	f.Add(readTestdata(f, "../testdata/traces/mutex.trace"), []byte("goroutine 1 [running]:\n"), 200)
	f.Add([]byte("Could not enable tracing: execution tracer already enabled\n"), d, 500)
	f.Add([]byte{}, []byte{}, 404)
	f.Fuzz(func(t *testing.T, trace, dump []byte, status int) {
		if status < 100 || status > 999 {
			status = 200
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// A hang is a failure too, with the stacks to show where.
		watchdog := time.AfterFunc(30*time.Second, func() {
			buf := make([]byte, 1<<20)
			panic("hung:\n" + string(buf[:runtime.Stack(buf, true)]))
		})
		defer watchdog.Stop()
		b := &bodies{trace: trace, dump: dump, status: status, cancel: cancel}
		dir := t.TempDir()
		cfg := attach.Config{URL: "http://target:6060", Dir: dir, Window: attach.MinWindow, Dumps: true, JSONL: true,
			Retries: 1, Backoff: time.Microsecond, Client: &http.Client{Transport: b}}
		sum, err := attach.Run(ctx, cfg)
		if err != nil {
			var e *attach.Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %v", err)
			}
			if !strings.Contains(err.Error(), "http://target:6060/debug/pprof/") {
				t.Fatalf("error without the URL: %v", err)
			}
		}
		_, _, total := records(t, dir)
		if int64(total) != sum.Records {
			t.Fatalf("%d records in the files, %d counted", total, sum.Records)
		}
	})
}

// A target whose clock runs back between windows is a new process (here:
// the same recorded window served twice): the first converter's blocks are
// closed and the records go on in a new file, both decodable.
func TestRestartedTarget(t *testing.T) {
	body := readTestdata(t, "testdata/pprofserver.trace")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	var l logs
	cfg := quick(srv.URL, t.TempDir(), &l)
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Progress = func(s attach.Summary) {
		if s.Complete >= 2 {
			cancel()
		}
	}
	sum, err := attach.Run(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Restarts)
	assert.Equal(t, 2, sum.Files)
	assert.Contains(t, l.String(), "the target seems to have restarted (its clock ran back)")
	_, _, total := records(t, cfg.Dir)
	assert.Equal(t, sum.Records, int64(total))
}

// hangingServer is a server that sends sent (with its headers; nothing at
// all if sent is empty) and then hangs until the request is given up or
// the test ends.
func hangingServer(t *testing.T, sent []byte) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(sent) > 0 {
			w.Write(sent)
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv
}

// TestLeakProfileFetched: the goroutineleak profile is fetched after a
// window at most once per LeakProfile and kept beside the records
// unchanged; a target that answers with something else is asked once and
// noted once.
func TestLeakProfileFetched(t *testing.T) {
	trace := readTestdata(t, "../testdata/leaks/out/etcd7443.trace")
	prof := readTestdata(t, "../testdata/leaks/out/etcd7443.leak.txt")
	for _, tc := range []struct {
		name  string
		body  []byte
		every time.Duration
		want  int // profiles kept, counted in the summary
		asked int32
		note  string
	}{
		{name: "once per interval", body: prof, every: time.Hour, want: 1, asked: 1},
		// The same trace served again looks like a restarted target: a new
		// records file each window, each with its profile.
		{name: "every window", body: prof, every: time.Nanosecond, want: 3, asked: 3},
		{name: "not a profile", body: []byte("<html>login</html>"), every: time.Nanosecond, asked: 1, note: "not a debug=2 goroutineleak profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/debug/pprof/trace":
					w.Write(trace)
				case "/debug/pprof/goroutineleak":
					asked.Add(1)
					assert.Equal(t, "2", r.URL.Query().Get("debug"))
					w.Write(tc.body)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			dir := t.TempDir()
			var l logs
			cfg := quick(srv.URL, dir, &l)
			cfg.LeakProfile = tc.every
			windows := 0
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg.Progress = func(s attach.Summary) {
				if windows = s.Complete; windows >= 3 {
					cancel()
				}
			}
			sum, err := attach.Run(ctx, cfg)
			require.NoError(t, err, l.String())
			require.Equal(t, 3, sum.Complete)
			assert.Equal(t, tc.asked, asked.Load())
			assert.Equal(t, tc.want, sum.LeakProfiles)
			kept, _ := filepath.Glob(filepath.Join(dir, "*.goroutineleak.txt"))
			require.Len(t, kept, tc.want)
			for _, k := range kept {
				assert.Equal(t, prof, readTestdata(t, k))
			}
			if tc.note != "" {
				assert.Equal(t, 1, strings.Count(l.String(), tc.note), l.String())
			}
		})
	}
}
