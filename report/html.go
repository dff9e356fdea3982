package report

// WriteHTML renders a wakeshim report (the JSON document of
// `wakeshim report -json`, described in docs/report.md) as one
// self-contained HTML page: the summary, the findings, the pending groups
// with their stacks, the top wake edges, the wake-to-run latency histogram
// and a timeline of the Ps with their polls and wake arrows.
//
// The page is opened on servers and laptops with no network, so nothing in
// it is fetched: the report is embedded as JSON in a
// <script type="application/json"> element, and the script, the styles
// and the charts (SVG built by the script) are inline; fonts are the
// system's. A content security policy (default-src 'none') makes the
// browser refuse any fetch, should a later change try one. The page reads
// only fields it knows and treats missing ones as empty, so a report with
// more fields (or fewer sections) still renders.
//
// What the page holds, top to bottom: the inputs and any warnings; summary
// numbers; the findings, each with its numbers and, when it names a pending
// group, a link that opens that group; the goroutines still blocked at the
// end, a badge each with its verdict (leaked, deadlocked, suspect, idle:
// a colour each, the evidence as the badge's tooltip and beside it), the
// idle ones in a collapsed section of their own headed "idle service
// goroutines: N, by function: ...", then the leak profile used or the note
// that there was none; the pending groups (sortable by any
// column, filterable by function, file, reason or waker; a click shows the
// stack and the wakers with their goroutine ids); the wake chains of the
// longest waits (a button per wait; the selected one drawn as a row per
// goroutine of its chain over the wait's window, a bar per link coloured
// by its kind and labelled with its share of the wait, an SVG arrow per
// wake from the waker's row to the woken goroutine's, the roots summed as
// the text report sums them, and the links again as an indented list);
// the top wake edges as a
// graph and as a table; the wake-to-run histogram (the report's buckets are
// powers of two, drawn with equal widths: a log time axis) and the worst
// cases, each linked to its place on the timeline; busy and parked time per
// P and the global run queue; and the timeline of the report's window: a
// lane per P, a bar per poll, an arrow per wake from where the waker ran
// (from above the lanes when no goroutine woke it) to where the woken
// goroutine ran next; drag to zoom, or type a window.
//
// Large reports stay responsive because the page draws at most 200
// pending groups, 100 wake edges (12 in the graph), 50 worst cases, and in
// the timeline's current view 6000 polls (the longest) and 1500 wakes (an
// even sample), and says so when it leaves some out.
//
// (This comment is about the page; the package is described in doc.go.)

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"strings"
)

//go:embed page.html
var pageTemplate string

//go:embed page.css
var pageCSS string

//go:embed page.js
var pageJS string

// ErrNotReport is returned by Write when the report is not a JSON object.
var ErrNotReport = errors.New("report: report is not a JSON object")

// HTMLConfig is the page's settings; the zero value is the default.
type HTMLConfig struct {
	// Title heads the page and names its browser tab. Default: "wakeshim
	// report", followed by the first input's path when the report has one.
	Title string
}

// Write writes the page for report, a JSON object as produced by
// `wakeshim report -json`, to w, with the default Config.
func WriteHTML(w io.Writer, report []byte) error {
	return HTMLConfig{}.WriteHTML(w, report)
}

// Write writes the page for report to w.
func (c HTMLConfig) WriteHTML(w io.Writer, report []byte) error {
	data, err := embeddable(report)
	if err != nil {
		return err
	}
	title := c.Title
	if title == "" {
		title = defaultTitle(report)
	}
	fill := map[string][]byte{
		"TITLE": []byte(html.EscapeString(title)),
		"CSS":   []byte(pageCSS),
		"JS":    []byte(pageJS),
		"DATA":  data,
	}
	// The template is written piece by piece so that the report, which can
	// be large, is not copied once more into the page.
	rest := pageTemplate
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			break
		}
		v, ok := fill[rest[i+2:i+j]]
		if !ok {
			return fmt.Errorf("report: page template: unknown field %q", rest[i:i+j+2])
		}
		if _, err := io.WriteString(w, rest[:i]); err != nil {
			return err
		}
		if _, err := w.Write(v); err != nil {
			return err
		}
		rest = rest[i+j+2:]
	}
	_, err = io.WriteString(w, rest)
	return err
}

// embeddable returns report compacted and made safe inside a <script>
// element: json.HTMLEscape turns every '<', '>' and '&' (which in JSON only
// occur inside strings) into \u003c, \u003e and \u0026, so no "</script>"
// or "<!--" in a frame or a name can end or confuse the element, and
// JSON.parse reads the same strings back.
func embeddable(report []byte) ([]byte, error) {
	trimmed := bytes.Trim(report, " \t\r\n") // JSON's whitespace
	var compact bytes.Buffer
	compact.Grow(len(trimmed))
	if err := json.Compact(&compact, trimmed); err != nil {
		// Compact does not say where; the decoder does (on this slow path only).
		if uerr := json.Unmarshal(trimmed, new(json.RawMessage)); uerr != nil {
			err = uerr
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			lead := len(report) - len(bytes.TrimLeft(report, " \t\r\n"))
			return nil, fmt.Errorf("report: report JSON at byte offset %d: %w", int64(lead)+se.Offset, err)
		}
		return nil, fmt.Errorf("report: report JSON: %w", err)
	}
	if compact.Len() == 0 || compact.Bytes()[0] != '{' {
		return nil, ErrNotReport
	}
	var out bytes.Buffer
	out.Grow(compact.Len() + compact.Len()/16)
	json.HTMLEscape(&out, compact.Bytes())
	return out.Bytes(), nil
}

// defaultTitle names the page after the report's first input.
func defaultTitle(report []byte) string {
	var head struct {
		Inputs []struct {
			Path string `json:"path"`
		} `json:"inputs"`
	}
	const t = "wakeshim report"
	if json.Unmarshal(report, &head) != nil || len(head.Inputs) == 0 || head.Inputs[0].Path == "" {
		return t
	}
	name := head.Inputs[0].Path
	if len(head.Inputs) > 1 {
		name += fmt.Sprintf(" (+%d)", len(head.Inputs)-1)
	}
	return t + ": " + name
}
