package report

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
)

// verdictsShown is the "still blocked at the end" section as drawn.
type verdictsShown struct {
	Hidden  bool   `json:"hidden"`
	Summary string `json:"summary"`
	// Badges, in the page's order: verdict, tooltip, and where it is:
	// "main" (the table) or "idle" (the collapsed idle section).
	Badges   [][]string `json:"badges"`
	IdleOpen bool       `json:"idle_open"`
	IdleHead string     `json:"idle_head"`
	Profile  string     `json:"profile"`
	Colours  []string   `json:"colours"` // each verdict's badge background, "verdict=colour"
}

const readVerdicts = `(() => {
  const all = (s, root) => [...(root || document).querySelectorAll(s)];
  const sec = document.getElementById("verdicts");
  const d = sec.querySelector("details.idle-verdicts");
  const badges = all(".verdict", sec);
  return {
    hidden: sec.hidden,
    summary: (sec.querySelector(".verdict-summary") || {}).textContent || "",
    badges: badges.map(b => [b.textContent, b.title, b.closest("details") ? "idle" : "main"]),
    idle_open: !!(d && d.open),
    idle_head: d ? d.querySelector("summary").textContent : "",
    profile: (sec.querySelector(".leak-profile") || {}).textContent || "",
    colours: [...new Set(badges.map(b => b.textContent + "=" + getComputedStyle(b).backgroundColor))].sort(),
  };
})()`

// TestBrowserVerdicts: every goroutine still blocked at the end gets a
// badge with its verdict, the evidence as its tooltip, and the badges
// count what verdict_summary counts; idle ones sit in a collapsed section
// of their own. On the demo's leak (etcd#7443 with its goroutineleak
// profile, as `make demo` reports it), on a healthy server with idle
// keep-alive connections (idle and suspect, with its profile) and on the
// same leak without the profile (rules alone: a suspect warning).
func TestBrowserVerdicts(t *testing.T) {
	const leaks = "../testdata/leaks/out/"
	for _, tc := range []struct {
		name, trace, profile string
		// spelled out, so that a JSON and a page wrong together fail
		leaked, suspect, idle int
	}{
		{"etcd7443", "etcd7443.trace", "etcd7443.leak.txt", 1, 0, 0},
		{"etcd7443-rules", "etcd7443.trace", "", 0, 1, 0},
		{"healthy_httpidle", "healthy_httpidle.trace", "healthy_httpidle.leak.txt", 0, 3, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := analyze.Config{Stuck: time.Millisecond} // the traces are some 20ms long
			if tc.profile != "" {
				lp, err := analyze.ReadLeakProfile(leaks+tc.profile, 0)
				require.NoError(t, err)
				cfg.Leaks = []*analyze.LeakProfile{lp}
			}
			rep, data := realReport(t, leaks+tc.trace, cfg)
			s := rep.VerdictSummary
			require.Equal(t, []int{tc.leaked, 0, tc.suspect, tc.idle}, []int{s.Leaked, s.Deadlocked, s.Suspect, s.Idle}, "the verdicts of %s", tc.trace)

			p := openPage(t, "verdicts-"+tc.name, data)
			got := evaluate[verdictsShown](p, readVerdicts)
			require.False(t, got.Hidden)
			count := map[string]int{}
			for _, b := range got.Badges {
				count[b[0]]++
			}
			assert.Equal(t, map[string]int{"leaked": s.Leaked, "deadlocked": s.Deadlocked, "suspect": s.Suspect, "idle": s.Idle},
				map[string]int{"leaked": count["leaked"], "deadlocked": count["deadlocked"], "suspect": count["suspect"], "idle": count["idle"]})
			assert.Len(t, got.Badges, len(rep.Verdicts), "a badge per goroutine still blocked")

			// The badges in the report's order, the idle ones last in
			// their own section; the tooltip is the evidence.
			var want [][]string
			for _, idle := range []bool{false, true} {
				for _, v := range rep.Verdicts {
					if (v.Verdict == analyze.VerdictIdle) != idle {
						continue
					}
					where := "main"
					if idle {
						where = "idle"
					}
					want = append(want, []string{v.Verdict, v.Severity + ": " + strings.Join(v.Evidence, "\n"), where})
				}
			}
			assert.Equal(t, want, got.Badges)
			assert.Contains(t, got.Summary, "goroutine")
			for k, n := range map[string]int{"leaked": s.Leaked, "deadlocked": s.Deadlocked, "suspect": s.Suspect, "idle": s.Idle} {
				assert.Contains(t, got.Summary, commas(int64(n))+" "+k)
			}

			// Distinct colours, one per verdict shown.
			colour := map[string]string{}
			for _, c := range got.Colours {
				k, v, _ := strings.Cut(c, "=")
				colour[v] += k + " "
			}
			assert.Len(t, colour, len(got.Colours), "a colour of its own per verdict: %v", got.Colours)

			if s.Idle > 0 {
				assert.False(t, got.IdleOpen, "the idle section starts collapsed")
				var parts []string
				for _, f := range s.IdleByFunc[:min(len(s.IdleByFunc), 8)] {
					parts = append(parts, f.Func+" ×"+commas(int64(f.Count)))
				}
				head := "idle service goroutines: " + commas(int64(s.Idle)) + ", by function: " + strings.Join(parts, ", ")
				if len(s.IdleByFunc) > 8 {
					head += ", …"
				}
				assert.Equal(t, head, got.IdleHead)
				// It opens on a click (and on Enter: it is a <summary>).
				p.do(chromedp.Click(chromedp.CSS(`#verdicts details.idle-verdicts > summary`)))
				p.waitFor(`document.querySelector("#verdicts details.idle-verdicts").open`)
				visible := evaluate[int](p, `[...document.querySelectorAll("#verdicts details.idle-verdicts .verdict")].filter(b => b.getBoundingClientRect().height > 0).length`)
				assert.Equal(t, s.Idle, visible)
			} else {
				assert.Empty(t, got.IdleHead, "no idle section without idle goroutines")
			}
			if tc.profile != "" {
				assert.Contains(t, got.Profile, tc.profile)
				assert.Contains(t, got.Profile, commas(int64(s.Profile.Named))+" leaked goroutine(s) named")
			} else {
				assert.Equal(t, s.Profile.Note, got.Profile)
			}
			p.shotOf("verdicts-"+tc.name, `#verdicts`)
			p.clean()
		})
	}
}

// TestBrowserFleetVerdicts: a fleet's report (`wakeshim report -from`)
// has one verdict per verdict and stack over its instances: the page
// counts goroutines, not rows, and says on how many instances each is.
func TestBrowserFleetVerdicts(t *testing.T) {
	const leaks = "../testdata/leaks/out/"
	lp, err := analyze.ReadLeakProfile(leaks+"etcd7443.leak.txt", 0)
	require.NoError(t, err)
	rep, _ := realReport(t, leaks+"etcd7443.trace", analyze.Config{Leaks: []*analyze.LeakProfile{lp}})
	idle, _ := realReport(t, leaks+"healthy_httpidle.trace", analyze.Config{})
	// As package fleet makes it: the leak on 1 of 3 instances, twice;
	// an idle group on all three.
	var iv analyze.Verdict
	for _, v := range idle.Verdicts {
		if v.Verdict == analyze.VerdictIdle {
			iv = v
			break
		}
	}
	require.NotEmpty(t, iv.Verdict)
	lv := rep.Verdicts[0]
	require.Equal(t, analyze.VerdictLeaked, lv.Verdict)
	lv.Instance, lv.Goroutines, lv.OfInstances = "web-2", 2, 3
	lv.Instances = []analyze.InstanceCount{{Instance: "web-2", Goroutines: 2}}
	iv.Group, iv.Instance, iv.Goroutines, iv.OfInstances = -1, "web-1", 6, 3
	iv.Instances = []analyze.InstanceCount{{Instance: "web-1", Goroutines: 2}, {Instance: "web-2", Goroutines: 2}, {Instance: "web-3", Goroutines: 2}}
	rep.Verdicts = []analyze.Verdict{lv, iv}
	rep.VerdictSummary.Leaked, rep.VerdictSummary.Idle, rep.VerdictSummary.Warnings = 2, 6, 2
	rep.VerdictSummary.IdleByFunc = []analyze.FuncCount{{Func: iv.Func, Count: 6, Instances: 3}}
	data, err := JSON(rep)
	require.NoError(t, err)

	p := openPage(t, "verdicts-fleet", data)
	got := evaluate[verdictsShown](p, readVerdicts)
	assert.Contains(t, got.Summary, "8 goroutines still blocked at the end of the instances' records, in 2 groups by verdict and stack: 2 leaked")
	assert.Equal(t, "idle service goroutines: 6, by function: "+iv.Func+" ×6 on 3", got.IdleHead)
	on := evaluate[[][]string](p, `[...document.querySelectorAll("#verdicts .on-instances")].map(e => [e.textContent, e.title])`)
	assert.Equal(t, [][]string{{"1 of 3", "web-2 ×2"}, {"3 of 3", "web-1 ×2, web-2 ×2, web-3 ×2"}}, on)
	names := evaluate[string](p, `document.querySelector("#verdicts table").textContent`)
	assert.Contains(t, names, "web-2 g"+strconv.FormatUint(uint64(lv.TaskID), 10)+" "+lv.Name)
	p.shotOf("verdicts-fleet", `#verdicts`)
	p.clean()
}

// TestBrowserFleetFindings: a fleet's report has its time-ordered
// findings (with the instances they are on) in the findings section and
// its stop-the-world pauses under the latency, by instance and reason,
// and the longest.
func TestBrowserFleetFindings(t *testing.T) {
	rep, _ := realReport(t, "../testdata/shapes/httpload.trace", analyze.Config{})
	// As package fleet makes them.
	rep.Findings = []analyze.Finding{{Kind: "herd", Severity: "info",
		Text:    "http.(*persistConn).readLoop woke 10 or more goroutines within 1.00ms, 12 time(s) on 3 of 40 instance(s): a ×5, b ×4, c ×3; the most, 24 by a g7 http.(*persistConn).readLoop at 1.20s: thundering herd",
		Numbers: map[string]int64{"woken": 24, "times": 12, "instances": 3, "of_instances": 40}}}
	rep.Pauses = &analyze.Pauses{Count: 5, TotalNS: 900e3, MaxNS: 400e3, Instances: 2, OfInstances: 40,
		ByInstance: []analyze.PauseGroup{{Instance: "a", Reason: "GC mark termination", Count: 3, TotalNS: 600e3, MaxNS: 400e3},
			{Instance: "b", Reason: "GC sweep termination", Count: 2, TotalNS: 300e3, MaxNS: 200e3}},
		Longest: []analyze.PauseAt{{TS: 5e6, Instance: "a", Reason: "GC mark termination", DurationNS: 400e3}}}
	data, err := JSON(rep)
	require.NoError(t, err)
	p := openPage(t, "findings-fleet", data)
	kinds := evaluate[[]string](p, `[...document.querySelectorAll("#findings li.finding")].map(e => e.dataset.kind + ": " + e.querySelector(".text").textContent)`)
	assert.Equal(t, []string{"herd: " + rep.Findings[0].Text}, kinds)
	nums := evaluate[string](p, `document.querySelector("#findings li.finding .nums").textContent`)
	assert.Contains(t, nums, "instances 3")
	assert.Contains(t, nums, "of_instances 40")
	summary := evaluate[string](p, `document.querySelector("#latency .pauses p").textContent`)
	assert.Equal(t, "5 pauses, 900µs in all, max 400µs, on 2 of 40 instance(s).", summary)
	rows := evaluate[[]string](p, `[...document.querySelectorAll("#latency .pause-table tbody tr")].map(r => r.textContent)`)
	require.Len(t, rows, 2)
	assert.Contains(t, rows[0], "GC mark termination")
	longest := evaluate[[]string](p, `[...document.querySelectorAll("#latency .pause-longest tbody tr")].map(r => r.textContent)`)
	require.Len(t, longest, 1)
	assert.Contains(t, longest[0], "400µs")
	p.shotOf("findings-fleet", `#latency`)
	p.clean()
}

// TestBrowserFleetChains: a fleet's report names each chain's instance,
// says which instances the longest waits are on, counts the instances
// of each P and has the Ps by instance, the busiest first.
func TestBrowserFleetChains(t *testing.T) {
	rep, _ := realReport(t, "../testdata/traces/chains-mutex.trace", analyze.Config{})
	require.GreaterOrEqual(t, len(rep.Chains), 2)
	require.NotEmpty(t, rep.Workers)
	// As package fleet makes them: chains of two instances, the Ps summed.
	for i := range rep.Chains {
		rep.Chains[i].Instance = []string{"web-1", "web-2"}[min(i, 1)]
	}
	rep.ChainsOf = 3
	var busy, parked, polls int64
	for i := range rep.Workers {
		w := &rep.Workers[i]
		w.BusyNS, w.ParkedNS, w.Polls, w.SpanNS, w.Instances = 2*w.BusyNS, 2*w.ParkedNS, 2*w.Polls, 2*rep.SpanNS, 2
		busy, parked, polls = busy+w.BusyNS/2, parked+w.ParkedNS/2, polls+w.Polls/2
	}
	ps := len(rep.Workers)
	rep.WorkersByInstance = []analyze.WorkerInstance{
		{Instance: "web-1", Ps: ps, BusyNS: busy / 2, ParkedNS: parked, Polls: polls, SpanNS: rep.SpanNS},
		{Instance: "web-2", Ps: ps, BusyNS: busy, ParkedNS: parked, Polls: polls, SpanNS: rep.SpanNS},
	}
	data, err := JSON(rep)
	require.NoError(t, err)
	p := openPage(t, "chains-fleet", data)
	picks := evaluate[[]string](p, `[...document.querySelectorAll("#chains button.chain-pick")].map(b => b.textContent)`)
	require.Len(t, picks, len(rep.Chains))
	assert.Regexp(t, `^\S+ web-1 g\d+ `, picks[0])
	assert.Regexp(t, `^\S+ web-2 g\d+ `, picks[1])
	on := evaluate[string](p, `document.querySelector("#chains .chains-on").textContent`)
	want := "On 2 of 3 instance(s): web-2 ×" + strconv.Itoa(len(rep.Chains)-1) + ", web-1."
	if len(rep.Chains) == 2 {
		want = "On 2 of 3 instance(s): web-1, web-2."
	}
	assert.Equal(t, want, on)
	head := evaluate[string](p, `document.querySelector("#workers .workers-table thead").textContent`)
	assert.Contains(t, head, "Instances")
	cells := evaluate[[]string](p, `[...document.querySelectorAll("#workers .workers-table tbody tr:first-child td")].map(e => e.textContent)`)
	assert.Equal(t, "2", cells[len(cells)-1], "P0 on 2 instances")
	rows := evaluate[[]string](p, `[...document.querySelectorAll("#workers .workers-instances tbody tr td:first-child")].map(e => e.textContent)`)
	assert.Equal(t, []string{"web-2", "web-1"}, rows, "the busiest share first")
	p.shotOf("chains-fleet-workers", `#workers`)
	p.clean()
}

// TestBrowserFleetTimeline: a fleet's report draws its timeline, one
// load's window on the fleet's time line (as package fleet makes it:
// the times moved, the instance named), and says whose window it is.
func TestBrowserFleetTimeline(t *testing.T) {
	rep, _ := realReport(t, "../testdata/traces/chains-mutex.trace", analyze.Config{})
	tl := &rep.Timeline
	require.NotEmpty(t, tl.Polls)
	require.NotEmpty(t, tl.Wakes)
	const shift = int64(3 * time.Second)
	tl.StartNS, tl.EndNS, tl.Instance = tl.StartNS+shift, tl.EndNS+shift, "web-2"
	for i := range tl.Polls {
		tl.Polls[i].StartNS += shift
		tl.Polls[i].EndNS += shift
	}
	for i := range tl.Wakes {
		tl.Wakes[i].TS += shift
	}
	rep.Config.WindowStartNS, rep.Config.WindowEndNS = tl.StartNS, tl.EndNS
	rep.SpanNS += shift
	data, err := JSON(rep)
	require.NoError(t, err)
	p := openPage(t, "timeline-fleet", data)
	s := p.shown()
	for _, e := range s.Empty {
		assert.NotContains(t, e, "timeline:")
	}
	assert.Len(t, s.Polls, min(len(tl.Polls), 6000), "a bar per poll")
	assert.NotEmpty(t, s.Arrows, "the wakes' arrows")
	assert.NotEmpty(t, s.Lanes)
	whose := evaluate[string](p, `document.querySelector("#timeline .tl-instance").textContent`)
	assert.Contains(t, whose, "The window of instance web-2")
	start := evaluate[string](p, `document.querySelector("#timeline input[aria-label='window start']").value`)
	assert.Regexp(t, `^3(\.\d+)?s$`, start, "on the fleet's time line")
	p.shotOf("timeline-fleet", `#timeline`)
	p.clean()
}
