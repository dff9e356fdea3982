package format

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Reader decodes a binary v9 file record by record.
type Reader struct {
	r   *bufio.Reader
	off int64 // offset of the next unread byte
	buf []byte
	err error
}

// NewReader reads and checks the file header. A file that does not start
// with the magic gets ErrBadMagic, another version ErrVersion, both wrapped
// in a *FormatError at offset 0.
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
	case err == io.EOF || (err == io.ErrUnexpectedEOF && string(hdr[:n]) == Magic[:min(n, len(Magic))]):
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
	fail := func(err error, detail string) (Record, error) {
		return Record{}, &FormatError{Offset: start, Code: code, HasCode: true, Err: err, Detail: detail}
	}
	if !code.Valid() {
		return fail(ErrUnknownCode, "")
	}
	s := &specs[code]
	// The fixed part of the record, then the variable part if any.
	fixed := s.Size - 1
	if r.buf, err = r.read(fixed); err != nil {
		return fail(ErrTruncated, err.Error())
	}
	rec := Record{Code: code}
	b := r.buf
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
			n := int(binary.LittleEndian.Uint16(b))
			if r.buf, err = r.read(n); err != nil {
				return fail(ErrTruncated, err.Error())
			}
			if !utf8.Valid(r.buf) {
				return fail(ErrInvalidUTF8, "")
			}
			rec.Str = string(r.buf)
		case FrameIDs:
			n := int(b[0])
			if r.buf, err = r.read(2 * n); err != nil {
				return fail(ErrTruncated, err.Error())
			}
			rec.Frames = make([]uint16, n)
			for i := range rec.Frames {
				rec.Frames[i] = binary.LittleEndian.Uint16(r.buf[2*i:])
			}
		}
	}
	if (code == CodeSpawnLocationDef || code == CodeFrameDef) && rec.ID == 0 {
		return fail(ErrReservedID, "")
	}
	return rec, nil
}

// read returns the next n bytes (valid until the next call), advancing the
// offset by what it consumed.
func (r *Reader) read(n int) ([]byte, error) {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	m, err := io.ReadFull(r.r, b)
	r.off += int64(m)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("input ends after %d of %d bytes", m, n)
		}
		return nil, err
	}
	return b, nil
}
