package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/records"
)

// analyzeTrace analyzes a bundled trace as `wakeshim report` does.
func analyzeTrace(t testing.TB, path string, cfg analyze.Config) (*analyze.Report, *analyze.Analyzer) {
	t.Helper()
	ins, err := records.Expand([]string{path})
	require.NoError(t, err)
	run := records.NewRun(ins, records.Options{Convert: convert.Config{Ignore: convert.SystemGoroutine}})
	rep, an, err := analyze.Analyze(run, cfg)
	require.NoError(t, err)
	return rep, an
}

// realReport analyzes a bundled trace as `wakeshim report -json` does.
func realReport(t *testing.T, path string, cfg analyze.Config) (*analyze.Report, []byte) {
	t.Helper()
	rep, _ := analyzeTrace(t, path, cfg)
	data, err := json.MarshalIndent(rep, "", "  ")
	require.NoError(t, err)
	return rep, data
}

func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// The page of a real report, one per bundled trace, shows what the report
// holds: every group (up to the cap), edge, bucket, P and poll of the
// window, with a clean console.
func TestBrowserRealReports(t *testing.T) {
	traces, err := filepath.Glob("../testdata/traces/*.trace")
	require.NoError(t, err)
	require.NotEmpty(t, traces)
	for _, path := range traces {
		name := strings.TrimSuffix(filepath.Base(path), ".trace")
		t.Run(name, func(t *testing.T) {
			if fi, err := os.Stat(path); err == nil && fi.Size() > 4<<20 {
				t.Skipf("%s: %d bytes, a generated benchmark trace; the bundled ones are enough here", path, fi.Size())
			}
			// A low -stuck, so that the short bundled traces have findings.
			rep, data := realReport(t, path, analyze.Config{Stuck: 10 * time.Millisecond})
			p := openPage(t, "real-"+name, data)
			s := p.shown()

			assert.Equal(t, commas(rep.Records), s.Cards["records"])
			assert.Equal(t, commas(rep.WakesTotal), s.Cards["wakes"])
			assert.Equal(t, commas(rep.PendingTotal), s.Cards["pending"])
			assert.Equal(t, commas(int64(len(rep.Pending))), s.Cards["groups"])
			assert.Equal(t, strconv.Itoa(len(rep.Findings)), s.Cards["findings"])
			assert.Len(t, s.Findings, len(rep.Findings))
			assert.Len(t, s.Pending, min(len(rep.Pending), 200))
			assert.Len(t, s.Wakes, min(len(rep.Wakes), 100))
			assert.Len(t, s.HistBars, len(rep.Latency.Histogram))
			for i, b := range rep.Latency.Histogram {
				assert.EqualValues(t, b.Count, s.HistBars[i], "bucket ≤%dns", b.LeNS)
			}
			assert.Len(t, s.Worst, min(len(rep.Latency.Worst), 50))
			assert.Len(t, s.Workers, len(rep.Workers))
			lanes := map[int]bool{}
			for _, w := range rep.Workers {
				lanes[w.Worker] = true
			}
			for _, pl := range rep.Timeline.Polls {
				lanes[pl.Worker] = true
			}
			for _, w := range rep.Timeline.Wakes {
				if w.TargetWorker >= 0 {
					lanes[w.TargetWorker] = true
				}
			}
			assert.Len(t, s.Lanes, len(lanes))
			assert.Len(t, s.Polls, min(len(rep.Timeline.Polls), 6000))
			inWindow := 0
			for _, w := range rep.Timeline.Wakes {
				if w.TS >= rep.Timeline.StartNS && w.TS <= rep.Timeline.EndNS {
					inWindow++
				}
			}
			assert.Len(t, s.Arrows, min(inWindow, 1500))
			for i, g := range rep.Pending[:min(len(rep.Pending), 200)] {
				assert.Equal(t, commas(int64(g.Count)), s.Pending[i][2], "group %d", i)
			}
			// Goroutines are named, not only numbered.
			for _, a := range s.Arrows {
				assert.NotRegexp(t, `^wake @\S+: g\d+ → g\d+\n`, a)
			}
			if len(rep.Pending) > 0 {
				// Every stack expands to its frames.
				p.do(chromedpClick(`#pending tbody tr.group`))
				p.waitFor(`document.querySelector("#pending tr.detail") !== null`)
				frames := evaluate[[]string](p, `[...document.querySelectorAll("#pending tr.detail ol.frames li")].map(li => li.textContent)`)
				assert.Equal(t, rep.Pending[0].Frames, frames)
			}
			p.screenshot("real-" + name)
			p.clean()
		})
	}
}
