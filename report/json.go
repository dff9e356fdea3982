package report

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/wakeshim/wakeshim/analyze"
)

// JSON returns the report's JSON document, as `wakeshim report -json`
// writes it and the HTML page embeds it: indented, with a final newline.
// docs/report.md documents every field.
func JSON(r *analyze.Report) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteJSON writes the report's JSON document, the bytes JSON returns, to
// w. It indents the compact encoding as it writes, in pieces of 64 KB:
// json.MarshalIndent holds the compact and the indented document both,
// and grows each by copies (on the corpus's nethttp trace, a 6.9 MB
// document, a third of report's peak memory).
func WriteJSON(w io.Writer, r *analyze.Report) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeIndented(w, data)
}

// writeIndented writes src, compact JSON as json.Marshal makes it, as
// json.Indent(dst, src, "", "  ") would, and a final newline.
func writeIndented(w io.Writer, src []byte) error {
	const chunk = 64 << 10
	out := make([]byte, 0, chunk+256)
	var werr error
	flush := func() {
		if werr == nil && len(out) > 0 {
			_, werr = w.Write(out)
		}
		out = out[:0]
	}
	newline := func(depth int) {
		out = append(out, '\n')
		for range depth {
			out = append(out, ' ', ' ')
		}
	}
	depth, needIndent := 0, false
	for i := 0; i < len(src); i++ {
		if len(out) >= chunk {
			flush()
		}
		c := src[i]
		if needIndent && c != '}' && c != ']' {
			needIndent = false
			depth++
			newline(depth)
		}
		switch c {
		case '"': // a string, copied whole: its punctuation is its own
			j := i + 1
			for j < len(src) {
				if k := bytes.IndexAny(src[j:], `"\`); k < 0 {
					j = len(src)
				} else if j += k; src[j] == '\\' {
					j += 2
					continue
				}
				break
			}
			j = min(j+1, len(src))
			out = append(out, src[i:j]...)
			i = j - 1
		case '{', '[':
			needIndent = true // {} and [] stay so
			out = append(out, c)
		case ',':
			out = append(out, c)
			newline(depth)
		case ':':
			out = append(out, c, ' ')
		case '}', ']':
			if needIndent {
				needIndent = false
			} else {
				depth--
				newline(depth)
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	out = append(out, '\n')
	flush()
	return werr
}
