package dump

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"unicode/utf8"
)

// MaxSize is the largest dump Parse reads (a goroutine dump of a million
// goroutines in debug=2 form is a few hundred MB; past this something is
// wrong).
const MaxSize = 1 << 30

// ReadFile reads and parses the dump in the named file.
func ReadFile(name string) (*Dump, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, name)
}

// Parse reads a goroutine dump in any of its forms; name is used in errors.
// The form is detected from the content:
//
//   - gzip magic (1f 8b): the protobuf profile (debug=0);
//   - text whose first non-blank line starts with "goroutine profile:": the
//     debug=1 text;
//   - text with a line "goroutine N [...]:" anywhere: the debug=2 text, or
//     a panic or SIGQUIT traceback (lines outside goroutine blocks are
//     ignored);
//   - otherwise an uncompressed protobuf profile, if it parses as one.
//
// The protobuf form needs the parser of package
// github.com/wakeshim/wakeshim/dump/pprofdump (see RegisterProto).
func Parse(r io.Reader, name string) (*Dump, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, &Error{File: name, Msg: "reading", Err: err}
	}
	if len(data) > MaxSize {
		return nil, errorf(name, 0, "larger than %d bytes", MaxSize)
	}
	return ParseBytes(data, name)
}

// parseProtoFunc is the protobuf parser set by RegisterProto, or nil.
var parseProtoFunc func(data []byte, name string) (*Dump, error)

// notProtoMsg is the Msg of the *Error a protobuf parser returns for data
// that is not a pprof profile at all (see RegisterProto).
const notProtoMsg = "not a pprof protobuf profile"

// pprofdumpImport is what a program adds to read protobuf dumps.
const pprofdumpImport = `import _ "github.com/wakeshim/wakeshim/dump/pprofdump"`

// RegisterProto makes Parse, ParseBytes and ReadFile read the pprof
// protobuf form (debug=0) of a goroutine profile with f. f parses data, an
// uncompressed protobuf profile (ParseBytes has already gunzipped it),
// into a Dump of Form FormProto; name is for its errors, which are *Error.
// Data that is not a pprof profile at all gives an *Error with Msg
// "not a pprof protobuf profile" (ParseBytes rewords it for input that was
// neither gzip'd nor text).
//
// Package dump does not parse protobuf itself so that a program that only
// reads text dumps (the shim, whose sampler parses the debug=2 text of
// runtime.Stack) does not link github.com/google/pprof/profile and pay for
// its package initialisation. Package
// github.com/wakeshim/wakeshim/dump/pprofdump registers the parser in its
// init; a program that reads protobuf dumps imports it:
//
//	import _ "github.com/wakeshim/wakeshim/dump/pprofdump"
//
// Without it, a protobuf dump gives an *Error saying so. RegisterProto is
// meant to be called from an init function; the last call wins.
func RegisterProto(f func(data []byte, name string) (*Dump, error)) {
	parseProtoFunc = f
}

// parseProto parses an uncompressed protobuf profile with the registered
// parser; gzipped tells whether it came gzip'd.
func parseProto(data []byte, name string, gzipped bool) (*Dump, error) {
	if parseProtoFunc == nil {
		if gzipped {
			return nil, errorf(name, 0, "gzip'd binary data, not text: reading pprof protobuf goroutine profiles (debug=0) needs %s in the program", pprofdumpImport)
		}
		return nil, errorf(name, 0, "not a goroutine dump: not text (debug=1, debug=2), and reading pprof protobuf goroutine profiles (debug=0) needs %s in the program", pprofdumpImport)
	}
	return parseProtoFunc(data, name)
}

// ParseBytes is Parse on a dump held in memory.
func ParseBytes(data []byte, name string) (*Dump, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errorf(name, 0, "empty file, not a goroutine dump")
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, &Error{File: name, Msg: "bad gzip data", Err: err}
		}
		raw, err := io.ReadAll(io.LimitReader(zr, MaxSize+1))
		if err != nil {
			return nil, &Error{File: name, Msg: "bad gzip data", Err: err}
		}
		if len(raw) > MaxSize {
			return nil, errorf(name, 0, "larger than %d bytes uncompressed", MaxSize)
		}
		if len(raw) > 0 && isText(raw) {
			return ParseBytes(raw, name) // a gzip'd text dump
		}
		return parseProto(raw, name, true)
	}
	if isText(data) {
		first := firstLine(data)
		if bytes.HasPrefix(first, []byte("goroutine profile:")) || bytes.HasPrefix(first, []byte("goroutineleak profile:")) {
			return parseDebug1(data, name)
		}
		if hasDebug2Header(data) {
			return parseDebug2(data, name)
		}
		if kind, _, ok := bytes.Cut(first, []byte(" profile: ")); ok && len(kind) > 0 && !bytes.ContainsAny(kind, " \t") {
			return nil, errorf(name, 1, "a %q, not a goroutine profile", string(kind)+" profile")
		}
		return nil, errorf(name, 0, "not a goroutine dump: text without a \"goroutine profile: total N\" first line (debug=1) or any \"goroutine N [STATE]:\" line (debug=2, panic, SIGQUIT)")
	}
	d, err := parseProto(data, name, false)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Msg == notProtoMsg {
			e.Msg = "not a goroutine dump: neither text (debug=1, debug=2) nor a pprof protobuf profile (debug=0)"
		}
		return nil, err
	}
	return d, nil
}

// isText reports whether data looks like text: valid UTF-8 without NUL or
// other control bytes than tab, CR, LF (checked on a prefix).
func isText(data []byte) bool {
	p := data[:min(len(data), 4096)]
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		if r == utf8.RuneError && size == 1 {
			// A rune cut by the prefix is fine.
			if len(p) < utf8.UTFMax && len(data) > len(p) {
				return true
			}
			return false
		}
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
		p = p[size:]
	}
	return true
}

// firstLine returns the first non-blank line of data, trimmed.
func firstLine(data []byte) []byte {
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if t := bytes.TrimSpace(line); len(t) > 0 {
			return t
		}
		data = rest
	}
	return nil
}
