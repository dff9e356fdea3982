package format

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AppendIntObject appends m as a flat JSON object of integers, its keys
// sorted and escaped as the JSONL's strings are: what json.Marshal writes
// of a map[string]int64. The fleet stores a finding's numbers so; it uses
// this and ParseIntObject rather than encoding/json, which every program
// importing the shim would otherwise link and initialize.
func AppendIntObject(b []byte, m map[string]int64) []byte {
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
		v := m[k]
		if !utf8.ValidString(k) {
			k = strings.ToValidUTF8(k, "\uFFFD")
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = strconv.AppendInt(b, v, 10)
	}
	return append(b, '}')
}

// ParseIntObject parses a flat JSON object whose values are integers
// (what AppendIntObject writes; white space between tokens, a key given
// twice keeps its last value), with the JSONL reader's string and number
// rules. Anything else is a *FormatError naming the column, wrapping
// ErrSyntax (ErrLimit for a number past int64, ErrInvalidUTF8).
func ParseIntObject(b []byte) (map[string]int64, error) {
	p := &jsonParser{b: b}
	m := map[string]int64{}
	p.ws()
	if !p.eat('{') {
		return nil, p.fail(ErrSyntax, "expected {")
	}
	p.ws()
	if p.eat('}') {
		return m, p.endObject()
	}
	for {
		p.ws()
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		key := string(k)
		p.ws()
		if !p.eat(':') {
			return nil, p.fail(ErrSyntax, "expected :")
		}
		p.ws()
		neg := p.eat('-')
		u, err := p.uint()
		if err != nil {
			return nil, err
		}
		switch {
		case !neg && u <= math.MaxInt64:
			m[key] = int64(u)
		case neg && u <= 1<<63:
			m[key] = int64(-u)
		default:
			return nil, p.fail(ErrLimit, "number past int64")
		}
		p.ws()
		if p.eat('}') {
			return m, p.endObject()
		}
		if !p.eat(',') {
			return nil, p.fail(ErrSyntax, "expected , or }")
		}
	}
}

func (p *jsonParser) endObject() error {
	p.ws()
	if p.i != len(p.b) {
		return p.fail(ErrSyntax, "text after the object")
	}
	return nil
}
