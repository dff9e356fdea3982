package fleet

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The findings' numbers are stored as a flat JSON object of integers
// ({"count":12,"ts_ns":500}), read by people and ClickHouse's JSON
// functions alike. They are written and read here rather than by
// encoding/json: package fleet is linked into every program that imports
// shim/auto (for ship=), and under Go 1.27 encoding/json's package
// initialization (encoding/json/v2's) costs 17 allocations before main
// (TestInitAllocs holds the shim's cost there).

// appendNumbers appends m as a JSON object, its keys sorted.
func appendNumbers(b []byte, m map[string]int64) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = strconv.AppendInt(b, m[k], 10)
	}
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// errNumbers is the error of parseNumbers.
var errNumbers = errors.New("fleet: bad numbers object")

// parseNumbers parses a flat JSON object whose values are integers (what
// appendNumbers writes; whitespace between tokens is allowed, a key given
// twice keeps its last value). Anything else is an error naming the
// offset.
func parseNumbers(s string) (map[string]int64, error) {
	p := numParser{s: s}
	m := map[string]int64{}
	p.space()
	if !p.take('{') {
		return nil, p.err("want {")
	}
	p.space()
	if p.take('}') {
		return m, p.end()
	}
	for {
		p.space()
		k, ok := p.str()
		if !ok {
			return nil, p.err("want a key")
		}
		p.space()
		if !p.take(':') {
			return nil, p.err("want :")
		}
		p.space()
		v, ok := p.int()
		if !ok {
			return nil, p.err("want an integer")
		}
		m[k] = v
		p.space()
		if p.take('}') {
			return m, p.end()
		}
		if !p.take(',') {
			return nil, p.err("want , or }")
		}
	}
}

type numParser struct {
	s string
	i int
}

func (p *numParser) err(what string) error {
	return fmt.Errorf("%w: offset %d: %s", errNumbers, p.i, what)
}

func (p *numParser) end() error {
	p.space()
	if p.i != len(p.s) {
		return p.err("text after the object")
	}
	return nil
}

func (p *numParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *numParser) take(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *numParser) int() (int64, bool) {
	j := p.i
	if j < len(p.s) && p.s[j] == '-' {
		j++
	}
	d := j
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	if j == d || p.s[d] == '0' && j-d > 1 { // (JSON has no leading zeros)
		return 0, false
	}
	v, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
	if err != nil {
		return 0, false
	}
	p.i = j
	return v, true
}

func (p *numParser) str() (string, bool) {
	if !p.take('"') {
		return "", false
	}
	var b []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			r, n := utf8.DecodeRuneInString(p.s[p.i:])
			b = utf8.AppendRune(b, r) // (invalid UTF-8 as U+FFFD, as encoding/json)
			p.i += n
			continue
		}
		if p.i+1 >= len(p.s) {
			return "", false
		}
		e := p.s[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			if p.i+4 > len(p.s) {
				return "", false
			}
			v, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 16)
			if err != nil {
				return "", false
			}
			p.i += 4
			r := rune(v)
			if utf16.IsSurrogate(r) {
				r = utf8.RuneError
				if p.i+6 <= len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
					if lo, err := strconv.ParseUint(p.s[p.i+2:p.i+6], 16, 16); err == nil {
						if d := utf16.DecodeRune(rune(v), rune(lo)); d != utf8.RuneError {
							r = d
							p.i += 6
						}
					}
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", false
		}
	}
	return "", false
}
