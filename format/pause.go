package format

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Pause is a stop-the-world pause of the traced program: a GC's sweep or
// mark termination, the tracer's start or stop, a ReadMemStats. The
// goroutines it held up are released in a burst when it ends, which
// without it reads as a thundering herd or as slow wakes.
//
// The v9 records have no code for it, and codes 0-9 stay dial9's: the
// converter hands pauses to an Output that takes them
// (convert.PauseOutput), and the shim keeps each records file's pauses
// beside it as PROG-PID-SEQ.pauses.txt, in the text form below.
type Pause struct {
	// TS is when the pause began, on the segment's clock (a record's
	// ts_us; 0 if it began before the segment).
	TS uint32
	// Duration is its length in microseconds.
	Duration uint32
	// Reason is the runtime's reason for it ("GC sweep termination",
	// "start trace").
	Reason string
}

// PauseExt ends the name of the pauses file the shim keeps beside its
// records file PROG-PID-SEQ.bin: PROG-PID-SEQ.pauses.txt. Both its
// writer (internal/rotate) and its reader (records) take it from here.
const PauseExt = "pauses.txt"

// PauseHeader is the first line of a pauses file. Each line after it is
// one pause, "TS DURATION REASON": microseconds in decimal, and the
// reason to the end of the line.
const PauseHeader = "# wakeshim pauses v1\n"

// ErrPauseSyntax reports a line of a pauses file that is not a pause (or
// a file without PauseHeader), wrapped in a *PauseError.
var ErrPauseSyntax = errors.New("format: bad pauses line")

// PauseError says where a pauses file is bad: Line is 1-based, Offset the
// byte offset where that line starts.
type PauseError struct {
	Line   int
	Offset int64
	Err    error // ErrPauseSyntax or ErrTruncated
	Detail string
}

func (e *PauseError) Error() string {
	msg := fmt.Sprintf("line %d (offset %d): %v", e.Line, e.Offset, e.Err)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap lets errors.Is match the sentinel, and io.ErrUnexpectedEOF for a
// truncated last line.
func (e *PauseError) Unwrap() []error {
	if e.Err == ErrTruncated {
		return []error{e.Err, io.ErrUnexpectedEOF}
	}
	return []error{e.Err}
}

// AppendPause appends p as a line of a pauses file. A newline in the
// reason becomes a space, so that the line stays one.
func AppendPause(b []byte, p *Pause) []byte {
	b = strconv.AppendUint(b, uint64(p.TS), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(p.Duration), 10)
	b = append(b, ' ')
	for i := range len(p.Reason) {
		c := p.Reason[i]
		if c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, '\n')
}

// PauseReader reads a pauses file.
type PauseReader struct {
	r    *bufio.Reader
	line int
	off  int64
}

// NewPauseReader checks the header and returns a reader of the pauses
// after it.
func NewPauseReader(r io.Reader) (*PauseReader, error) {
	pr := &PauseReader{r: bufio.NewReader(r)}
	h, err := pr.r.ReadString('\n')
	pr.line, pr.off = 1, int64(len(h))
	if err != nil && err != io.EOF {
		return nil, err
	}
	if h != PauseHeader {
		return nil, &PauseError{Line: 1, Err: ErrPauseSyntax, Detail: fmt.Sprintf("header %q, want %q", strings.TrimSuffix(h, "\n"), strings.TrimSuffix(PauseHeader, "\n"))}
	}
	return pr, nil
}

// Next returns the next pause; io.EOF at a clean end, a *PauseError
// (matching ErrTruncated and io.ErrUnexpectedEOF) for a last line
// without its newline: a file cut short, every line before it good.
func (pr *PauseReader) Next() (Pause, error) {
	s, err := pr.r.ReadSlice('\n')
	start := pr.off
	pr.off += int64(len(s))
	pr.line++
	if err == bufio.ErrBufferFull {
		return Pause{}, &PauseError{Line: pr.line, Offset: start, Err: ErrPauseSyntax, Detail: "line too long"}
	}
	if err == io.EOF {
		if len(s) == 0 {
			return Pause{}, io.EOF
		}
		return Pause{}, &PauseError{Line: pr.line, Offset: start, Err: ErrTruncated, Detail: "last line has no newline"}
	}
	if err != nil {
		return Pause{}, err
	}
	p, ok := parsePause(s[:len(s)-1])
	if !ok {
		return Pause{}, &PauseError{Line: pr.line, Offset: start, Err: ErrPauseSyntax, Detail: fmt.Sprintf("%q is not \"TS DURATION REASON\"", s[:len(s)-1])}
	}
	return p, nil
}

func parsePause(s []byte) (Pause, bool) {
	f1, rest, ok1 := bytes.Cut(s, []byte{' '})
	f2, reason, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 {
		return Pause{}, false
	}
	ts, err1 := strconv.ParseUint(string(f1), 10, 32)
	d, err2 := strconv.ParseUint(string(f2), 10, 32)
	if err1 != nil || err2 != nil || len(reason) == 0 {
		return Pause{}, false
	}
	return Pause{TS: uint32(ts), Duration: uint32(d), Reason: string(reason)}, true
}
