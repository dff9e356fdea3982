// Package records reads wakeshim's records as a program wants them: a file
// of either kind (binary v9 or its JSONL rendering) told apart by its
// content, its records as an iterator, and a run of files (a shim
// directory, a conversion's rotated segments, a Go execution trace
// converted on the fly) as one time line with frames and spawn locations
// resolved. Package format does the bytes; this package does the files.
package records

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"

	"github.com/wakeshim/wakeshim/format"
)

// Kind is the kind of an input file, told by its first bytes.
type Kind int

const (
	KindV9    Kind = iota + 1 // binary v9 (TOKIOTRC magic)
	KindJSONL                 // the JSONL rendering of v9
	KindTrace                 // a Go execution trace ("go 1.NN trace")
)

func (k Kind) String() string {
	switch k {
	case KindV9:
		return "v9"
	case KindJSONL:
		return "jsonl"
	case KindTrace:
		return "trace"
	}
	return "unknown"
}

// ErrNotRecords reports a file that is none of the kinds (matched with
// errors.Is).
var ErrNotRecords = errors.New("not a v9 records file, its JSONL rendering or a Go execution trace")

// Sniff tells the kind of a file from its first bytes (16 are enough).
func Sniff(head []byte) (Kind, error) {
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	switch {
	case bytes.HasPrefix(head, []byte(format.Magic)):
		return KindV9, nil
	case bytes.HasPrefix(head, []byte("go 1.")):
		return KindTrace, nil
	case len(trimmed) > 0 && trimmed[0] == '{':
		return KindJSONL, nil
	case len(head) == 0:
		return 0, &kindError{"empty file, " + ErrNotRecords.Error()}
	case len(head) < len(format.Magic) && strings.HasPrefix(format.Magic, string(head)):
		return 0, &kindError{fmt.Sprintf("truncated v9 records file: %d bytes, shorter than the header", len(head))}
	}
	return 0, &kindError{fmt.Sprintf("%s (starts with %q)", ErrNotRecords, head[:min(len(head), 16)])}
}

// File is an open records file of either kind.
type File struct {
	Path string
	Kind Kind
	Size int64 // bytes; -1 when not a regular file

	c     io.Closer
	next  func() (format.Record, error)
	where func() string
	br    *bufio.Reader
}

// Open opens a records file, binary v9 or JSONL, by its content. A Go
// execution trace is not a records file: Open returns a *File of
// KindTrace with no records (Reader gives its bytes, for the converter).
// Errors name the file.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	rf, err := NewFile(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	rf.Size, rf.c = size, f
	return rf, nil
}

// NewFile reads records from r, named name in errors. Close does not close r.
func NewFile(name string, r io.Reader) (*File, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	head, _ := br.Peek(16)
	kind, err := Sniff(head)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := &File{Path: name, Kind: kind, Size: -1, br: br}
	switch kind {
	case KindV9:
		rd, err := format.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		f.next = rd.Next
		f.where = func() string { return fmt.Sprintf("offset %d", rd.Offset()) }
	case KindJSONL:
		rd := format.NewJSONLReader(br)
		f.next = rd.Next
		f.where = func() string { return fmt.Sprintf("line %d", rd.Line()) }
	default:
		f.next = func() (format.Record, error) {
			return format.Record{}, fmt.Errorf("a Go execution trace, not records: convert it first (wakeshim convert %s)", name)
		}
		f.where = func() string { return "offset 0" }
	}
	return f, nil
}

// Reader returns the file's bytes from the start (for a trace, which the
// converter reads): for a trace in a regular file, the *os.File itself,
// which convert.Convert reads where it lies. (The file is then no longer
// at the place Next reads from: Reader is for traces, which have no
// records.)
func (f *File) Reader() io.Reader {
	if of, ok := f.c.(*os.File); ok && f.Kind == KindTrace && rewound(of) {
		return of
	}
	return f.br
}

// rewound reports whether of is a regular file, put back at its start for
// convert.Convert, which reads such a file where it lies (ReadAt): the
// caller has read its first bytes to tell its kind.
func rewound(of *os.File) bool {
	fi, err := of.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	_, err = of.Seek(0, io.SeekStart)
	return err == nil
}

// Where describes the position just past the last record read: "offset N"
// (v9) or "line N" (JSONL).
func (f *File) Where() string { return f.where() }

// Next returns the next record; io.EOF at a clean end. Other errors name
// the file and where in it (format errors carry the offset or line).
func (f *File) Next() (format.Record, error) {
	rec, err := f.next()
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: %w", f.Path, err)
	}
	return rec, err
}

// All iterates over the file's records. An error ends the iteration: it
// is yielded once, with a zero Record. A record's Frames are its own.
func (f *File) All() iter.Seq2[format.Record, error] {
	return func(yield func(format.Record, error) bool) {
		for {
			rec, err := f.Next()
			if err == io.EOF {
				return
			}
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

// Close closes the file (not a reader given to NewFile).
func (f *File) Close() error {
	if f.c == nil {
		return nil
	}
	return f.c.Close()
}

// kindError is a Sniff error: it matches ErrNotRecords.
type kindError struct{ msg string }

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == ErrNotRecords }
