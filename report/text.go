package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/internal/textwidth"
)

// WriteText renders the report for a terminal, as `wakeshim report`
// prints it: width columns (0: no limit), top rows per table. Write errors
// are w's to keep (a bytes.Buffer, or a writer with a sticky error).
func WriteText(w io.Writer, r *analyze.Report, width, top int) {
	ns := analyze.FmtNS
	fmt.Fprintf(w, "%d input(s), %s of time line, %d records: %d wakes, %d blocks (%d TaskPending records)\n",
		len(r.Inputs), ns(r.SpanNS), r.Records, r.WakesTotal, r.PendingTotal, r.PendingRecs)

	fmt.Fprintf(w, "\nFINDINGS (%d)\n", len(r.Findings))
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "  none over the thresholds")
	}
	for _, f := range r.Findings {
		writeWrapped(w, fmt.Sprintf("%-7s %-9s ", f.Severity, f.Kind), f.Text, width)
	}

	writeVerdicts(w, r, width, top)

	fmt.Fprintf(w, "\nWHERE GOROUTINES WAIT (%d group(s) by reason + stack, most total time first)\n", len(r.Pending))
	rows := [][]string{}
	var subs []string
	for i, g := range r.Pending {
		if i == top {
			break
		}
		wk := "-"
		if len(g.Wakers) > 0 {
			var parts []string
			for j, x := range g.Wakers {
				if j == 2 {
					parts = append(parts, "...")
					break
				}
				parts = append(parts, x.Name+" ×"+strconv.Itoa(x.Count))
			}
			wk = strings.Join(parts, ", ")
		}
		end := "-"
		if g.StillBlocked > 0 {
			end = strconv.Itoa(g.StillBlocked)
		}
		rows = append(rows, []string{strconv.Itoa(i + 1), orDash(g.Reason), strconv.Itoa(g.Count), ns(g.TotalNS), ns(g.P50NS),
			ns(g.P99NS), ns(g.MaxNS), end, wk})
		subs = append(subs, stackText(g.Frames, width == 0))
	}
	textwidth.Table(w, width, "  ", []string{"#", "REASON", "COUNT", "TOTAL", "P50", "P99", "MAX", "AT END", "WAKERS"}, rows, subs, 8, 1)
	more(w, len(r.Pending), top)
	writeChainsText(w, r, width, top)

	fmt.Fprintf(w, "\nWHO WAKES WHOM (%d edge(s), most wakes first; latency = wake to run)\n", len(r.Wakes))
	rows = rows[:0]
	for i, e := range r.Wakes {
		if i == top {
			break
		}
		rows = append(rows, []string{strconv.FormatInt(e.Count, 10), ns(e.Latency.P50NS), ns(e.Latency.P99NS), ns(e.Latency.MaxNS),
			e.Waker + " -> " + e.Woken})
	}
	textwidth.Table(w, width, "  ", []string{"WAKES", "P50", "P99", "MAX", "WAKER -> WOKEN"}, rows, nil, 4, -1)
	more(w, len(r.Wakes), top)

	l := r.Latency
	fmt.Fprintf(w, "\nWAKE -> RUN LATENCY: %d wakes ran, p50 %s, p99 %s, max %s\n", l.Count, ns(l.P50NS), ns(l.P99NS), ns(l.MaxNS))
	var peak int64
	for _, b := range l.Histogram {
		peak = max(peak, b.Count)
	}
	for _, b := range l.Histogram {
		if b.Count == 0 {
			continue
		}
		bar := int(b.Count * 40 / max(peak, 1))
		fmt.Fprintf(w, "  < %-8s %9d %s\n", ns(b.LeNS), b.Count, strings.Repeat("#", max(bar, 1)))
	}
	if len(l.Worst) > 0 {
		fmt.Fprintln(w, "  worst:")
		rows = rows[:0]
		for i, x := range l.Worst {
			if i == min(top, 5) {
				break
			}
			rows = append(rows, []string{"@" + ns(x.TS), ns(x.LatencyNS), x.Woken + " woken by " + x.Waker})
		}
		textwidth.Table(w, width, "  ", nil, rows, nil, 2, -1)
	}

	fmt.Fprintf(w, "\nPs (%d)\n", len(r.Workers))
	rows = rows[:0]
	for _, p := range r.Workers {
		busy := "-"
		span := r.SpanNS
		if p.SpanNS > 0 { // a fleet's: the time of the instances with this P
			span = p.SpanNS
		}
		if span > 0 {
			busy = fmt.Sprintf("%.0f%%", 100*float64(p.BusyNS)/float64(span))
		}
		rows = append(rows, []string{"P" + strconv.Itoa(p.Worker), ns(p.BusyNS), busy, ns(p.ParkedNS), strconv.FormatInt(p.Polls, 10)})
	}
	textwidth.Table(w, width, "  ", []string{"P", "BUSY", "BUSY%", "PARKED", "POLLS"}, rows, nil, -1, -1)
	if len(r.Queue) > 0 {
		var mx analyze.QueuePoint
		var sum int64
		for _, q := range r.Queue {
			if q.GlobalQ > mx.GlobalQ {
				mx = q
			}
			sum += int64(q.GlobalQ)
		}
		fmt.Fprintf(w, "  global run queue: max %d at @%s, mean %.1f (%d samples)\n", mx.GlobalQ, ns(mx.TS),
			float64(sum)/float64(len(r.Queue)), len(r.Queue))
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(w, "\nWARNINGS (%d)\n", len(r.Warnings))
		for _, s := range r.Warnings {
			writeWrapped(w, "  ", s, width)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func more(w io.Writer, n, top int) {
	if n > top {
		fmt.Fprintf(w, "  ... %d more (-top, -json)\n", n-top)
	}
}

// stackText is a compact stack: function names, innermost first, joined
// by " < " (all of them with full, or the package-less names).
func stackText(frames []string, full bool) string {
	if len(frames) == 0 {
		return "(no stack: blocked before the records began)"
	}
	parts := make([]string, 0, len(frames))
	for _, f := range frames {
		fn, _, _ := strings.Cut(f, " ")
		if !full {
			fn = analyze.ShortFunc(fn)
		}
		parts = append(parts, fn)
	}
	return strings.Join(parts, " < ")
}

// writeWrapped writes prefix+text, wrapped at width (0: no wrap) with the
// continuation lines indented under the text.
func writeWrapped(w io.Writer, prefix, text string, width int) {
	indent := strings.Repeat(" ", utf8.RuneCountInString(prefix)+2)
	line := "  " + prefix
	avail := width
	for i, word := range strings.Fields(text) {
		if i > 0 && avail > 0 && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > avail {
			fmt.Fprintln(w, line)
			line = indent + word
			continue
		}
		if i > 0 {
			line += " "
		}
		line += word
	}
	fmt.Fprintln(w, line)
}
