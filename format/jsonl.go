package format

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSONL rendering: one JSON object per record, one record per line,
// tag key "event" first, then the record's fields in spec order under their
// Field.JSON keys. Integers are the wire value times Field.Scale (so the
// microsecond times come out in nanoseconds), strings are escaped like
// encoding/json does with HTML escaping off, frame ids are an array.
//
// Output is canonical: exactly one rendering per record. Input is parsed
// strictly but accepts what JSON itself leaves free: keys in any order,
// whitespace between tokens, any valid escaping inside strings. Every such
// spelling of a record decodes to the same Record, so JSONL -> binary still
// gives the original bytes.

// jsonKey is one JSONL key (other than "event"): its bit in a record's key
// mask and the field it carries. A key means the same field (kind, scale,
// slot) in every record that has it, which lets the parser store a value as
// soon as it reads it, before it knows the record kind.
type jsonKey struct {
	bit   uint64
	name  string
	field Field
}

// jsonSpec is the precomputed JSONL shape of one record kind.
type jsonSpec struct {
	prefix string   // {"event":"Name"
	keys   []string // ,"key": for each field, in spec order
	mask   uint64   // bits of the record's keys
}

// jsonTab holds the JSONL tables derived from the spec table.
type jsonTab struct {
	keys   map[string]*jsonKey
	list   []*jsonKey
	specs  [NumCodes]jsonSpec
	events map[string]Code
}

// jsonTables builds the tables on first use, not at init: a program that
// links this package (the shim's host, with the shim off) pays nothing.
var jsonTables = sync.OnceValue(buildJSONTables)

func buildJSONTables() *jsonTab {
	keys := map[string]*jsonKey{}
	var list []*jsonKey
	var js [NumCodes]jsonSpec
	events := map[string]Code{}
	for c := range specs {
		s := &specs[c]
		events[s.Name] = Code(c)
		j := &js[c]
		j.prefix = `{"event":"` + s.Name + `"`
		for _, f := range s.Fields {
			for _, ch := range []byte(f.JSON) {
				if !('a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '_') {
					panic("format: JSON key " + strconv.Quote(f.JSON) + " needs escaping")
				}
			}
			k, ok := keys[f.JSON]
			if !ok {
				if len(list) == 64 || f.JSON == "event" {
					panic("format: too many JSON keys, or a field named event")
				}
				k = &jsonKey{bit: 1 << len(list), name: f.JSON, field: f}
				keys[f.JSON] = k
				list = append(list, k)
			} else if k.field.Kind != f.Kind || k.field.Scale != f.Scale || k.field.Slot != f.Slot {
				panic("format: JSON key " + f.JSON + " means different fields in different records")
			}
			if j.mask&k.bit != 0 {
				panic("format: JSON key " + f.JSON + " twice in " + s.Name)
			}
			j.mask |= k.bit
			j.keys = append(j.keys, `,"`+f.JSON+`":`)
		}
	}
	return &jsonTab{keys: keys, list: list, specs: js, events: events}
}

func scaleOf(f Field) uint64 {
	if f.Scale == 0 {
		return 1
	}
	return f.Scale
}

func (k FieldKind) maxValue() uint64 {
	switch k {
	case U8:
		return 1<<8 - 1
	case U16:
		return 1<<16 - 1
	case U32:
		return 1<<32 - 1
	}
	return 0
}

// JSONLWriter renders records as JSONL, one line per record. Like Writer it
// appends each line to a reused buffer and hands it to the underlying
// writer in a single Write, does no buffering of its own (wrap slow writers
// in a bufio.Writer) and keeps the first write error (sticky).
type JSONLWriter struct {
	w      io.Writer
	buf    []byte
	n      int64
	err    error
	closed bool
}

// NewJSONLWriter returns a JSONLWriter writing to w. Unlike the binary
// format, JSONL has no header, so nothing is written yet.
func NewJSONLWriter(w io.Writer) *JSONLWriter {
	return &JSONLWriter{w: w, buf: make([]byte, 0, 256)}
}

// WriteRecord writes r as one line. r is normalised exactly as the binary
// Writer does it (strings made valid UTF-8 and cut to MaxStringLen, at most
// MaxFrames innermost frames), so both renderings of a record agree.
func (w *JSONLWriter) WriteRecord(r *Record) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrWriteAfterClose
	}
	b, err := AppendJSONL(w.buf[:0], r)
	if err != nil {
		return err // a bad record is the caller's error, not sticky
	}
	b = append(b, '\n')
	w.buf = b
	n, err := w.w.Write(b)
	w.n += int64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	w.err = err
	return err
}

// Offset returns the number of bytes written so far.
func (w *JSONLWriter) Offset() int64 { return w.n }

// Close marks the writer closed; later writes return ErrWriteAfterClose. It
// does not close the underlying writer. It returns the sticky error, if any.
func (w *JSONLWriter) Close() error {
	w.closed = true
	return w.err
}

// AppendJSONL appends the JSONL rendering of r to b, without the newline.
// It fails like AppendRecord for an unknown code or a definition of id 0.
func AppendJSONL(b []byte, r *Record) ([]byte, error) {
	if !r.Code.Valid() {
		return b, &FormatError{Code: r.Code, HasCode: true, Err: ErrUnknownCode}
	}
	if (r.Code == CodeSpawnLocationDef || r.Code == CodeFrameDef) && r.ID == 0 {
		return b, &FormatError{Code: r.Code, HasCode: true, Err: ErrReservedID}
	}
	js := &jsonTables().specs[r.Code]
	b = append(b, js.prefix...)
	for i, f := range specs[r.Code].Fields {
		b = append(b, js.keys[i]...)
		switch f.Kind {
		case U8, U16, U32:
			b = strconv.AppendUint(b, r.u(f.Slot)*scaleOf(f), 10)
		case String:
			b = appendJSONString(b, clipString(r.Str))
		case FrameIDs:
			b = append(b, '[')
			for j, id := range r.Frames[:min(len(r.Frames), MaxFrames)] {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendUint(b, uint64(id), 10)
			}
			b = append(b, ']')
		}
	}
	return append(b, '}'), nil
}

const hexDigits = "0123456789abcdef"

// jsonPlain[c] tells whether byte c is copied as is into a JSON string.
// 0xE2 is not, as it may start U+2028 or U+2029.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\' && c != 0xE2
	}
	return t
}()

// appendJSONString appends s, which must be valid UTF-8, as a JSON string
// escaped the way encoding/json escapes it with SetEscapeHTML(false): \" \\
// \b \f \n \r \t, other control characters as \u00XX, U+2028 and U+2029 as
// \u2028 and \u2029, everything else (including <, > and &) literally.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c == 0xE2 {
			if i+2 < len(s) && s[i+1] == 0x80 && s[i+2]&^1 == 0xA8 {
				b = append(b, s[start:i]...)
				b = append(b, `\u202`...)
				b = append(b, hexDigits[8+s[i+2]&1])
				i += 3
				start = i
				continue
			}
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// maxJSONLLine bounds the length of a JSONL line. The longest canonical line
// is a definition whose 65535 bytes are all control characters, each
// rendered as \u00XX: under 400 KiB.
const maxJSONLLine = 1 << 20

// JSONLReader decodes the JSONL rendering record by record. It is strict:
// every line must be one record of the spec's shape with exactly the
// record's keys, values in their wire range (times in whole microseconds),
// and valid UTF-8. Errors are *FormatError values with Line (1-based) and
// Offset (byte offset of the line's start) set; they are sticky.
//
// Lenient where JSON is: keys may come in any order, whitespace may appear
// between tokens (and a line may end in \r), strings may use any valid
// escape. Blank lines are accepted only at the end of the input.
type JSONLReader struct {
	r        *bufio.Reader
	p        jsonParser
	line     int   // number of the last line read
	off      int64 // offset of the next unread byte
	long     []byte
	blank    int // first blank line not yet known to be trailing, or 0
	blankOff int64
	err      error
}

// NewJSONLReader returns a JSONLReader reading from r.
func NewJSONLReader(r io.Reader) *JSONLReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &JSONLReader{r: br}
}

// Line returns the number of lines read so far: after a successful Next,
// the line the record came from.
func (r *JSONLReader) Line() int { return r.line }

// Next decodes the next record. At the end of input it returns io.EOF.
func (r *JSONLReader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	rec, err := r.next()
	if err != nil {
		r.err = err
	}
	return rec, err
}

func (r *JSONLReader) next() (Record, error) {
	for {
		start := r.off
		line, err := r.readLine()
		if err != nil {
			return Record{}, err
		}
		if isBlank(line) {
			if r.blank == 0 {
				r.blank, r.blankOff = r.line, start
			}
			continue
		}
		if r.blank != 0 {
			return Record{}, &FormatError{Line: r.blank, Offset: r.blankOff, Err: ErrSyntax, Detail: "blank line before a record"}
		}
		rec, err := r.p.parse(line)
		if err != nil {
			fe := err.(*FormatError)
			fe.Line, fe.Offset = r.line, start
			return Record{}, fe
		}
		return rec, nil
	}
}

// readLine returns the next line without its newline, valid until the next
// call, or io.EOF when there is none.
func (r *JSONLReader) readLine() ([]byte, error) {
	b, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], b...)
		for err == bufio.ErrBufferFull {
			if len(r.long) > maxJSONLLine {
				return nil, &FormatError{Line: r.line + 1, Offset: r.off, Err: ErrLimit, Detail: fmt.Sprintf("line longer than %d bytes", maxJSONLLine)}
			}
			b, err = r.r.ReadSlice('\n')
			r.long = append(r.long, b...)
		}
		b = r.long
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(b) == 0 {
		return nil, io.EOF
	}
	r.line++
	r.off += int64(len(b))
	if len(b) > maxJSONLLine {
		return nil, &FormatError{Line: r.line, Offset: r.off - int64(len(b)), Err: ErrLimit, Detail: fmt.Sprintf("line longer than %d bytes", maxJSONLLine)}
	}
	if b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	return b, nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// ParseJSONL decodes one JSONL line (without its newline) into a record.
// Errors are *FormatError values as from JSONLReader, with Line 0.
func ParseJSONL(line []byte) (Record, error) {
	var p jsonParser
	return p.parse(line)
}

// jsonParser parses one line; its scratch buffers are reused across lines.
type jsonParser struct {
	b       []byte
	i       int
	code    Code
	hasCode bool
	scratch []byte
	frames  []uint16
}

func (p *jsonParser) fail(err error, format string, args ...any) error {
	return &FormatError{Code: p.code, HasCode: p.hasCode, Err: err,
		Detail: fmt.Sprintf("column %d: ", p.i+1) + fmt.Sprintf(format, args...)}
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
}

func (p *jsonParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonParser) parse(line []byte) (Record, error) {
	p.b, p.i, p.code, p.hasCode = line, 0, 0, false
	var rec Record
	var seen uint64
	var js *jsonSpec
	p.ws()
	if !p.eat('{') {
		return Record{}, p.fail(ErrSyntax, "expected '{'")
	}
	p.ws()
	if p.eat('}') {
		return Record{}, p.fail(ErrSyntax, `missing key "event"`)
	}
	for {
		p.ws()
		key, err := p.str()
		if err != nil {
			return Record{}, err
		}
		p.ws()
		if !p.eat(':') {
			return Record{}, p.fail(ErrSyntax, "expected ':'")
		}
		p.ws()
		if string(key) == "event" {
			if js != nil {
				return Record{}, p.fail(ErrSyntax, `duplicate key "event"`)
			}
			name, err := p.str()
			if err != nil {
				return Record{}, err
			}
			c, ok := jsonTables().events[string(name)]
			if !ok {
				return Record{}, p.fail(ErrSyntax, "unknown event %q", name)
			}
			p.code, p.hasCode = c, true
			rec.Code = c
			js = &jsonTables().specs[c]
			if extra := seen &^ js.mask; extra != 0 {
				return Record{}, p.fail(ErrSyntax, "key %q is not a field of %s", firstKey(extra), specs[c].Name)
			}
		} else {
			k := jsonTables().keys[string(key)]
			switch {
			case k == nil:
				return Record{}, p.fail(ErrSyntax, "unknown key %q", key)
			case seen&k.bit != 0:
				return Record{}, p.fail(ErrSyntax, "duplicate key %q", k.name)
			case js != nil && js.mask&k.bit == 0:
				return Record{}, p.fail(ErrSyntax, "key %q is not a field of %s", k.name, specs[rec.Code].Name)
			}
			seen |= k.bit
			if err := p.value(&rec, k); err != nil {
				return Record{}, err
			}
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			break
		}
		return Record{}, p.fail(ErrSyntax, "expected ',' or '}'")
	}
	p.ws()
	if p.i != len(p.b) {
		return Record{}, p.fail(ErrSyntax, "data after the object")
	}
	if js == nil {
		return Record{}, p.fail(ErrSyntax, `missing key "event"`)
	}
	if missing := js.mask &^ seen; missing != 0 {
		return Record{}, p.fail(ErrSyntax, "missing key %q", firstKey(missing))
	}
	if (rec.Code == CodeSpawnLocationDef || rec.Code == CodeFrameDef) && rec.ID == 0 {
		return Record{}, p.fail(ErrReservedID, "")
	}
	return rec, nil
}

func firstKey(mask uint64) string {
	for _, k := range jsonTables().list {
		if mask&k.bit != 0 {
			return k.name
		}
	}
	return ""
}

// value parses the value of key k into rec.
func (p *jsonParser) value(rec *Record, k *jsonKey) error {
	f := k.field
	switch f.Kind {
	case U8, U16, U32:
		v, err := p.uint()
		if err != nil {
			return err
		}
		if sc := scaleOf(f); sc != 1 {
			if v%sc != 0 {
				return p.fail(ErrLimit, "%s %d is not a multiple of %d", k.name, v, sc)
			}
			v /= sc
		}
		if v > f.Kind.maxValue() {
			return p.fail(ErrLimit, "%s %d is more than %d", k.name, v*scaleOf(f), f.Kind.maxValue()*scaleOf(f))
		}
		rec.setU(f.Slot, v)
	case String:
		s, err := p.str()
		if err != nil {
			return err
		}
		if len(s) > MaxStringLen {
			return p.fail(ErrLimit, "%s is %d bytes, more than %d", k.name, len(s), MaxStringLen)
		}
		rec.Str = string(s)
	case FrameIDs:
		if !p.eat('[') {
			return p.fail(ErrSyntax, "%s: expected an array", k.name)
		}
		fr := p.frames[:0]
		p.ws()
		if !p.eat(']') {
			for {
				p.ws()
				v, err := p.uint()
				if err != nil {
					return err
				}
				if v > 1<<16-1 {
					return p.fail(ErrLimit, "frame id %d is more than %d", v, 1<<16-1)
				}
				if len(fr) == MaxFrames {
					return p.fail(ErrLimit, "more than %d frame ids", MaxFrames)
				}
				fr = append(fr, uint16(v))
				p.ws()
				if p.eat(',') {
					continue
				}
				if p.eat(']') {
					break
				}
				return p.fail(ErrSyntax, "expected ',' or ']'")
			}
		}
		p.frames = fr
		rec.Frames = nil
		if len(fr) > 0 {
			rec.Frames = slices.Clone(fr)
		}
	}
	return nil
}

// uint parses a JSON number that must be a non-negative integer.
func (p *jsonParser) uint() (uint64, error) {
	b := p.b
	neg := p.eat('-')
	if p.i >= len(b) || b[p.i] < '0' || b[p.i] > '9' {
		return 0, p.fail(ErrSyntax, "expected a number")
	}
	var v uint64
	over := false
	if b[p.i] == '0' {
		p.i++
		if p.i < len(b) && '0' <= b[p.i] && b[p.i] <= '9' {
			return 0, p.fail(ErrSyntax, "number with a leading zero")
		}
	} else {
		for p.i < len(b) && '0' <= b[p.i] && b[p.i] <= '9' {
			d := uint64(b[p.i] - '0')
			if v > (1<<64-1-d)/10 {
				over = true
			}
			v = v*10 + d
			p.i++
		}
	}
	if p.i < len(b) && (b[p.i] == '.' || b[p.i] == 'e' || b[p.i] == 'E') {
		return 0, p.fail(ErrSyntax, "not an integer")
	}
	if neg {
		return 0, p.fail(ErrLimit, "negative number")
	}
	if over {
		return 0, p.fail(ErrLimit, "number too large")
	}
	return v, nil
}

// strPlain[c] tells whether byte c stands for itself inside a JSON string
// and needs no check: printable ASCII but the quote and the backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str parses a JSON string and returns its decoded bytes, valid until the
// next call. Control characters must be escaped; invalid UTF-8, raw or as a
// lone surrogate escape, is ErrInvalidUTF8.
func (p *jsonParser) str() ([]byte, error) {
	b := p.b
	if !p.eat('"') {
		return nil, p.fail(ErrSyntax, "expected a string")
	}
	start := p.i
	for p.i < len(b) {
		for p.i < len(b) && strPlain[b[p.i]] {
			p.i++
		}
		if p.i == len(b) {
			break
		}
		c := b[p.i]
		switch {
		case c == '"':
			p.i++
			return b[start : p.i-1], nil
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			return nil, p.fail(ErrSyntax, "control character in string")
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, n := utf8.DecodeRune(b[p.i:])
			if r == utf8.RuneError && n == 1 {
				return nil, p.fail(ErrInvalidUTF8, "")
			}
			p.i += n
		}
	}
	return nil, p.fail(ErrSyntax, "unterminated string")
}

// strSlow continues str from the first backslash, decoding into scratch.
func (p *jsonParser) strSlow(start int) ([]byte, error) {
	b := p.b
	out := append(p.scratch[:0], b[start:p.i]...)
	defer func() { p.scratch = out[:0] }()
	for p.i < len(b) {
		c := b[p.i]
		switch {
		case c == '"':
			p.i++
			return out, nil
		case c == '\\':
			if p.i+1 >= len(b) {
				p.i++
				return nil, p.fail(ErrSyntax, "unterminated string")
			}
			e := b[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return nil, err
				}
				if utf16.IsSurrogate(r) {
					if r >= 0xDC00 || p.i+1 >= len(b) || b[p.i] != '\\' || b[p.i+1] != 'u' {
						return nil, p.fail(ErrInvalidUTF8, "lone surrogate escape")
					}
					p.i += 2
					r2, err := p.hex4()
					if err != nil {
						return nil, err
					}
					if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
						return nil, p.fail(ErrInvalidUTF8, "lone surrogate escape")
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				p.i--
				return nil, p.fail(ErrSyntax, "bad escape \\%c", e)
			}
		case c < 0x20:
			return nil, p.fail(ErrSyntax, "control character in string")
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, n := utf8.DecodeRune(b[p.i:])
			if r == utf8.RuneError && n == 1 {
				return nil, p.fail(ErrInvalidUTF8, "")
			}
			out = append(out, b[p.i:p.i+n]...)
			p.i += n
		}
	}
	return nil, p.fail(ErrSyntax, "unterminated string")
}

func (p *jsonParser) hex4() (rune, error) {
	if p.i+4 > len(p.b) {
		return 0, p.fail(ErrSyntax, "bad \\u escape")
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, p.fail(ErrSyntax, "bad \\u escape")
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, nil
}
