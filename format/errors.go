package format

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Decoding errors come wrapped in a *FormatError that says
// where; test for the kind with errors.Is.
var (
	ErrBadMagic    = errors.New("format: bad magic (not a v9 TOKIOTRC file)")
	ErrVersion     = errors.New("format: unsupported version")
	ErrUnknownCode = errors.New("format: unknown record code")
	// ErrTruncated reports input that ends inside a record: every record
	// before it was complete and has been returned. A *FormatError carrying
	// it also matches io.ErrUnexpectedEOF.
	ErrTruncated   = errors.New("format: truncated record")
	ErrInvalidUTF8 = errors.New("format: invalid UTF-8")
	ErrLimit       = errors.New("format: value past the format's limits")
	// ErrReservedID reports a definition of id 0, which means "unknown".
	ErrReservedID = errors.New("format: definition of reserved id 0")
	// ErrSyntax reports a JSONL line that is not a record of the spec's shape.
	ErrSyntax = errors.New("format: bad JSONL record")

	ErrWriteAfterClose = errors.New("format: write after close")
	// ErrTableFull is returned by Table.Intern when a file's id table has no
	// room left: the caller starts a new file.
	ErrTableFull = errors.New("format: id table full")
)

// FormatError describes bad input: where it is and what is wrong. Offset is
// the byte offset of the start of the offending record (or header field) in
// the binary input. For JSONL input Line is the 1-based line number and
// Offset the byte offset where that line starts.
type FormatError struct {
	Offset int64
	Line   int  // JSONL only; 0 for binary input
	Code   Code // the record's code, when HasCode
	// HasCode tells whether Code is known (it is not for header errors or a
	// JSONL line with no recognisable event).
	HasCode bool
	Err     error  // one of the sentinels above
	Detail  string // optional specifics, e.g. the version found
}

func (e *FormatError) Error() string {
	where := fmt.Sprintf("offset %d", e.Offset)
	if e.Line > 0 {
		where = fmt.Sprintf("line %d", e.Line)
	}
	switch {
	case e.HasCode && e.Code.Valid():
		where += fmt.Sprintf(" (record %s, code %d)", e.Code, uint8(e.Code))
	case e.HasCode:
		where += fmt.Sprintf(" (code %d)", uint8(e.Code))
	}
	msg := e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return where + ": " + msg
}

// Unwrap lets errors.Is match the sentinel, and io.ErrUnexpectedEOF for a
// truncated record.
func (e *FormatError) Unwrap() []error {
	if e.Err == ErrTruncated {
		return []error{e.Err, io.ErrUnexpectedEOF}
	}
	return []error{e.Err}
}
