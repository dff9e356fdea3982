// Package textwidth lays out the CLIs' text tables within a terminal's
// width: columns aligned two spaces apart, the widest free-text columns cut
// with "…" when the table would not fit.
package textwidth

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Table writes rows (after header, if not nil) aligned in columns two
// spaces apart, each line prefixed with indent. When width is not 0 and
// the table is too wide, column flexA is cut down to 24 columns, then
// flexB to 28, flexA to 12, flexB to 16 and flexA to 8 (-1: none). subs, if not nil, are lines
// written under each row, indented by four more spaces, cut to width.
func Table(w io.Writer, width int, indent string, header []string, rows [][]string, subs []string, flexA, flexB int) {
	all := rows
	if header != nil {
		all = append([][]string{header}, rows...)
	}
	if len(all) == 0 {
		fmt.Fprintln(w, indent+"(none)")
		return
	}
	n := len(all[0])
	widths := make([]int, n)
	for _, r := range all {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	total := utf8.RuneCountInString(indent)
	for _, x := range widths {
		total += x + 2
	}
	total -= 2
	if width > 0 && total > width {
		over := total - width
		for _, step := range []struct{ col, min int }{{flexA, 24}, {flexB, 28}, {flexA, 12}, {flexB, 16}, {flexA, 8}} {
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
		b.WriteString(indent)
		for i, c := range r {
			c = Clip(c, widths[i])
			b.WriteString(c)
			if i < n-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if i := ri - (len(all) - len(rows)); i >= 0 && i < len(subs) {
			sub := indent + "    " + subs[i]
			if width > 0 {
				sub = Clip(sub, width)
			}
			fmt.Fprintln(w, sub)
		}
	}
}

// Clip cuts s to n runes, the last one "…" when cut.
func Clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
}

// Wrap breaks each line of text longer than width (0: none) at spaces,
// the continuation lines prefixed with indent. A word longer than the
// width stays whole.
func Wrap(text string, width int, indent string) string {
	if width <= 0 {
		return text
	}
	var b strings.Builder
	lines := strings.SplitAfter(text, "\n")
	for _, l := range lines {
		nl := strings.HasSuffix(l, "\n")
		l = strings.TrimSuffix(l, "\n")
		for utf8.RuneCountInString(l) > width {
			cut := -1
			n := 0
			for i, r := range l {
				if n > width {
					break
				}
				if r == ' ' && n > len(indent) {
					cut = i
				}
				n++
				_ = r
			}
			if cut <= 0 {
				break
			}
			b.WriteString(strings.TrimRight(l[:cut], " "))
			b.WriteByte('\n')
			l = indent + strings.TrimLeft(l[cut:], " ")
		}
		b.WriteString(l)
		if nl {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
