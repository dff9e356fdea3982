package report

import (
	"encoding/json"

	"github.com/wakeshim/wakeshim/analyze"
)

// JSON returns the report's JSON document, as `wakeshim report -json`
// writes it and the HTML page embeds it: indented, with a final newline.
// docs/report.md documents every field.
func JSON(r *analyze.Report) ([]byte, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
