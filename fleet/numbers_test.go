package fleet

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestNumbersRoundTrip: what appendNumbers writes, parseNumbers and
// encoding/json read back as the same map; the text is what json.Marshal
// writes for plain keys.
func TestNumbersRoundTrip(t *testing.T) {
	for _, m := range []map[string]int64{
		{},
		{"ts_ns": 500, "count": 12, "max_ns": -1},
		{"a\"b\\c": 1, "tab\there": 2, "ünï": 3, "\x01": -9223372036854775808, "big": 9223372036854775807},
	} {
		s := string(appendNumbers(nil, m))
		got, err := parseNumbers(s)
		if err != nil {
			t.Fatalf("parseNumbers(%s): %v", s, err)
		}
		var ref map[string]int64
		if err := json.Unmarshal([]byte(s), &ref); err != nil {
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
	}
	m := map[string]int64{"ts_ns": 500, "count": 12}
	want, _ := json.Marshal(m)
	if got := appendNumbers(nil, m); string(got) != string(want) {
		t.Errorf("appendNumbers = %s, json.Marshal %s", got, want)
	}
}

func TestParseNumbersErrors(t *testing.T) {
	for _, s := range []string{"", "{", "[]", `{"a"}`, `{"a":}`, `{"a":1.5}`, `{"a":01}`, `{"a":1,}`, `{"a":1} x`,
		`{"a":99999999999999999999}`, `{"a\q":1}`, "{\"a\x01\":1}", `{"a":1 "b":2}`, `{a:1}`} {
		_, err := parseNumbers(s)
		if !errors.Is(err, errNumbers) || !strings.Contains(err.Error(), "offset") {
			t.Errorf("parseNumbers(%q) = %v, want an errNumbers naming the offset", s, err)
		}
	}
	m, err := parseNumbers(" { \"a\" : 1 ,\n\"a\":2, \"\\ud83d\\ude00\": 3 } ")
	if err != nil || m["a"] != 2 || m["😀"] != 3 {
		t.Errorf("spaces, a key twice, a surrogate pair: %v, %v", m, err)
	}
}

// FuzzParseNumbers: no panic; what it accepts, encoding/json accepts as
// the same map; and it reads back what appendNumbers writes of it.
func FuzzParseNumbers(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"ts_ns":500,"count":-12}`, `{"\u00e9\ud83d\ude00":3}`, ` {"a" : 0 } `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseNumbers(s)
		if err != nil {
			return
		}
		var ref map[string]int64
		if err := json.Unmarshal([]byte(s), &ref); err != nil {
			t.Fatalf("parseNumbers accepts %q, encoding/json does not: %v", s, err)
		}
		if len(ref) != len(m) {
			t.Fatalf("%q: %v, encoding/json %v", s, m, ref)
		}
		for k, v := range m {
			if rv, ok := ref[k]; !ok || rv != v {
				t.Fatalf("%q: key %q: %d, encoding/json %d (%v)", s, k, v, rv, ok)
			}
		}
		back, err := parseNumbers(string(appendNumbers(nil, m)))
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
