package report

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
)

// The page formats durations and shares in JavaScript; these are the same
// rules in Go, so that the test can say what the page must show for a
// report it has not seen. toFixed rounds the double's exact value to
// nearest, a tie away from zero: big.Rat's FloatString does the same.
func jsFixed(x float64, digits int) string {
	return new(big.Rat).SetFloat64(x).FloatString(digits)
}

var trailingZeros = regexp.MustCompile(`\.?0+$`)

func jsSig3(x float64) string {
	switch {
	case x >= 100:
		return jsFixed(x, 0)
	case x >= 10:
		return strings.TrimSuffix(jsFixed(x, 1), ".0")
	}
	return trailingZeros.ReplaceAllString(jsFixed(x, 2), "")
}

// jsDur is the page's fmtDur, for the durations of these tests.
func jsDur(t *testing.T, ns int64) string {
	t.Helper()
	a := float64(ns)
	switch {
	case ns == 0:
		return "0"
	case ns < 0:
		t.Fatalf("negative duration %d", ns)
	case a < 1e3:
		return jsFixed(a, 0) + "ns"
	case a < 1e6:
		return jsSig3(a/1e3) + "µs"
	case a < 1e9:
		return jsSig3(a/1e6) + "ms"
	case a < 60e9:
		return jsSig3(a/1e9) + "s"
	}
	t.Fatalf("duration %d: beyond what these tests format", ns)
	return ""
}

// pctText is the page's, and the text report's, percentage.
func pctText(p float64) string {
	switch {
	case p == 0:
		return "0%"
	case p < 1:
		return "<1%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// shareLabel is what the page writes on a link: its share of the wait.
func shareLabel(t *testing.T, share, wait int64) string {
	return jsDur(t, share) + " (" + pctText(100*float64(share)/float64(wait)) + ")"
}

// chainShown is the chain view as the page draws it.
type chainShown struct {
	Chain   string   `json:"chain"`
	Pressed []string `json:"pressed"`
	Head    string   `json:"head"`
	Roots   string   `json:"roots"`
	Rows    []string `json:"rows"`
	Bars    []string `json:"bars"`
	// Shares: the chart's labels, each with the links it labels.
	Shares [][]string `json:"shares"`
	Listed []string   `json:"listed"`
	Arrows [][]string `json:"arrows"`
	// Misplaced lists the arrows that do not start in their waker's row
	// and end in the woken goroutine's, or not at the wake's time.
	Misplaced []string `json:"misplaced"`
}

const readChain = `(() => {
  const all = (s, root) => [...(root || document).querySelectorAll(s)];
  const v = document.getElementById("chain-view");
  const rowList = all("svg.chain-svg rect.chain-row-bg", v);
  const rows = Object.fromEntries(rowList.map(r => [r.dataset.task, r.getBBox()]));
  const misplaced = [];
  const arrows = all("svg.chain-svg path.chain-wake", v).map(p => {
    const len = p.getTotalLength(), a = p.getPointAtLength(0), b = p.getPointAtLength(len);
    const inRow = (pt, id) => { const r = rows[id]; return r && pt.y >= r.y - 1 && pt.y <= r.y + r.height + 1; };
    // A wake by no goroutine (the runtime) comes from above the rows.
    const fromOK = p.dataset.from === "0" ? a.y < rowList[0].getBBox().y : inRow(a, p.dataset.from);
    if (!fromOK || !inRow(b, p.dataset.to) || Math.abs(a.x - b.x) > 0.5) misplaced.push(p.dataset.from + "->" + p.dataset.to);
    return [p.dataset.from, p.dataset.to];
  });
  return {
    chain: v.dataset.chain,
    pressed: all("#chains button.chain-pick[aria-pressed=true]").map(b => b.dataset.i),
    head: v.querySelector("h3.chain-head").textContent,
    roots: v.querySelector(".chain-roots").textContent,
    rows: rowList.map(r => r.dataset.task),
    bars: all("svg.chain-svg rect.chain-bar[data-link]", v).map(r => r.dataset.kind),
    shares: all("svg.chain-svg text.share", v).map(t => [t.dataset.links, t.textContent]),
    listed: all("ol.chain-links .share-text", v).map(t => t.textContent),
    arrows, misplaced,
  };
})()`

// wantChain is what the chain view must show for chain c.
func wantChain(t *testing.T, c analyze.Chain) chainShown {
	w := chainShown{Arrows: [][]string{}}
	if c.Waker != 0 {
		w.Arrows = append(w.Arrows, []string{fmt.Sprint(c.Waker), fmt.Sprint(c.Task)})
	}
	w.Rows = []string{fmt.Sprint(c.Task)}
	seen := map[string]bool{w.Rows[0]: true}
	for _, l := range c.Links {
		w.Bars = append(w.Bars, l.Kind)
		w.Listed = append(w.Listed, shareLabel(t, l.ShareNS, c.WaitNS))
		if l.Kind == "woken" {
			w.Arrows = append(w.Arrows, []string{fmt.Sprint(l.Waker), fmt.Sprint(l.Task)})
		}
		if id := fmt.Sprint(l.Task); !seen[id] {
			seen[id] = true
			w.Rows = append(w.Rows, id)
		}
	}
	w.Roots = "roots: " + analyze.RootsText(c.Roots, 4)
	return w
}

// selectChain clicks chain i's button and returns the view it draws,
// checked against the report.
func selectChain(t *testing.T, p *page, rep *analyze.Report, i int) chainShown {
	t.Helper()
	c := rep.Chains[i]
	p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#chains button.chain-pick[data-i="%d"]`, i))))
	p.waitFor(fmt.Sprintf(`document.getElementById("chain-view").dataset.chain === "%d"`, i))
	got := evaluate[chainShown](p, readChain)
	w := wantChain(t, c)
	assert.Equal(t, []string{strconv.Itoa(i)}, got.Pressed, "the picked button is pressed, only it")
	assert.Equal(t, w.Bars, got.Bars, "chain %d: a bar per link, by kind", i)
	assert.Equal(t, w.Listed, got.Listed, "chain %d: the links' list, a share each", i)
	checkLabels(t, c, got.Shares)
	assert.Equal(t, w.Arrows, got.Arrows, "chain %d: an arrow per wake, waker to woken", i)
	assert.Empty(t, got.Misplaced, "chain %d: arrows from the waker's row to the woken one's, at the wake", i)
	assert.Equal(t, w.Rows, got.Rows[:min(len(w.Rows), len(got.Rows))], "chain %d: a row per goroutine, the waiting one first", i)
	assert.Equal(t, w.Roots, got.Roots, "chain %d", i)
	assert.Contains(t, got.Head, c.Name+" waited "+jsDur(t, c.WaitNS))
	return got
}

// checkLabels: every link is labelled on the chart, once: with its own
// share, or, under 1% of the wait and crowded by its neighbours, in a
// label of its own with the others' ("3 links, 5µs (<1%)").
func checkLabels(t *testing.T, c analyze.Chain, labels [][]string) {
	t.Helper()
	labelled := make([]int, len(c.Links))
	for _, lb := range labels {
		var idx []int
		var sum int64
		for _, f := range strings.Split(lb[0], ",") {
			i, err := strconv.Atoi(f)
			require.NoError(t, err, "label %q: data-links %q", lb[1], lb[0])
			require.Less(t, i, len(c.Links))
			idx = append(idx, i)
			labelled[i]++
			sum += c.Links[i].ShareNS
		}
		if len(idx) == 1 {
			assert.Equal(t, shareLabel(t, c.Links[idx[0]].ShareNS, c.WaitNS), lb[1], "link %d's label", idx[0])
			continue
		}
		assert.Equal(t, fmt.Sprintf("%d links, %s", len(idx), shareLabel(t, sum, c.WaitNS)), lb[1])
		for _, i := range idx {
			assert.Less(t, 100*c.Links[i].ShareNS, c.WaitNS, "link %d of %s: only links under 1%% share a label", i, lb[1])
		}
	}
	for i, n := range labelled {
		assert.Equal(t, 1, n, "link %d (%s %s) has one label", i, c.Links[i].Kind, c.Links[i].Name)
	}
}

// chained lists the chains worth drawing: at least 2 links, one a wake.
func chained(rep *analyze.Report) []int {
	var picks []int
	for i, c := range rep.Chains {
		woken := 0
		for _, l := range c.Links {
			if l.Kind == "woken" {
				woken++
			}
		}
		if len(c.Links) >= 2 && woken > 0 {
			picks = append(picks, i)
		}
	}
	return picks
}

// TestBrowserChains: the chain view of a real trace, the planted mutex
// chain (testdata/progs/chains: g30 holds the lock while it waits on a
// channel that g28 sends on after a 20ms sleep). Selecting a wait draws one
// bar per link, one arrow per wake from the waker's row to the woken
// goroutine's, the share labels, and the roots; another wait redraws them.
func TestBrowserChains(t *testing.T) {
	rep, data := realReport(t, "../testdata/traces/chains-mutex.trace", analyze.Config{})
	picks := chained(rep)
	require.GreaterOrEqual(t, len(picks), 2, "the mutex trace has two chained waits (main's and the lock's)")

	p := openPage(t, "chains-mutex", data)
	assert.Equal(t, min(len(rep.Chains), 100), evaluate[int](p, `document.querySelectorAll("#chains button.chain-pick").length`))
	assert.Equal(t, "0", evaluate[string](p, `document.getElementById("chain-view").dataset.chain`), "the longest wait is drawn at first")

	// The first is shown at first: pick another, then it.
	first := selectChain(t, p, rep, picks[1])
	second := selectChain(t, p, rep, picks[0])
	assert.NotEqual(t, first.Shares, second.Shares, "another wait, other labels")
	assert.NotEqual(t, first.Arrows, second.Arrows, "another wait, other arrows")

	// Spelled out, so that a formatter wrong the same way in Go and in
	// the page does not pass: the lock's wait (g29 on g30's mutex) is
	// 80% g28's 20ms sleep and 20% g30's 5ms of CPU.
	lock := -1
	for _, i := range picks {
		if rep.Chains[i].Reason == "sync.Mutex.Lock" {
			lock = i
		}
	}
	require.GreaterOrEqual(t, lock, 0, "the chain of the lock's wait")
	got := selectChain(t, p, rep, lock)
	assert.Equal(t, "roots: 80% timer, 20% CPU in main.mutex.func1.3 created at main.go:184, <1% other", got.Roots)
	var texts []string
	for _, lb := range got.Shares {
		texts = append(texts, lb[1])
	}
	assert.Contains(t, texts, "20.1ms (80%)")
	assert.Contains(t, texts, "5ms (20%)")
	assert.Len(t, got.Arrows, 2, "g30 woke g29 (the lock), g28 woke g30 (the channel)")

	// The keyboard selects too: the buttons take focus and Enter.
	other := picks[0]
	if other == lock {
		other = picks[1]
	}
	p.do(chromedp.Focus(chromedp.CSS(fmt.Sprintf(`#chains button.chain-pick[data-i="%d"]`, other))), chromedp.KeyEvent("\r"))
	p.waitFor(fmt.Sprintf(`document.getElementById("chain-view").dataset.chain === "%d"`, other))
	p.shotOf("chains-mutex-chain", `#chains`)
	p.screenshot("chains-mutex")
	p.clean()
}

// TestBrowserChainsAll: every chain of the other planted programs and of
// nats-server under load (a chain of 63 links crossing readLoop and
// writeLoop) draws what its JSON says.
func TestBrowserChainsAll(t *testing.T) {
	for _, path := range []string{
		"../testdata/traces/chains-pipeline.trace",
		"../testdata/traces/chains-fanout.trace",
		"../testdata/traces/chains-sched.trace",
		"../testdata/realtraces/nats-server.trace",
	} {
		name := strings.TrimSuffix(filepath.Base(path), ".trace")
		t.Run(name, func(t *testing.T) {
			rep, data := realReport(t, path, analyze.Config{})
			require.NotEmpty(t, chained(rep), "%s has a chain of at least 2 links", path)
			p := openPage(t, "chains-"+name, data)
			for i := range rep.Chains[:min(len(rep.Chains), 100)] {
				selectChain(t, p, rep, i)
			}
			p.shotOf("chains-"+name+"-chain", `#chains`)
			p.clean()
		})
	}
}

// shotOf keeps a screenshot of one element under -shots.
func (p *page) shotOf(name, css string) {
	p.t.Helper()
	if *shotsDir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(css)))
	require.NoError(p.t, err)
	require.NoError(p.t, os.WriteFile(filepath.Join(*shotsDir, name+".png"), png, 0o644))
}
