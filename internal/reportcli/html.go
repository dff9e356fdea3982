package reportcli

import (
	"errors"
	"io"
)

// writeHTML renders the report's JSON document as the self-contained HTML
// page (-html). It is a variable so that the page's package can be wired in
// (and swapped in tests) without touching the rest of the command.
var writeHTML = func(w io.Writer, reportJSON []byte) error {
	return errors.New("the HTML page is not built into this binary yet")
}
