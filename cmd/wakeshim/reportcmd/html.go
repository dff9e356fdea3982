package reportcmd

import (
	"io"

	"github.com/wakeshim/wakeshim/report"
)

// writeHTML renders the report's JSON document as the self-contained HTML
// page (-html). A variable so that tests can swap it.
var writeHTML = func(w io.Writer, reportJSON []byte) error {
	return report.WriteHTML(w, reportJSON)
}
