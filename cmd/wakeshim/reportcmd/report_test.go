package reportcmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"go/build"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func trace(name string) string { return filepath.Join("..", "..", "..", "testdata", "traces", name) }

// The dumpdiff test program's records: two v9 segments of one run.
var progFiles = []string{
	filepath.Join("..", "dumpdiffcmd", "testdata", "prog.1.v9"),
	filepath.Join("..", "dumpdiffcmd", "testdata", "prog.2.v9"),
}

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = Run("report", args, &o, &e)
	return o.String(), e.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got)
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"prog.txt", progFiles},
		{"prog.wide.txt", append([]string{"-wide"}, progFiles...)},
		{"preblocked.txt", []string{"-stuck", "10ms", trace("preblocked.trace")}},
		{"mutex.json", []string{"-json", "-", trace("mutex.trace")}},
		{"prog.json", append([]string{"-json", "-", "-stuck", "5ms"}, progFiles...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCmd(t, append([]string{"-q"}, tc.args...)...)
			require.Equal(t, 0, code, stderr)
			assert.Empty(t, stderr)
			golden(t, tc.name, out)
		})
	}
}

// The text fits 100 columns unless -wide.
func TestWidth(t *testing.T) {
	for _, args := range [][]string{progFiles, {trace("preblocked.trace")}, {trace("pingpong.trace")}} {
		out, stderr, code := runCmd(t, append([]string{"-q"}, args...)...)
		require.Equal(t, 0, code, stderr)
		for _, l := range strings.Split(out, "\n") {
			assert.LessOrEqual(t, utf8.RuneCountInString(l), 100, l)
		}
	}
	out, _, _ := runCmd(t, append([]string{"-q", "-wide"}, progFiles...)...)
	assert.NotContains(t, out, "…", "-wide cuts nothing")
}

// Every documented field is in the JSON, and every JSON field is
// documented in docs/report.md.
func TestJSONDocumented(t *testing.T) {
	out, stderr, code := runCmd(t, append([]string{"-q", "-json", "-", "-stuck", "1ms", "-queue", "2", "-herd", "2"}, progFiles...)...)
	require.Equal(t, 0, code, stderr)
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "report.md"))
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	keys := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				keys[k] = true
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	var missing []string
	for k := range keys {
		if !regexp.MustCompile(`[{` + "`" + `, ]` + regexp.QuoteMeta(k) + `[}` + "`" + `,]`).Match(doc) {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	assert.Empty(t, missing, "fields not documented in docs/report.md")
	for _, k := range []string{"inputs", "span_ns", "records", "wakes_total", "pending_total", "pending", "reason", "frames",
		"count", "total_ns", "p50_ns", "p99_ns", "max_ns", "still_blocked", "wakers", "name", "task_ids", "wakes", "waker",
		"woken", "latency", "histogram", "le_ns", "worst", "ts_ns", "task_id", "latency_ns", "workers", "worker", "busy_ns",
		"parked_ns", "polls", "queue", "global_q", "findings", "kind", "severity", "text", "numbers", "timeline", "start_ns",
		"end_ns", "waker_task_id", "woken_task_id", "target_worker", "path", "bytes"} {
		assert.True(t, keys[k], "contract field %s missing", k)
	}
}

func TestPprof(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := runCmd(t, append([]string{"-q", "-pprof", dir}, progFiles...)...)
	require.Equal(t, 0, code, stderr)
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	for _, tc := range []struct{ file, want string }{
		{"pending.pb.gz", "main.consumer"},
		{"latency.pb.gz", "main.consumer"},
	} {
		cmd := exec.Command(goTool, "tool", "pprof", "-top", filepath.Join(dir, tc.file))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), tc.want, "%s", out)
		// -tagfocus by waker works on the pending profile.
		if tc.file == "pending.pb.gz" {
			out, err := exec.Command(goTool, "tool", "pprof", "-top", "-tagfocus", "waker=runtime", filepath.Join(dir, tc.file)).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "time.Sleep", "%s", out)
			assert.NotContains(t, string(out), "main.consumer", "%s", out)
		}
	}
}

func TestHTMLHook(t *testing.T) {
	var got []byte
	old := writeHTML
	t.Cleanup(func() { writeHTML = old })
	writeHTML = func(w io.Writer, data []byte) error {
		got = data
		_, err := w.Write([]byte("<html>"))
		return err
	}
	out := filepath.Join(t.TempDir(), "r.html")
	_, stderr, code := runCmd(t, append([]string{"-q", "-html", out}, progFiles...)...)
	require.Equal(t, 0, code, stderr)
	var r analyze.Report
	require.NoError(t, json.Unmarshal(got, &r), "the page gets the JSON document")
	assert.NotEmpty(t, r.Pending)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "<html>", string(b))

	writeHTML = func(io.Writer, []byte) error { return errors.New("boom") }
	_, stderr, code = runCmd(t, append([]string{"-q", "-html", out}, progFiles...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "-html "+out)
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	bin, err := os.ReadFile(progFiles[0])
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no input", nil, 2, "report: no input"},
		{"bad flag", []string{"-nope", progFiles[0]}, 2, "flag provided but not defined"},
		{"flag after input", []string{progFiles[0], "-wide"}, 2, "flags come first"},
		{"bad window", []string{"-window", "5ms", progFiles[0]}, 2, "-window \"5ms\": want START:END"},
		{"two stdouts", []string{"-json", "-", "-html", "-", progFiles[0]}, 2, "only one of them"},
		{"missing", []string{filepath.Join(dir, "nope.bin")}, 1, "nope.bin: no such file"},
		{"garbage", []string{write("g.bin", []byte("garbage!garbage!"))}, 1, "g.bin: not a v9 records file"},
		{"bad code", []string{write("c.bin", append(append([]byte{}, bin...), 77))}, 1, "c.bin: offset " + strconv.Itoa(len(bin)) + " (code 77): format: unknown record code"},
		{"bad jsonl", []string{write("j.jsonl", []byte("{\"event\":\"PollEnd\"}\n{oops\n"))}, 1, "j.jsonl: line 1"},
		{"bad trace", []string{write("t.trace", []byte("go 1.26 trace\x00\x00\x00garbage"))}, 1, "t.trace: bad execution trace"},
		{"truncated strict", []string{"-strict", write("s.bin", bin[:len(bin)-2])}, 1, "s.bin: offset "},
		{"empty dir", []string{t.TempDir()}, 1, "no records files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, tc.args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
	// A file cut short: read to its last whole record, with a warning.
	out, stderr, code := runCmd(t, write("cut.bin", bin[:len(bin)-2]), progFiles[1])
	assert.Equal(t, 0, code, stderr)
	assert.Regexp(t, `report: warning: .*cut.bin: offset \d+ .*truncated record.*; read to the last whole record`, stderr)
	assert.Contains(t, out, "WARNINGS (1)")
}

func TestHelp(t *testing.T) {
	_, stderr, code := runCmd(t, "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "usage: report [flags] INPUT...")
	assert.Contains(t, stderr, "-stuck")
}

// -html writes the page of package report, with the report inside.
func TestHTMLPage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.html")
	_, stderr, code := runCmd(t, append([]string{"-q", "-html", out}, progFiles...)...)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	// The page itself is package report's, tested in a browser there.
	assert.True(t, strings.Contains(strings.ToLower(string(b)), "<html"), "not a page")
	assert.True(t, strings.Contains(string(b), `"main.consumer `), "the report's data is not in the page")
}

// TestRootProfileOpens: the root-cause profile of the planted pipeline
// (c sleeps 20ms, then computes 10ms, four times) opens in go tool
// pprof, with the waits blamed on the timer and on c's CPU, and the root
// kind as a tag.
func TestRootProfileOpens(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := runCmd(t, "-q", "-pprof", dir, filepath.Join("..", "..", "..", "testdata", "traces", "chains-pipeline.trace"))
	require.Equal(t, 0, code, stderr)
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	prof := filepath.Join(dir, "roots.pb.gz")
	out, err := exec.Command(goTool, "tool", "pprof", "-top", prof).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Type: delay")
	assert.Regexp(t, `\[sleep\]`, string(out))
	assert.Regexp(t, `\[cpu\] main\.pipeline\.func1\.1 created at main\.go:\d+`, string(out), "an anonymous function named with its go statement")
	out, err = exec.Command(goTool, "tool", "pprof", "-tags", prof).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `root: Total`, string(out))
	assert.Regexp(t, `\): timer`, string(out))
	assert.Regexp(t, `\): cpu`, string(out))
	out, err = exec.Command(goTool, "tool", "pprof", "-top", "-tagfocus", "root=cpu", prof).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "main.pipeline.func1.1")
	assert.NotContains(t, string(out), "[sleep]")
}
