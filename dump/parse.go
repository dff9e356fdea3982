package dump

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf8"

	"github.com/google/pprof/profile"
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
		return parseProto(raw, name)
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
	d, err := parseProto(data, name)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Msg == "not a pprof protobuf profile" {
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

// parseProfile is profile.ParseData, with a panic of the library on
// malformed input turned into an error.
func parseProfile(data []byte) (p *profile.Profile, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("malformed profile (%v)", r)
		}
	}()
	return profile.ParseData(data)
}

func parseProto(data []byte, name string) (*Dump, error) {
	p, err := parseProfile(data)
	if err != nil {
		return nil, &Error{File: name, Msg: "not a pprof protobuf profile", Err: err}
	}
	if len(p.SampleType) == 0 || (p.SampleType[0].Type != "goroutine" && p.SampleType[0].Type != "goroutineleak") {
		typ := "(none)"
		if len(p.SampleType) > 0 {
			typ = fmt.Sprintf("%s/%s", p.SampleType[0].Type, p.SampleType[0].Unit)
		}
		return nil, errorf(name, 0, "a pprof profile of sample type %s, not a goroutine profile", typ)
	}
	d := &Dump{Form: FormProto}
	if p.TimeNanos != 0 {
		d.Time = time.Unix(0, p.TimeNanos).UTC()
	}
	for i, s := range p.Sample {
		if len(s.Value) == 0 {
			return nil, errorf(name, 0, "sample %d has no value", i)
		}
		n := s.Value[0]
		if n < 0 || n > 1<<40 {
			return nil, errorf(name, 0, "sample %d has goroutine count %d", i, n)
		}
		g := Goroutine{Count: int(n)}
		for _, loc := range s.Location {
			if loc == nil {
				continue
			}
			// Line[0] is the innermost of the functions inlined at this
			// location, the last one the caller they were inlined into.
			for _, ln := range loc.Line {
				if ln.Function == nil || ln.Function.Name == "" {
					continue
				}
				g.Frames = append(g.Frames, Frame{Func: ln.Function.Name, File: ln.Function.Filename, Line: int(ln.Line)})
			}
		}
		for k, v := range s.Label {
			if len(v) > 0 {
				if g.Labels == nil {
					g.Labels = make(map[string]string)
				}
				g.Labels[k] = v[0]
			}
		}
		d.Total += g.Count
		d.Goroutines = append(d.Goroutines, g)
	}
	return d, nil
}
