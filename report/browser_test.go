package report

// These tests open the page in a real browser: Debian's chromium, headless,
// driven over the DevTools protocol by github.com/chromedp/chromedp. They
// check what the page shows, that clicking works, that the console stays
// clean and that the page asks the network for nothing.
//
// Where chromium is not installed they skip, except under CI (CI=true),
// where .ci/run installs it and a missing browser is a failure.
// -shots DIR keeps the pages and their screenshots for a look by eye.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	shotsDir = flag.String("shots", "", "keep each browser test's page and a screenshot in this directory")
	update   = flag.Bool("update", false, "rewrite the golden files")
)

// actionTimeout bounds one step in the browser: generous, for a busy
// 2-core machine where chromium starts slowly.
const actionTimeout = 60 * time.Second

// chromiumPath finds the browser, or skips (fails under CI) when there is none.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("WAKESHIM_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if lp, lerr := exec.LookPath("chromium"); lerr == nil && os.Getenv("WAKESHIM_CHROMIUM") == "" {
			return lp
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found at %s (%v): CI must install it (.ci/run does: apt-get install chromium)", path, err)
		}
		t.Skipf("chromium not found at %s: the page is not tested in a browser here; install it with `apt-get install chromium` (Debian) or set WAKESHIM_CHROMIUM", path)
	}
	return path
}

// page is one report page open in a tab of a fresh headless browser.
type page struct {
	t   *testing.T
	ctx context.Context // the tab's context; actions take a deadline from it

	mu       sync.Mutex
	problems []string // console errors and warnings, exceptions, network requests
}

// The package's tests share one browser (a fresh profile, removed by
// TestMain), each page in its own tab: starting chromium is the slow part.
var shared struct {
	once    sync.Once
	ctx     context.Context // the browser's context
	cancel  func()
	profile string
	err     error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	if shared.profile != "" {
		os.RemoveAll(shared.profile)
	}
	os.Exit(code)
}

// browser starts the shared browser once.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	shared.once.Do(func() {
		shared.profile, shared.err = os.MkdirTemp("", "wakeshim-chromium-")
		if shared.err != nil {
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(exe),
			chromedp.Headless,
			chromedp.NoSandbox, // root in CI containers
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.UserDataDir(shared.profile),
			// The machine has no network: keep chromium from trying.
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-domain-reliability", true),
			chromedp.Flag("no-pings", true),
			chromedp.WindowSize(1280, 1000),
		)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(allocCtx)
		shared.ctx, shared.cancel = ctx, func() { cancelCtx(); cancelAlloc() }
		// Starting the browser must not carry a deadline (it would stop the
		// browser when it expires), so a watchdog stops a start that hangs.
		watchdog := time.AfterFunc(2*actionTimeout, cancelCtx)
		shared.err = chromedp.Do(ctx)
		if !watchdog.Stop() && shared.err == nil {
			shared.err = errors.New("chromium took too long to start")
		}
	})
	require.NoError(t, shared.err, "starting chromium")
	return shared.ctx
}

// openPage writes the page for report and opens it in a new tab.
func openPage(t *testing.T, name string, report []byte) *page {
	t.Helper()
	bctx := browser(t)
	dir := t.TempDir()
	if *shotsDir != "" {
		require.NoError(t, os.MkdirAll(*shotsDir, 0o755))
		dir = *shotsDir
	}
	file := filepath.Join(dir, name+".html")
	var buf bytes.Buffer
	require.NoError(t, WriteHTML(&buf, report))
	require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o644))

	// A tab of its own, closed with the test. Opening it carries no
	// deadline either (it would close the tab), hence the watchdog.
	ctx, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	p := &page{t: t, ctx: ctx}
	watchdog := time.AfterFunc(actionTimeout, cancel)
	err := chromedp.Listen(ctx, p.listen)
	watchdog.Stop()
	require.NoError(t, err, "opening a tab")

	url := "file://" + file
	p.do(chromedp.Navigate(url))
	// The script marks the body when every section is drawn.
	p.do(chromedp.WaitReady(chromedp.CSS(`body[data-ready]`)))
	ready := evaluate[string](p, `document.body.dataset.ready`)
	require.Equal(t, "ok", ready, "every section drew without an error; problems: %v", p.problemList())
	return p
}

// listen runs in the tab's message loop: it only records.
func (p *page) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				var s string
				if a.Value != nil && json.Unmarshal(a.Value, &s) == nil {
					parts = append(parts, s)
				} else if a.Value != nil {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			problem = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		problem = fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
			problem = fmt.Sprintf("browser log (%s, %s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		u := ev.Request.URL
		if !strings.HasPrefix(u, "file:") && !strings.HasPrefix(u, "data:") && u != "about:blank" {
			problem = "network request: " + u
		}
	}
	if problem != "" {
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		p.mu.Unlock()
	}
}

func (p *page) problemList() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// clean asserts that the page wrote no error or warning to the console,
// threw nothing and fetched nothing. Run it after the interactions, with a
// round trip to the page first so that events sent before it are in.
func (p *page) clean() {
	p.t.Helper()
	evaluate[int](p, `1`)
	assert.Empty(p.t, p.problemList(), "console errors, exceptions or network requests")
}

func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, actions...))
}

func evaluate[T any](p *page, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	require.NoError(p.t, err, "evaluating %s", js)
	return v
}

// waitFor polls a JavaScript condition until it holds.
func (p *page) waitFor(js string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	// A timer, not requestAnimationFrame, which a background tab may throttle.
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(actionTimeout)))
	require.NoError(p.t, err, "waiting for %s", js)
}

func (p *page) screenshot(name string) []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(p.t, err)
	if *shotsDir != "" {
		require.NoError(p.t, os.WriteFile(filepath.Join(*shotsDir, name+".png"), png, 0o644))
		// The timeline alone, at full size, for a closer look.
		tl, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`#timeline`)))
		require.NoError(p.t, err)
		require.NoError(p.t, os.WriteFile(filepath.Join(*shotsDir, name+"-timeline.png"), tl, 0o644))
	}
	return png
}

// shown is what the page shows, read from the DOM by the script below:
// the golden file holds it for the fixture, so a change in what a reader
// sees shows up in review.
type shown struct {
	Cards     map[string]string `json:"cards"`
	Inputs    string            `json:"inputs"`
	Findings  []string          `json:"findings"`
	Warnings  []string          `json:"warnings"`
	Threshold string            `json:"thresholds"`
	Pending   [][]string        `json:"pending"`
	Wakes     [][]string        `json:"wakes"`
	Graph     []string          `json:"graph"`
	Latency   string            `json:"latency"`
	HistBars  []int             `json:"hist_bars"`
	HistTexts []string          `json:"hist_labels"`
	Worst     [][]string        `json:"worst"`
	Workers   [][]string        `json:"workers"`
	Queue     int               `json:"queue_paths"`
	Lanes     []string          `json:"lanes"`
	Polls     []string          `json:"polls"`
	Arrows    []string          `json:"arrows"`
	TLInfo    string            `json:"timeline_info"`
	Empty     []string          `json:"empty"`
	Notes     []string          `json:"notes"`
}

const readShown = `(() => {
  const all = (s, root) => [...(root || document).querySelectorAll(s)];
  const txt = e => e.textContent.replace(/\s+/g, " ").trim();
  const rows = s => all(s).map(tr => all("td", tr).map(txt));
  return {
    cards: Object.fromEntries(all("#summary .card").map(c => [c.dataset.k, txt(c.querySelector(".v"))])),
    inputs: txt(document.getElementById("inputs")),
    findings: all("#findings li.finding").map(li => [...li.children].map(c => c.classList.contains("nums") ? [...c.children].map(txt).join(", ") : txt(c)).join(" | ")),
    warnings: all("#warnings li").map(txt),
    thresholds: txt(document.querySelector("#findings .thresholds") || document.createElement("p")),
    pending: rows("#pending tbody tr.group"),
    wakes: rows("#wakes table.wakes-table tbody tr"),
    graph: all("#wakes svg.wake-graph path.edge title").map(txt),
    latency: txt(document.querySelector("#latency .lat-summary") || document.createElement("p")),
    hist_bars: all("#latency svg.histogram rect.hbar").map(r => +r.dataset.count),
    hist_labels: all("#latency svg.histogram > text").map(txt),
    worst: rows("#latency table.worst-table tbody tr"),
    workers: rows("#workers table.workers-table tbody tr"),
    queue_paths: all("#workers svg.queue path.qline").length,
    lanes: all("#timeline .lane-label").map(txt),
    polls: all("#timeline rect.poll title").map(txt),
    arrows: all("#timeline path.wake title").map(txt),
    timeline_info: txt(document.querySelector("#timeline .tl-info") || document.createElement("p")),
    empty: all(".empty").map(e => e.closest("section").id + ": " + txt(e)),
    notes: all("section .note").map(txt).filter(s => s.startsWith("showing")),
  };
})()`

func (p *page) shown() shown {
	return evaluate[shown](p, readShown)
}

func TestBrowserFixture(t *testing.T) {
	report, err := os.ReadFile("testdata/fixture.json")
	require.NoError(t, err)
	p := openPage(t, "fixture", report)
	s := p.shown()

	// The golden holds everything the page shows at first.
	got, err := json.MarshalIndent(s, "", "  ")
	require.NoError(t, err)
	golden := "testdata/fixture.shown.json"
	if *update {
		require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -run TestBrowserFixture -update")
	assert.JSONEq(t, string(want), string(got), "what the page shows changed: check it, then -update")

	// And the key facts, spelled out so that -update cannot bless them away.
	assert.Equal(t, "52.4ms", s.Cards["span"])
	assert.Equal(t, "1,873", s.Cards["records"])
	assert.Equal(t, "412", s.Cards["wakes"])
	assert.Equal(t, "57", s.Cards["pending"])
	assert.Equal(t, "4", s.Cards["groups"])
	assert.Equal(t, "2", s.Cards["still"])
	assert.Equal(t, "17µs", s.Cards["lat-p50"])
	assert.Equal(t, "520µs", s.Cards["lat-p99"])
	assert.Equal(t, "3", s.Cards["findings"])
	assert.Contains(t, s.Inputs, "testdata/traces/app.trace (trace, 183 KB)")
	require.Len(t, s.Findings, 3)
	assert.Equal(t, "warning | stuck | 2 goroutines in main.stuck were still blocked (select) when the records end, after 52.1ms: leak or deadlock suspects. | show group | task_id 31, blocked_ns 52.1ms, since_ns @300µs, goroutines 2, group 2", s.Findings[0])
	assert.Equal(t, []string{"testdata/traces/app.2.bin: cut short at byte offset 4096: read to its last whole record"}, s.Warnings)
	assert.Equal(t, "Thresholds: stuck ≥ 1s, herd ≥ 10 wakes in 1ms, slow wake ≥ 1ms, queue ≥ 5 goroutines.", s.Threshold)

	// Pending: sorted by total time, the stuck select first.
	require.Len(t, s.Pending, 4)
	assert.Equal(t, []string{"select", "main.stuck (+1)", "2", "2", "104ms", "52ms", "52.1ms", "52.1ms", "2", "–"}, s.Pending[0])
	assert.Equal(t, "sync.Mutex.Lock", s.Pending[1][0])
	assert.Equal(t, "main.(*cache).get (+3)", s.Pending[1][1])

	assert.Len(t, s.Wakes, 4)
	assert.Equal(t, "210", s.Wakes[0][2])
	assert.Len(t, s.Graph, 4)
	assert.Equal(t, []int{12, 20, 31, 58, 80, 97, 52, 28, 14, 10, 5, 1, 1}, s.HistBars)
	assert.Len(t, s.Worst, 2)
	assert.Len(t, s.Workers, 2)
	assert.Equal(t, 1, s.Queue)
	assert.Equal(t, []string{"P0", "P1"}, s.Lanes)
	assert.Len(t, s.Polls, 7)
	assert.Len(t, s.Arrows, 4)
	assert.Contains(t, s.Arrows[0], "g1 main.main → g9 main.worker")
	assert.Contains(t, s.Arrows[0], "ran @5.5ms on P0, 2.4ms after the wake")
	assert.Contains(t, s.Arrows[3], "waker not on a P")
	assert.Empty(t, s.Empty, "no section of the fixture is empty")

	// The hostile frame is shown as text, not run.
	assert.Equal(t, 1, evaluate[int](p, `document.querySelectorAll("script").length - 1`), "only the page's own script runs (plus the data element)")

	// Expanding a group shows its frames and its wakers.
	p.do(chromedp.Click(chromedp.CSS(`#pending tbody tr.group[data-i="0"]`))) // the mutex group, the report's first
	p.waitFor(`document.querySelectorAll("#pending tr.detail").length === 1`)
	frames := evaluate[[]string](p, `[...document.querySelectorAll("#pending tr.detail .frames")].map(e => e.tagName == "OL" ? [...e.children].map(li => li.textContent) : [e.textContent]).flat()`)
	assert.Equal(t, []string{
		"[sync.Mutex.Lock] blocked in:",
		"sync.(*Mutex).Lock sync/mutex.go:46",
		"main.(*cache).get example.com/app/cache.go:88",
		"main.handle example.com/app/main.go:120",
		"main.serve.func1 example.com/app/main.go:64",
	}, frames)
	wakers := evaluate[[]string](p, `[...document.querySelectorAll("#pending tr.detail li.waker")].map(li => li.textContent)`)
	assert.Equal(t, []string{"×29 main.serve.func1 (main.serve main.go:60) (38.5ms) — g18, g19, g21, g22, g23", "×2 main.refresh (2.66ms) — g7"}, wakers)
	assert.Equal(t, "5 goroutines · at most 4 blocked at once", evaluate[string](p, `document.querySelector("#pending tr.detail .facts").textContent`))
	// The hostile stack's frame, expanded from its finding's link, is text.
	p.do(chromedp.Click(chromedp.CSS(`#findings li.finding a.goto-group`)))
	p.waitFor(`document.querySelectorAll("#pending tr.detail").length === 2`)
	assert.Contains(t, evaluate[string](p, `document.querySelector("#pending").textContent`),
		"main.stuck example.com/app/</script><script>alert(1)</script>.go:12")
	p.screenshot("fixture")

	// Sorting by count, then again for ascending; the open rows stay open.
	p.do(chromedp.Click(chromedp.CSS(`#pending th[data-col="count"]`)))
	p.waitFor(`document.querySelector("#pending th[data-col=count]").classList.contains("sorted-desc")`)
	counts := evaluate[[]string](p, `[...document.querySelectorAll("#pending tbody tr.group td:nth-child(3)")].map(td => td.textContent)`)
	assert.Equal(t, []string{"31", "18", "6", "2"}, counts)
	assert.Equal(t, 2, evaluate[int](p, `document.querySelectorAll("#pending tr.detail").length`))
	p.do(chromedp.Click(chromedp.CSS(`#pending th[data-col="count"]`)))
	p.waitFor(`document.querySelector("#pending th[data-col=count]").classList.contains("sorted-asc")`)
	counts = evaluate[[]string](p, `[...document.querySelectorAll("#pending tbody tr.group td:nth-child(3)")].map(td => td.textContent)`)
	assert.Equal(t, []string{"2", "6", "18", "31"}, counts)

	// Filtering.
	p.do(chromedp.SendKeys(chromedp.CSS(`#pending input.filter`), "worker.go"))
	p.waitFor(`document.querySelectorAll("#pending tbody tr.group").length === 1`)
	assert.Equal(t, "chan receive", evaluate[string](p, `document.querySelector("#pending tbody tr.group td").textContent`))

	// The timeline zooms to a worst case from its link, and back.
	p.do(chromedp.Click(chromedp.CSS(`#latency table.worst-table tbody tr:nth-child(2) a.goto`))) // 910µs at 4.05ms
	p.waitFor(`document.querySelector("#timeline input[aria-label='window start']").value !== "3ms"`)
	start := evaluate[string](p, `document.querySelector("#timeline input[aria-label='window start']").value`)
	assert.NotEqual(t, "3ms", start)
	p.do(chromedp.Click(chromedp.CSS(`#timeline button:nth-of-type(3)`)))
	p.waitFor(`document.querySelector("#timeline input[aria-label='window start']").value === "3ms"`)

	// Dragging across the chart zooms into the dragged span.
	evaluate[bool](p, `document.querySelector("#timeline svg.timeline-svg").scrollIntoView(), true`)
	box := evaluate[map[string]float64](p, `(() => { const r = document.querySelector("#timeline svg.timeline-svg").getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; })()`)
	y := box["y"] + box["h"]/2
	x0, x1 := box["x"]+box["w"]*0.30, box["x"]+box["w"]*0.55
	p.do(
		chromedp.MouseEvent(chromedp.MousePressed, x0, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, (x0+x1)/2, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, x1, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, x1, y, chromedp.ButtonLeft),
	)
	p.waitFor(`document.querySelector("#timeline input[aria-label='window start']").value !== "3ms"`)
	zoomed := p.shown()
	assert.Less(t, len(zoomed.Polls), len(s.Polls), "a narrower window draws fewer polls")
	p.clean()
}

func TestBrowserEmptyReport(t *testing.T) {
	for _, tc := range []struct{ name, report string }{
		{"empty-object", `{}`},
		{"empty-sections", `{"inputs":[],"span_ns":0,"records":0,"wakes_total":0,"pending_total":0,"pending":[],"wakes":[],"latency":{"count":0,"histogram":[],"worst":[]},"workers":[],"queue":[],"findings":[],"timeline":{"start_ns":0,"end_ns":0,"polls":[],"wakes":[]}}`},
		{"nulls", `{"inputs":null,"pending":null,"wakes":null,"latency":null,"workers":null,"queue":null,"findings":null,"timeline":null}`},
		{"unknown-fields", `{"future":{"x":1},"pending":[{"reason":"chan send","count":1,"total_ns":5,"new_field":[1,2]}],"findings":[{"text":"t","severity":"surprising","numbers":{"n":1.5,"nested":{"a":1}}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := openPage(t, "empty-"+tc.name, []byte(tc.report))
			s := p.shown()
			assert.Equal(t, "0", s.Cards["records"])
			assert.Equal(t, "–", s.Cards["lat-p50"])
			if tc.name == "unknown-fields" {
				assert.Len(t, s.Pending, 1)
				assert.Len(t, s.Findings, 1)
				assert.Contains(t, s.Findings[0], "nested {\"a\":1}")
			} else {
				assert.Contains(t, s.Empty, "findings: No findings: nothing crossed the report's thresholds.")
				assert.Contains(t, s.Empty, "pending: No goroutine was pending for longer than the threshold.")
			}
			assert.Contains(t, s.Empty, "wakes: No wake events in the records.")
			assert.Contains(t, s.Empty, "timeline: No timeline in the report.")
			assert.Zero(t, len(s.HistBars))
			p.clean()
		})
	}
}

// A large report draws only the top groups and a bounded timeline, and
// says so.
func TestBrowserLargeReport(t *testing.T) {
	const groups, polls, workers = 3000, 40000, 8
	r := map[string]any{"span_ns": 1e9, "records": 1 << 22}
	var pending []map[string]any
	for i := range groups {
		pending = append(pending, map[string]any{
			"reason": "chan receive", "frames": []string{fmt.Sprintf("main.f%d x.go:%d", i, i)},
			"count": 1 + i%7, "total_ns": (i + 1) * 1000, "p50_ns": 10, "p99_ns": 10, "max_ns": 10,
			"wakers": []map[string]any{{"name": "main.w", "task_ids": []int{1, 2, 3}, "count": 1}},
		})
	}
	r["pending"] = pending
	var ps, ws []map[string]any
	for i := range polls {
		st := int64(i) * 25_000
		ps = append(ps, map[string]any{"worker": i % workers, "start_ns": st, "end_ns": st + 20_000 + int64(i%5)*1000, "task_id": i % 500, "name": fmt.Sprintf("main.g%d", i%50)})
		if i%4 == 0 {
			ws = append(ws, map[string]any{"ts_ns": st + 5000, "waker_task_id": i % 500, "woken_task_id": (i + 7) % 500, "target_worker": (i + 1) % workers})
		}
	}
	r["timeline"] = map[string]any{"start_ns": 0, "end_ns": polls * 25_000, "polls": ps, "wakes": ws}
	report, err := json.Marshal(r)
	require.NoError(t, err)

	p := openPage(t, "large", report)
	n := evaluate[map[string]int](p, `({groups: document.querySelectorAll("#pending tbody tr.group").length,
		polls: document.querySelectorAll("#timeline rect.poll").length,
		wakes: document.querySelectorAll("#timeline path.wake").length,
		lanes: document.querySelectorAll("#timeline .lane-label").length})`)
	assert.Equal(t, 200, n["groups"])
	assert.Equal(t, 6000, n["polls"])
	assert.Equal(t, 1500, n["wakes"])
	assert.Equal(t, workers, n["lanes"])
	notes := evaluate[string](p, `document.querySelector("#pending").textContent`)
	assert.Contains(t, notes, "showing 200 of 3,000 (by total)")
	assert.Contains(t, evaluate[string](p, `document.querySelector("#timeline .tl-info").textContent`), "6,000 of 40,000 (the longest) polls, 1,500 of 10,000 (a sample) wakes: zoom in for all")
	// The first group is the one with the largest total.
	assert.Equal(t, "main.f2999", evaluate[string](p, `document.querySelector("#pending tbody tr.group td:nth-child(2)").textContent`))
	p.screenshot("large")
	p.clean()
}

// Chromium is the real check that nothing is fetched; this makes sure the
// check itself works: a page that fetches is caught.
func TestBrowserCatchesNetworkAndErrors(t *testing.T) {
	// A finding whose numbers are not an object is fine; a page broken on
	// purpose is not: swap in a script that throws and fetches.
	p := openPage(t, "probe", []byte(`{}`))
	evaluate[bool](p, `(() => { const i = document.createElement("img"); i.src = "http://192.0.2.1/x.png"; document.body.appendChild(i); console.error("probe error"); setTimeout(() => { throw new Error("probe exception"); }, 0); return true; })()`)
	// The events come in asynchronously: wait for them (or the deadline).
	deadline := time.Now().Add(actionTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for len(p.problemList()) < 4 && time.Now().Before(deadline) {
		<-tick.C
	}
	all := strings.Join(p.problemList(), "\n")
	assert.Contains(t, all, "console.error: probe error")
	assert.Contains(t, all, "probe exception")
	// The request is seen, and the page's content security policy blocks it
	// (and says so in the log).
	assert.Contains(t, all, "network request: http://192.0.2.1/x.png")
	assert.Contains(t, all, "Content Security Policy")
}

func chromedpClick(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(css))
}
