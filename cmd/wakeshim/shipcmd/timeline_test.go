package shipcmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/cmd/wakeshim/reportcmd"
	"github.com/wakeshim/wakeshim/internal/chserver"
)

// TestShipThenReportTimeline: httpload and nethttp shipped as instances
// a and b of web, 10s apart (-start); `report -from -json`'s timeline is
// the file report's of the instance with the most wakes in its window
// (a), on the fleet's time line (a starts it), with its instance;
// `-window` over b's window gives b's, moved by 10s; `-window-len` does
// not go with -from.
func TestShipThenReportTimeline(t *testing.T) {
	s := chserver.Start(t)
	url := s.URL("")
	dir := filepath.Join("..", "..", "..", "testdata", "shapes")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	files := map[string]string{"a": filepath.Join(dir, "httpload.trace"), "b": filepath.Join(dir, "nethttp.trace")}
	starts := map[string]time.Time{"a": t0, "b": t0.Add(10 * time.Second)}
	for _, inst := range []string{"a", "b"} {
		_, stderr, code := runCmd("-to", url, "-service", "web", "-instance", inst, "-start", starts[inst].Format(time.RFC3339Nano), files[inst])
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stderr, " 1 timelines")
	}
	timeline := func(args ...string) analyze.Timeline {
		t.Helper()
		var o, e bytes.Buffer
		require.Equal(t, 0, reportcmd.Run("wakeshim report", append([]string{"-q", "-json", "-"}, args...), &o, &e), e.String())
		var r struct {
			Timeline analyze.Timeline `json:"timeline"`
		}
		require.NoError(t, json.Unmarshal(o.Bytes(), &r))
		return r.Timeline
	}
	moved := func(tl analyze.Timeline, d int64, instance string) analyze.Timeline {
		tl.StartNS, tl.EndNS, tl.Instance = tl.StartNS+d, tl.EndNS+d, instance
		for i := range tl.Polls {
			tl.Polls[i].StartNS += d
			tl.Polls[i].EndNS += d
		}
		for i := range tl.Wakes {
			tl.Wakes[i].TS += d
		}
		return tl
	}
	a, b := timeline(files["a"]), timeline(files["b"])
	require.NotEmpty(t, a.Wakes)
	require.NotEmpty(t, b.Wakes)
	assert.Empty(t, a.Instance, "a file's timeline has no instance")
	got := timeline("-from", url, "-service", "web")
	assert.Equal(t, moved(a, 0, "a"), got)
	d := int64(10 * time.Second)
	w := fmt.Sprintf("%v:%v", time.Duration(d+b.StartNS+1000), time.Duration(d+b.StartNS+2000))
	assert.Equal(t, moved(b, d, "b"), timeline("-from", url, "-service", "web", "-window", w))

	var o, e bytes.Buffer
	assert.Equal(t, 2, reportcmd.Run("wakeshim report", []string{"-from", url, "-service", "web", "-window-len", "50ms"}, &o, &e))
	assert.Contains(t, e.String(), "-window-len does not go with -from")
}
