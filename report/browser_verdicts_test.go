package report

import (
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
