package attachcmd

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func run(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run("wakeshim attach", args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"-dir", "x"}, "want one URL"},
		{"no dir", []string{"localhost:6060"}, "-dir is required"},
		{"window", []string{"-dir", "x", "-window", "1ms", "localhost:6060"}, "-window must be at least"},
		{"every", []string{"-dir", "x", "-window", "5s", "-every", "1s", "localhost:6060"}, "-every 1s is shorter than -window 5s"},
		{"header", []string{"-dir", "x", "-header", "nocolon", "localhost:6060"}, "want K:V"},
		{"size", []string{"-dir", "x", "-maxfile", "12XB", "localhost:6060"}, "bad size unit"},
		{"metrics", []string{"-dir", "x", "-metrics", "9464", "localhost:6060"}, `-metrics "9464": want HOST:PORT`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(tc.args...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tc.want)
		})
	}
	code, _, stderr := run("-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "usage: wakeshim attach -dir DIR [flags] URL")
	assert.Contains(t, stderr, "-dumps")
	assert.True(t, strings.HasPrefix(Usage("x"), "usage: x "))
}

func TestMetricsPortInUseExits1(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	code, _, stderr := run("-q", "-dir", t.TempDir(), "-metrics", ln.Addr().String(), "127.0.0.1:1")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "wakeshim attach: attach: Metrics (-metrics): listen tcp "+ln.Addr().String())
	assert.Contains(t, stderr, "address already in use")
}

func TestRefusedExits1(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	code, _, stderr := run("-dir", t.TempDir(), addr)
	assert.Equal(t, 1, code)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	require.Len(t, lines, 2, stderr) // the summary, the error
	assert.Regexp(t, `^wakeshim attach: http://`+regexp.QuoteMeta(addr)+`/debug/pprof/trace\?seconds=5: cannot connect: .*connection refused$`, lines[1])
}

func TestNotPprofExits1(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	code, _, stderr := run("-dir", t.TempDir(), srv.URL)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "404 Not Found: no net/http/pprof handler here")
}

func TestSummaryLine(t *testing.T) {
	body, err := os.ReadFile("../../../attach/testdata/pprofserver.trace")
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/trace" {
			http.NotFound(w, r) // no goroutineleak profile: noted, not in the summary
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	dir := t.TempDir()
	code, _, stderr := run("-dir", dir, "-window", "100ms", "-every", "200ms", "-for", "250ms", "-jsonl", "-name", "my svc", srv.URL)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^wakeshim attach: http://127\.0\.0\.1:\d+/debug/pprof/goroutineleak\?debug=2: the target serves no goroutineleak profile .*\nwakeshim attach: http://127\.0\.0\.1:\d+/debug/pprof/ for \d.*: 1 windows \(0 cut short\), .* KB of trace -> \d+ records \(\d+ wakes, \d+ pending\) in 1 files \(.*my_svc-\d+-000001\.bin\), .*; coverage \d+\.\d% \(.* traced\)\n$`, stderr)
	m, _ := filepath.Glob(filepath.Join(dir, "my_svc-*-000001.*"))
	var kinds []string
	for _, name := range m {
		_, ext, _ := strings.Cut(filepath.Base(name), ".")
		kinds = append(kinds, ext)
	}
	// The records, their JSONL, and the trace's stop-the-world pauses.
	assert.ElementsMatch(t, []string{"bin", "jsonl", "pauses.txt"}, kinds)
}
