package format

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestIntObjectRoundTrip: what AppendIntObject writes, ParseIntObject and
// encoding/json read back as the same map; the text is json.Marshal's.
func TestIntObjectRoundTrip(t *testing.T) {
	for _, m := range []map[string]int64{
		{},
		{"ts_ns": 500, "count": 12, "max_ns": -1},
		{"a\"b\\c": 1, "tab\there": 2, "ünï": 3, "\x01": -9223372036854775808, "big": 9223372036854775807, "<&>\u2028": 4},
	} {
		s := AppendIntObject(nil, m)
		got, err := ParseIntObject(s)
		if err != nil {
			t.Fatalf("ParseIntObject(%s): %v", s, err)
		}
		var ref map[string]int64
		if err := json.Unmarshal(s, &ref); err != nil {
			t.Fatalf("encoding/json rejects %s: %v", s, err)
		}
		if len(got) != len(m) || len(ref) != len(m) {
			t.Fatalf("%s: got %v, encoding/json %v, want %v", s, got, ref, m)
		}
		for k, v := range m {
			if got[k] != v || ref[k] != v {
				t.Fatalf("%s: key %q: got %d, encoding/json %d, want %d", s, k, got[k], ref[k], v)
			}
		}
		want, _ := marshalNoEscape(m)
		if string(s) != want {
			t.Errorf("AppendIntObject = %s, json.Marshal %s", s, want)
		}
	}
}

func marshalNoEscape(m map[string]int64) (string, error) {
	var b strings.Builder
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	err := e.Encode(m)
	return strings.TrimSuffix(b.String(), "\n"), err
}

func TestParseIntObjectErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrSyntax}, {"{", ErrSyntax}, {"[]", ErrSyntax}, {`{"a"}`, ErrSyntax}, {`{"a":}`, ErrSyntax},
		{`{"a":1.5}`, ErrSyntax}, {`{"a":01}`, ErrSyntax}, {`{"a":1,}`, ErrSyntax}, {`{"a":1} x`, ErrSyntax},
		{`{"a":9223372036854775808}`, ErrLimit}, {`{"a":-9223372036854775809}`, ErrLimit}, {`{"a\q":1}`, ErrSyntax},
		{"{\"a\x01\":1}", ErrSyntax}, {`{"a":1 "b":2}`, ErrSyntax}, {`{a:1}`, ErrSyntax}, {"{\"\xff\":1}", ErrInvalidUTF8},
	} {
		_, err := ParseIntObject([]byte(tc.in))
		var fe *FormatError
		if !errors.Is(err, tc.want) || !errors.As(err, &fe) || !strings.Contains(err.Error(), "column") {
			t.Errorf("ParseIntObject(%q) = %v, want a *FormatError naming the column, matching %v", tc.in, err, tc.want)
		}
	}
	m, err := ParseIntObject([]byte(" { \"a\" : 1 ,\n\"a\":2, \"\\ud83d\\ude00\": 3, \"z\": -0 } "))
	if err != nil || m["a"] != 2 || m["😀"] != 3 || len(m) != 3 {
		t.Errorf("spaces, a key twice, a surrogate pair: %v, %v", m, err)
	}
}

// FuzzParseIntObject: no panic; what it accepts, encoding/json accepts as
// the same map; and it reads back what AppendIntObject writes of it.
func FuzzParseIntObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"ts_ns":500,"count":-12}`, `{"\u00e9\ud83d\ude00":3}`, ` {"a" : 0 } `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseIntObject([]byte(s))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("%q: error %v is not a *FormatError", s, err)
			}
			return
		}
		var ref map[string]int64
		if err := json.Unmarshal([]byte(s), &ref); err != nil {
			t.Fatalf("ParseIntObject accepts %q, encoding/json does not: %v", s, err)
		}
		if len(ref) != len(m) {
			t.Fatalf("%q: %v, encoding/json %v", s, m, ref)
		}
		for k, v := range m {
			if rv, ok := ref[k]; !ok || rv != v {
				t.Fatalf("%q: key %q: %d, encoding/json %d (%v)", s, k, v, rv, ok)
			}
		}
		back, err := ParseIntObject(AppendIntObject(nil, m))
		if err != nil || len(back) != len(m) {
			t.Fatalf("%q: round trip: %v, %v", s, back, err)
		}
		for k, v := range m {
			if back[k] != v {
				t.Fatalf("%q: round trip of %q: %d, want %d", s, k, back[k], v)
			}
		}
	})
}
