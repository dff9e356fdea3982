package format

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"unicode/utf8"
)

// Reader decodes a binary v9 file record by record.
type Reader struct {
	r   *bufio.Reader
	off int64  // offset just past the last record returned
	buf []byte // for reads larger than the bufio buffer
	big bool   // the last peek went through buf
	err error
}

// NewReader reads and checks the file header. A file that does not start
// with the magic gets ErrBadMagic at offset 0, another version ErrVersion at
// offset 8 (the version field), a file shorter than the header ErrTruncated
// at offset 0; all wrapped in a *FormatError.
func NewReader(r io.Reader) (*Reader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	rd := &Reader{r: br, buf: make([]byte, 0, 64)}
	hdr := make([]byte, HeaderSize)
	n, err := io.ReadFull(br, hdr)
	rd.off = int64(n)
	switch {
	case err == io.EOF || (err == io.ErrUnexpectedEOF && string(hdr[:min(n, len(Magic))]) == Magic[:min(n, len(Magic))]):
		return nil, &FormatError{Err: ErrTruncated, Detail: fmt.Sprintf("header is %d of %d bytes", n, HeaderSize)}
	case err == io.ErrUnexpectedEOF:
		return nil, &FormatError{Err: ErrBadMagic}
	case err != nil:
		return nil, err
	}
	if string(hdr[:len(Magic)]) != Magic {
		return nil, &FormatError{Err: ErrBadMagic, Detail: fmt.Sprintf("found %q", hdr[:len(Magic)])}
	}
	if v := binary.LittleEndian.Uint32(hdr[len(Magic):]); v != Version {
		return nil, &FormatError{Offset: int64(len(Magic)), Err: ErrVersion, Detail: fmt.Sprintf("version %d, want %d", v, Version)}
	}
	return rd, nil
}

// Offset returns the byte offset just past the last record returned.
func (r *Reader) Offset() int64 { return r.off }

// Next decodes the next record. At a clean end of input it returns io.EOF;
// input that ends inside a record gives a *FormatError wrapping
// ErrTruncated (and io.ErrUnexpectedEOF). Errors are sticky.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	rec, err := r.next()
	if err != nil {
		r.err = err
	}
	return rec, err
}

func (r *Reader) next() (Record, error) {
	start := r.off
	c, err := r.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return Record{}, io.EOF
		}
		return Record{}, err
	}
	code := Code(c)
	if !code.Valid() {
		return Record{}, r.fail(start, code, ErrUnknownCode, "")
	}
	s := &specs[code]
	// The fixed part of the record, decoded in place in the bufio buffer;
	// then the variable part, if any (always the last field).
	fixed := s.Size - 1
	b, err := r.peek(fixed)
	if err != nil {
		return Record{}, r.failRead(start, code, err)
	}
	rec := Record{Code: code}
	varKind, varLen := FieldKind(0), 0
	for _, f := range s.Fields {
		switch f.Kind {
		case U8:
			rec.setU(f.Slot, uint64(b[0]))
			b = b[1:]
		case U16:
			rec.setU(f.Slot, uint64(binary.LittleEndian.Uint16(b)))
			b = b[2:]
		case U32:
			rec.setU(f.Slot, uint64(binary.LittleEndian.Uint32(b)))
			b = b[4:]
		case String:
			varKind, varLen = String, int(binary.LittleEndian.Uint16(b))
			b = b[2:]
		case FrameIDs:
			varKind, varLen = FrameIDs, 2*int(b[0])
			b = b[1:]
		}
	}
	r.discard(fixed)
	if varLen > 0 {
		if b, err = r.peek(varLen); err != nil {
			return Record{}, r.failRead(start, code, err)
		}
		switch varKind {
		case String:
			if !utf8.Valid(b) {
				return Record{}, r.fail(start, code, ErrInvalidUTF8, "")
			}
			rec.Str = string(b)
		case FrameIDs:
			rec.Frames = make([]uint16, varLen/2)
			for i := range rec.Frames {
				rec.Frames[i] = binary.LittleEndian.Uint16(b[2*i:])
			}
		}
		r.discard(varLen)
	}
	if (code == CodeSpawnLocationDef || code == CodeFrameDef) && rec.ID == 0 {
		return Record{}, r.fail(start, code, ErrReservedID, "")
	}
	r.off = start + 1 + int64(fixed+varLen)
	return rec, nil
}

func (r *Reader) fail(start int64, code Code, err error, detail string) error {
	return &FormatError{Offset: start, Code: code, HasCode: true, Err: err, Detail: detail}
}

// failRead reports a failed read: a short one is a truncated record, any
// other error of the underlying reader is passed on as it is.
func (r *Reader) failRead(start int64, code Code, err error) error {
	if short, ok := err.(shortRead); ok {
		return r.fail(start, code, ErrTruncated, short.Error())
	}
	return err
}

// peek returns the next n bytes without consuming them; they stay valid
// until discard. Reads of more than the bufio buffer holds go through
// r.buf instead.
func (r *Reader) peek(n int) ([]byte, error) {
	if n <= r.r.Size() {
		b, err := r.r.Peek(n)
		if err == nil {
			return b, nil
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, shortRead{r.r.Buffered(), n}
		}
		return nil, err
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	m, err := io.ReadFull(r.r, r.buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, shortRead{m, n}
	}
	if err != nil {
		return nil, err
	}
	r.big = true
	return r.buf, nil
}

// discard consumes the n bytes of the last peek.
func (r *Reader) discard(n int) {
	if r.big {
		r.big = false // already consumed by io.ReadFull
		return
	}
	r.r.Discard(n)
}

// shortRead reports input that ended after got of want bytes.
type shortRead struct{ got, want int }

func (e shortRead) Error() string {
	return fmt.Sprintf("input ends after %d of %d bytes", e.got, e.want)
}
