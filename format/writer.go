package format

import (
	"bufio"
	"encoding/binary"
	"io"
	"strings"
	"unicode/utf8"
)

// RecordWriter is what the converter writes records to: the binary Writer,
// the JSONLWriter, or several at once (MultiWriter).
type RecordWriter interface {
	WriteRecord(r *Record) error
	Close() error
}

// Writer encodes records in the binary format. Each record is appended to a
// reused buffer and handed to the underlying writer in a single Write, so a
// process killed mid-write leaves at most one partial record (which a Reader
// reports as ErrTruncated after every complete one). Wrap slow writers in a
// bufio.Writer: this type does no buffering of its own, and over a
// *bufio.Writer it encodes each record straight into the buffer's free
// space (still one Write per record, which then copies nothing).
//
// Errors are sticky: after a failed Write every call returns the same error.
type Writer struct {
	w io.Writer
	// bw is w when it is a *bufio.Writer: records are then encoded
	// straight into its free space (AvailableBuffer) and handed back in
	// the same single Write, which then copies nothing.
	bw     *bufio.Writer
	buf    []byte
	n      int64
	err    error
	closed bool
}

// NewWriter writes the file header to w and returns a Writer for the
// records that follow.
func NewWriter(w io.Writer) (*Writer, error) {
	bw := &Writer{w: w, buf: make([]byte, 0, 256)}
	bw.bw, _ = w.(*bufio.Writer)
	bw.buf = appendHeader(bw.buf)
	if err := bw.flush(bw.buf); err != nil {
		return nil, err
	}
	return bw, nil
}

func appendHeader(b []byte) []byte {
	b = append(b, Magic...)
	return binary.LittleEndian.AppendUint32(b, Version)
}

// WriteRecord encodes r. Strings longer than MaxStringLen are cut on a UTF-8
// boundary, invalid UTF-8 is replaced by U+FFFD, and a TaskPending keeps at
// most its MaxFrames innermost frames: the output is always decodable.
func (w *Writer) WriteRecord(r *Record) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrWriteAfterClose
	}
	if w.bw != nil {
		if free := w.bw.AvailableBuffer(); cap(free) >= maxFixedSize {
			b, err := AppendRecord(free, r)
			if err != nil {
				return err // a bad record is the caller's error, not sticky
			}
			return w.flush(b)
		}
	}
	b, err := AppendRecord(w.buf[:0], r)
	if err != nil {
		return err
	}
	w.buf = b
	return w.flush(b)
}

// maxFixedSize bounds the size of a record without strings or frames;
// the bufio.Writer's free space is used when it can hold at least that.
const maxFixedSize = 32

func (w *Writer) flush(b []byte) error {
	var n int
	var err error
	if w.bw != nil {
		n, err = w.bw.Write(b) // (a direct call, not through io.Writer)
	} else {
		n, err = w.w.Write(b)
	}
	w.n += int64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	w.err = err
	return err
}

// Offset returns the number of bytes written so far, header included.
func (w *Writer) Offset() int64 { return w.n }

// Close marks the writer closed; later writes return ErrWriteAfterClose. It
// does not close the underlying writer. It returns the sticky error, if any.
func (w *Writer) Close() error {
	w.closed = true
	return w.err
}

// AppendRecord appends the binary encoding of r to b.
//
// The records a converter writes by the million (PollStart, PollEnd,
// WakeEvent; WorkerPark and WorkerUnpark, TaskPending and TaskSpawn on
// traces of idle Ps, sleeping or short-lived goroutines) take a
// hand-unrolled path; TestAppendFastPath checks it byte
// for byte against the table-driven encoder, appendByTable, which encodes
// everything else.
func AppendRecord(b []byte, r *Record) ([]byte, error) {
	le := binary.LittleEndian
	switch r.Code {
	case CodePollStart:
		b = append(b, byte(CodePollStart))
		b = le.AppendUint32(b, r.TS)
		b = append(b, r.Worker, r.LocalQ)
		b = le.AppendUint32(b, r.Task)
		return le.AppendUint16(b, r.SpawnLoc), nil
	case CodePollEnd:
		b = append(b, byte(CodePollEnd))
		b = le.AppendUint32(b, r.TS)
		return append(b, r.Worker), nil
	case CodeWakeEvent:
		b = append(b, byte(CodeWakeEvent))
		b = le.AppendUint32(b, r.TS)
		b = le.AppendUint32(b, r.Waker)
		b = le.AppendUint32(b, r.Task)
		return append(b, r.Worker), nil
	case CodeWorkerPark, CodeWorkerUnpark:
		b = append(b, byte(r.Code))
		b = le.AppendUint32(b, r.TS)
		b = append(b, r.Worker, r.LocalQ)
		b = le.AppendUint32(b, r.CPU)
		if r.Code == CodeWorkerUnpark {
			b = le.AppendUint32(b, r.SchedWait)
		}
		return b, nil
	case CodeTaskPending:
		fr := r.Frames[:min(len(r.Frames), MaxFrames)]
		b = append(b, byte(CodeTaskPending))
		b = le.AppendUint32(b, r.TS)
		b = le.AppendUint32(b, r.Task)
		b = le.AppendUint32(b, r.Duration)
		b = append(b, byte(len(fr)))
		for _, id := range fr {
			b = le.AppendUint16(b, id)
		}
		return b, nil
	case CodeTaskSpawn:
		b = append(b, byte(CodeTaskSpawn))
		b = le.AppendUint32(b, r.Task)
		return le.AppendUint16(b, r.SpawnLoc), nil
	}
	return appendByTable(b, r)
}

// appendByTable encodes r as the spec table describes it.
func appendByTable(b []byte, r *Record) ([]byte, error) {
	if !r.Code.Valid() {
		return b, &FormatError{Code: r.Code, HasCode: true, Err: ErrUnknownCode}
	}
	s := &specs[r.Code]
	if (r.Code == CodeSpawnLocationDef || r.Code == CodeFrameDef) && r.ID == 0 {
		return b, &FormatError{Code: r.Code, HasCode: true, Err: ErrReservedID}
	}
	b = append(b, byte(r.Code))
	for _, f := range s.Fields {
		switch f.Kind {
		case U8:
			b = append(b, byte(r.u(f.Slot)))
		case U16:
			b = binary.LittleEndian.AppendUint16(b, uint16(r.u(f.Slot)))
		case U32:
			b = binary.LittleEndian.AppendUint32(b, uint32(r.u(f.Slot)))
		case String:
			str := clipString(r.Str)
			b = binary.LittleEndian.AppendUint16(b, uint16(len(str)))
			b = append(b, str...)
		case FrameIDs:
			fr := r.Frames[:min(len(r.Frames), MaxFrames)]
			b = append(b, byte(len(fr)))
			for _, id := range fr {
				b = binary.LittleEndian.AppendUint16(b, id)
			}
		}
	}
	return b, nil
}

// clipString makes s valid UTF-8 of at most MaxStringLen bytes, cutting on a
// rune boundary.
func clipString(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= MaxStringLen {
		return s
	}
	i := MaxStringLen
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// MultiWriter writes every record to each of ws, like io.MultiWriter. It
// is a HotWriter (passing Hot records on to those of ws that are); of one
// writer, it is that writer.
func MultiWriter(ws ...RecordWriter) RecordWriter {
	if len(ws) == 1 {
		return ws[0]
	}
	m := &multiWriter{ws: ws, hot: make([]HotWriter, len(ws))}
	for i, w := range ws {
		m.hot[i] = HotOf(w)
	}
	return m
}

type multiWriter struct {
	ws  []RecordWriter
	hot []HotWriter // HotOf(ws[i])
}

func (m *multiWriter) WriteRecord(r *Record) error {
	for _, w := range m.ws {
		if err := w.WriteRecord(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *multiWriter) WriteHot(h Hot) error {
	for _, hw := range m.hot {
		if err := hw.WriteHot(h); err != nil {
			return err
		}
	}
	return nil
}

func (m *multiWriter) Close() error {
	var first error
	for _, w := range m.ws {
		if err := w.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
