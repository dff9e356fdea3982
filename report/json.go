package report

import (
	"bytes"
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
// w: json.MarshalIndent(r, "", "  ") and a final newline. It streams:
// each value is appended to one buffer, written out in pieces of about
// 64 KB (jsonenc.go, json_gen.go); the document is never held whole (on
// the corpus's nethttp trace it is 6.9 MB). A NaN or infinite float
// fails it, as json.Marshal would, before anything is written.
func WriteJSON(w io.Writer, r *analyze.Report) error {
	if r == nil {
		_, err := io.WriteString(w, "null\n")
		return err
	}
	if err := checkReportJSON(r); err != nil {
		return err
	}
	e := &jsonWriter{w: w}
	b := make([]byte, 0, jsonChunk+4<<10)
	b = appendReportJSON(e, b, r)
	b = append(b, '\n')
	e.flush(b)
	return e.err
}

//go:generate go run ./internal/jsongen/gen -o json_gen.go -test jsongen_types_test.go
