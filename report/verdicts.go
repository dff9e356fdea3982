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
	fmt.Fprintf(w, "\nSTILL BLOCKED AT THE END (%d goroutine(s): %d leaked, %d deadlocked, %d suspect, %d idle)\n",
		len(r.Verdicts), s.Leaked, s.Deadlocked, s.Suspect, s.Idle)
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
		rows = append(rows, []string{verdict, "g" + strconv.FormatUint(uint64(v.TaskID), 10), v.Reason, analyze.FmtNS(v.BlockedNS), v.Name})
		subs = append(subs, strings.Join(v.Evidence, "; "))
	}
	if len(rows) > 0 {
		textwidth.Table(w, width, "  ", []string{"VERDICT", "G", "REASON", "BLOCKED", "GOROUTINE"}, rows, subs, 4, -1)
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
			parts = append(parts, f.Func+" ×"+strconv.Itoa(f.Count))
		}
		writeWrapped(w, "", fmt.Sprintf("idle service goroutines: %d, by function: %s", s.Idle, strings.Join(parts, ", ")), width)
	}
	if s.Profile.Note != "" {
		writeWrapped(w, "", s.Profile.Note, width)
	} else {
		writeWrapped(w, "", fmt.Sprintf("goroutineleak profile(s): %s: %d leaked goroutine(s) named, %d of them blocked at the end of the records",
			strings.Join(s.Profile.Files, ", "), s.Profile.Named, s.Profile.Matched), width)
	}
}
