package report

import (
	"encoding/json"
	"io"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// The streaming encoder of the report's JSON document. json_gen.go
// (made by `go generate ./report`, from the types by reflection: see
// internal/jsongen) appends each value of analyze.Report, indented as
// json.MarshalIndent(r, "", "  ") would lay it out, into a reused
// buffer that is written out whenever a list's element leaves it at
// 64 KB or more; these are the pieces it calls. The bytes are those of
// json.Marshal, indented: the same field order and omitempty rules,
// nil lists and maps as null, strings escaped and floats formatted as
// encoding/json does by default.

// jsonChunk is the size at which the buffer is written out.
const jsonChunk = 64 << 10

// jsonWriter is where the appenders' buffer goes.
type jsonWriter struct {
	w   io.Writer
	err error
}

// flush writes b out (unless an earlier write failed) and returns it
// emptied, to append the next piece to.
func (e *jsonWriter) flush(b []byte) []byte {
	if e.err == nil && len(b) > 0 {
		_, e.err = e.w.Write(b)
	}
	return b[:0]
}

// jsonHex is encoding/json's hex digits.
const jsonHex = "0123456789abcdef"

// jsonSafe reports whether encoding/json writes the ASCII byte c as
// itself in a string (with its default HTML escaping: not <, > and &).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s as encoding/json writes a string by
// default: quoted; '"' and '\\' escaped, \b \f \n \r \t so, other
// control bytes and <, > and & as \u00XX; U+2028 and U+2029 as \u2028
// and \u2029. A string that is not valid UTF-8 is handed to
// encoding/json whole (appendJSONStringInvalid): how it replaces the
// invalid bytes differs between Go releases (Go 1.26 writes the escape
// \ufffd, Go 1.27's encoding/json the character U+FFFD itself), and the
// document is to be the bytes json.Marshal writes on the Go it was built
// with, as it was before this encoder.
func appendJSONString(b []byte, s string) []byte {
	mark := len(b)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
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
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return appendJSONStringInvalid(b[:mark], s)
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONStringInvalid appends s, not valid UTF-8, as json.Marshal
// writes it (rare: a trace's strings are the program's own).
func appendJSONStringInvalid(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // (a string always marshals)
		panic("report: json.Marshal of a string: " + err.Error())
	}
	return append(b, q...)
}

// appendJSONFloat appends f, finite, as encoding/json writes a float64:
// like strconv's shortest 'f', 'e' below 1e-6 and from 1e21 up, the
// exponent unpadded (1e-7, not 1e-07).
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// jsonFloatErr is json.Marshal's error for f, or nil: it has no JSON
// for NaN and the infinities.
func jsonFloatErr(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	return nil
}
