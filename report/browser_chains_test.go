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
	Chain   string     `json:"chain"`
	Pressed []string   `json:"pressed"`
	Head    string     `json:"head"`
	Roots   string     `json:"roots"`
	Rows    []string   `json:"rows"`
	Bars    []string   `json:"bars"`
	Shares  []string   `json:"shares"`
	Listed  []string   `json:"listed"`
	Arrows  [][]string `json:"arrows"`
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
    if (!inRow(a, p.dataset.from) || !inRow(b, p.dataset.to) || Math.abs(a.x - b.x) > 0.5) misplaced.push(p.dataset.from + "->" + p.dataset.to);
    return [p.dataset.from, p.dataset.to];
  });
  return {
    chain: v.dataset.chain,
    pressed: all("#chains button.chain-pick[aria-pressed=true]").map(b => b.dataset.i),
    head: v.querySelector("h3.chain-head").textContent,
    roots: v.querySelector(".chain-roots").textContent,
    rows: rowList.map(r => r.dataset.task),
    bars: all("svg.chain-svg rect.chain-bar[data-link]", v).map(r => r.dataset.kind),
    shares: all("svg.chain-svg text.share", v).map(t => t.textContent),
    listed: all("ol.chain-links .share-text", v).map(t => t.textContent),
    arrows, misplaced,
  };
})()`

// TestBrowserChains: the chain view of a real trace, the planted mutex
// chain (testdata/progs/chains: g30 holds the lock while it waits on a
// channel that g28 sends on after a 20ms sleep). Selecting a wait draws one
// bar per link, one arrow per wake from the waker's row to the woken
// goroutine's, the share labels, and the roots; another wait redraws them.
func TestBrowserChains(t *testing.T) {
	rep, data := realReport(t, "../testdata/traces/chains-mutex.trace", analyze.Config{})
	var picks []int // chains worth drawing: at least 2 links, one a wake
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
	require.GreaterOrEqual(t, len(picks), 2, "the mutex trace has two chained waits (main's and the lock's)")

	p := openPage(t, "chains-mutex", data)
	assert.Equal(t, min(len(rep.Chains), 100), evaluate[int](p, `document.querySelectorAll("#chains button.chain-pick").length`))

	want := func(c analyze.Chain) chainShown {
		var w chainShown
		if c.Waker != 0 {
			w.Arrows = append(w.Arrows, []string{fmt.Sprint(c.Waker), fmt.Sprint(c.Task)})
		}
		rows := []string{fmt.Sprint(c.Task)}
		seen := map[string]bool{rows[0]: true}
		for _, l := range c.Links {
			w.Bars = append(w.Bars, l.Kind)
			w.Shares = append(w.Shares, shareLabel(t, l.ShareNS, c.WaitNS))
			if l.Kind == "woken" {
				w.Arrows = append(w.Arrows, []string{fmt.Sprint(l.Waker), fmt.Sprint(l.Task)})
			}
			if id := fmt.Sprint(l.Task); !seen[id] {
				seen[id] = true
				rows = append(rows, id)
			}
		}
		w.Rows = rows
		w.Roots = "roots: " + analyze.RootsText(c.Roots, 4)
		return w
	}

	var prev chainShown
	for n, i := range []int{picks[1], picks[0]} { // the first is shown at first: pick another, then it
		c := rep.Chains[i]
		p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#chains button.chain-pick[data-i="%d"]`, i))))
		p.waitFor(fmt.Sprintf(`document.getElementById("chain-view").dataset.chain === "%d"`, i))
		got := evaluate[chainShown](p, readChain)
		w := want(c)
		assert.Equal(t, []string{strconv.Itoa(i)}, got.Pressed, "the picked button is pressed, only it")
		assert.Equal(t, w.Bars, got.Bars, "chain %d: a bar per link, by kind", i)
		assert.Equal(t, w.Shares, got.Shares, "chain %d: the share labels", i)
		assert.Equal(t, w.Shares, got.Listed, "chain %d: the links' list", i)
		assert.Equal(t, w.Arrows, got.Arrows, "chain %d: an arrow per wake, waker to woken", i)
		assert.Empty(t, got.Misplaced, "chain %d: arrows from the waker's row to the woken one's, at the wake", i)
		assert.Equal(t, w.Rows, got.Rows[:min(len(w.Rows), len(got.Rows))], "chain %d: a row per goroutine, the waiting one first", i)
		assert.Equal(t, w.Roots, got.Roots, "chain %d", i)
		assert.Contains(t, got.Head, c.Name+" waited "+jsDur(t, c.WaitNS))
		if n > 0 {
			assert.NotEqual(t, prev.Shares, got.Shares, "another wait, other labels")
			assert.NotEqual(t, prev.Arrows, got.Arrows, "another wait, other arrows")
		}
		prev = got
	}

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
	p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#chains button.chain-pick[data-i="%d"]`, lock))))
	p.waitFor(fmt.Sprintf(`document.getElementById("chain-view").dataset.chain === "%d"`, lock))
	got := evaluate[chainShown](p, readChain)
	assert.Equal(t, "roots: 80% timer, 20% CPU in main.mutex.func1.3, <1% other", got.Roots)
	assert.Contains(t, got.Shares, "20.1ms (80%)")
	assert.Contains(t, got.Shares, "5ms (20%)")
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
