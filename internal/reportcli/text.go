package reportcli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wakeshim/wakeshim/analyze"
)

// writeText renders the report for a terminal: width columns (0: no
// limit), top rows per table.
func writeText(w io.Writer, r *analyze.Report, width, top int) {
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
	tableSub(w, width, []string{"#", "REASON", "COUNT", "TOTAL", "P50", "P99", "MAX", "AT END", "WAKERS"}, rows, subs, 8, 1)
	more(w, len(r.Pending), top)

	fmt.Fprintf(w, "\nWHO WAKES WHOM (%d edge(s), most wakes first; latency = wake to run)\n", len(r.Wakes))
	rows = rows[:0]
	for i, e := range r.Wakes {
		if i == top {
			break
		}
		rows = append(rows, []string{strconv.FormatInt(e.Count, 10), ns(e.Latency.P50NS), ns(e.Latency.P99NS), ns(e.Latency.MaxNS),
			e.Waker + " -> " + e.Woken})
	}
	table(w, width, []string{"WAKES", "P50", "P99", "MAX", "WAKER -> WOKEN"}, rows, 4, -1)
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
		fmt.Fprintf(w, "  <= %-7s %9d %s\n", ns(b.LeNS), b.Count, strings.Repeat("#", max(bar, 1)))
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
		table(w, width, nil, rows, 2, -1)
	}

	fmt.Fprintf(w, "\nPs (%d)\n", len(r.Workers))
	rows = rows[:0]
	for _, p := range r.Workers {
		busy := "-"
		if r.SpanNS > 0 {
			busy = fmt.Sprintf("%.0f%%", 100*float64(p.BusyNS)/float64(r.SpanNS))
		}
		rows = append(rows, []string{"P" + strconv.Itoa(p.Worker), ns(p.BusyNS), busy, ns(p.ParkedNS), strconv.FormatInt(p.Polls, 10)})
	}
	table(w, width, []string{"P", "BUSY", "BUSY%", "PARKED", "POLLS"}, rows, -1, -1)
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

// table writes rows aligned in columns two spaces apart. When width is
// not 0 and the table is too wide, the flex columns (the last one first,
// then the other) are cut with "…" to fit.
func table(w io.Writer, width int, header []string, rows [][]string, flexA, flexB int) {
	tableSub(w, width, header, rows, nil, flexA, flexB)
}

// tableSub is table with, under each row i, the line subs[i] indented
// (cut to width).
func tableSub(w io.Writer, width int, header []string, rows [][]string, subs []string, flexA, flexB int) {
	all := rows
	if header != nil {
		all = append([][]string{header}, rows...)
	}
	if len(all) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	n := len(all[0])
	widths := make([]int, n)
	for _, r := range all {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	total := 2
	for _, x := range widths {
		total += x + 2
	}
	total -= 2
	if width > 0 && total > width {
		over := total - width
		// The first flex column down to 24 columns, then the other down to
		// 16, then the first down to 8.
		for _, step := range []struct{ col, min int }{{flexA, 24}, {flexB, 16}, {flexA, 8}} {
			f := step.col
			if f < 0 || f >= n || over <= 0 {
				continue
			}
			cut := min(over, widths[f]-step.min)
			if cut > 0 {
				widths[f] -= cut
				over -= cut
			}
		}
	}
	for ri, r := range all {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			c = clipText(c, widths[i])
			b.WriteString(c)
			if i < n-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if i := ri - (len(all) - len(rows)); i >= 0 && i < len(subs) {
			sub := "      " + subs[i]
			if width > 0 {
				sub = clipText(sub, width)
			}
			fmt.Fprintln(w, sub)
		}
	}
}

func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
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
