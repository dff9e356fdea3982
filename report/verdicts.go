package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/internal/textwidth"
)

// writeVerdicts renders the verdicts on the goroutines still blocked at
// the end: a table of those that are not idle (VERDICT is the column the
// issue asks for), then the idle service goroutines in one short line by
// function, then, once, what a missing leak profile means.
func writeVerdicts(w io.Writer, r *analyze.Report, width, top int) {
	s := r.VerdictSummary
	if len(r.Verdicts) == 0 {
		return
	}
	// A fleet's report (package fleet) has a verdict per verdict and
	// stack across its instances.
	fleet := r.Verdicts[0].OfInstances > 0
	if fleet {
		fmt.Fprintf(w, "\nSTILL BLOCKED AT THE END (%d goroutine(s) over the instances: %d leaked, %d deadlocked, %d suspect, %d idle)\n",
			s.Leaked+s.Deadlocked+s.Suspect+s.Idle, s.Leaked, s.Deadlocked, s.Suspect, s.Idle)
	} else {
		fmt.Fprintf(w, "\nSTILL BLOCKED AT THE END (%d goroutine(s): %d leaked, %d deadlocked, %d suspect, %d idle)\n",
			len(r.Verdicts), s.Leaked, s.Deadlocked, s.Suspect, s.Idle)
	}
	var rows [][]string
	var subs []string
	shown, rest := 0, 0
	for _, v := range r.Verdicts {
		if v.Verdict == analyze.VerdictIdle {
			continue
		}
		if shown == top {
			rest++
			continue
		}
		shown++
		verdict := v.Verdict
		if v.Severity == "warning" {
			verdict = strings.ToUpper(verdict)
		}
		g := "g" + strconv.FormatUint(uint64(v.TaskID), 10)
		if fleet {
			rows = append(rows, []string{verdict, strconv.Itoa(v.Goroutines), fmt.Sprintf("%d of %d", len(v.Instances), v.OfInstances),
				v.Reason, analyze.FmtNS(v.BlockedNS), v.Instance + " " + g + " " + v.Name})
			subs = append(subs, "on "+analyze.OnInstances(v.Instances, v.OfInstances, 5)+"; "+strings.Join(v.Evidence, "; "))
			continue
		}
		rows = append(rows, []string{verdict, g, v.Reason, analyze.FmtNS(v.BlockedNS), v.Name})
		subs = append(subs, strings.Join(v.Evidence, "; "))
	}
	if len(rows) > 0 {
		if fleet {
			textwidth.Table(w, width, "  ", []string{"VERDICT", "GOROUTINES", "ON", "REASON", "LONGEST", "GOROUTINE"}, rows, subs, 5, -1)
		} else {
			textwidth.Table(w, width, "  ", []string{"VERDICT", "G", "REASON", "BLOCKED", "GOROUTINE"}, rows, subs, 4, -1)
		}
	}
	if rest > 0 {
		fmt.Fprintf(w, "  ... %d more (-top, -json)\n", rest)
	}
	if s.Idle > 0 {
		var parts []string
		for i, f := range s.IdleByFunc {
			if i == top {
				parts = append(parts, "...")
				break
			}
			p := f.Func + " ×" + strconv.Itoa(f.Count)
			if f.Instances > 0 {
				p += " on " + strconv.Itoa(f.Instances)
			}
			parts = append(parts, p)
		}
		by := "by function"
		if fleet {
			by = "by function and on how many instances"
		}
		writeWrapped(w, "", fmt.Sprintf("idle service goroutines: %d, %s: %s", s.Idle, by, strings.Join(parts, ", ")), width)
	}
	if s.Profile.Note != "" {
		writeWrapped(w, "", s.Profile.Note, width)
	} else {
		writeWrapped(w, "", fmt.Sprintf("goroutineleak profile(s): %s: %d leaked goroutine(s) named, %d of them blocked at the end of the records",
			strings.Join(s.Profile.Files, ", "), s.Profile.Named, s.Profile.Matched), width)
	}
}
