package metrics

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// TextContentType is the Content-Type of WriteText's output: the
// Prometheus text exposition format, version 0.0.4.
const TextContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteText writes fams in the Prometheus text exposition format; a
// family without a metric is left out, as client_golang's registry leaves
// it out.
func WriteText(w io.Writer, fams []Family) error {
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		if len(f.Metrics) == 0 {
			continue
		}
		bw.WriteString("# HELP " + f.Name + " " + escapeHelp(f.Help) + "\n")
		typ := "counter"
		switch f.Kind {
		case Gauge:
			typ = "gauge"
		case HistogramKind:
			typ = "histogram"
		}
		bw.WriteString("# TYPE " + f.Name + " " + typ + "\n")
		for _, m := range f.Metrics {
			if m.Hist == nil {
				sample(bw, f.Name, f.Labels, m.Values, "", "", m.Value)
				continue
			}
			h := m.Hist
			for i, le := range h.Bounds {
				sample(bw, f.Name+"_bucket", f.Labels, m.Values, "le", formatFloat(le), float64(h.Cumulative[i]))
			}
			sample(bw, f.Name+"_bucket", f.Labels, m.Values, "le", "+Inf", float64(h.Count))
			sample(bw, f.Name+"_sum", f.Labels, m.Values, "", "", h.Sum)
			sample(bw, f.Name+"_count", f.Labels, m.Values, "", "", float64(h.Count))
		}
	}
	return bw.Flush()
}

func sample(w *bufio.Writer, name string, labels, values []string, extraName, extraValue string, v float64) {
	w.WriteString(name)
	if len(labels) > 0 || extraName != "" {
		w.WriteByte('{')
		sep := ""
		for i, l := range labels {
			w.WriteString(sep + l + `="` + escapeLabel(values[i]) + `"`)
			sep = ","
		}
		if extraName != "" {
			w.WriteString(sep + extraName + `="` + extraValue + `"`)
		}
		w.WriteByte('}')
	}
	w.WriteByte(' ')
	w.WriteString(formatFloat(v))
	w.WriteByte('\n')
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// escapeHelp and escapeLabel escape as the text format wants (no
// strings.Replacer: built at init, it would allocate in every program
// that links the shim).
func escapeHelp(s string) string { return escape(s, false) }

func escapeLabel(s string) string { return escape(s, true) }

func escape(s string, quote bool) string {
	if !strings.ContainsAny(s, "\\\n\"") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '"' && quote:
			b.WriteString(`\"`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
