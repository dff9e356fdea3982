package pprofdump_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/wakeshim/wakeshim/dump"
	_ "github.com/wakeshim/wakeshim/dump/pprofdump"
)

// The tests of the protobuf form, through dump's API with the parser
// registered. The test data are dump's (see dump/testdata/gen): blocked.pb.gz
// is the debug=0 form of the same dump as blocked.txt and
// blocked.debug2.txt.

func mustRead(t testing.TB, name string) *dump.Dump {
	t.Helper()
	d, err := dump.ReadFile(filepath.Join("../testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func funcs(fs []dump.Frame) []string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Func)
	}
	return s
}

// userStacks is dump's test helper: the normalised stacks of the test
// program's blocked goroutines, as "f1 < f2" strings with their counts.
func userStacks(d *dump.Dump) map[string]int {
	m := map[string]int{}
	for _, g := range d.Goroutines {
		n := dump.Normalize(g.Frames)
		if !slices.ContainsFunc(n, func(f dump.Frame) bool { return strings.HasPrefix(f.Func, "main.") }) {
			continue
		}
		if strings.HasPrefix(n[0].Func, "runtime/pprof.") {
			continue
		}
		m[strings.Join(funcs(n), " < ")] += g.Count
	}
	return m
}

func gunzip(t testing.TB, b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestForm(t *testing.T) {
	const file = "blocked.pb.gz"
	d := mustRead(t, file)
	if d.Form != dump.FormProto {
		t.Errorf("%s: form %v, want %v", file, d.Form, dump.FormProto)
	}
	if d.HasIDs() {
		t.Errorf("%s: HasIDs %v", file, d.HasIDs())
	}
	sum := 0
	for _, g := range d.Goroutines {
		sum += g.Count
		if g.Count < 1 || len(g.Frames) == 0 {
			t.Errorf("%s: entry %+v", file, g)
		}
	}
	if sum != d.Total {
		t.Errorf("%s: Total %d, sum of counts %d", file, d.Total, sum)
	}
	if d.Time.IsZero() {
		t.Error("protobuf dump without time")
	}
}

// TestFormsAgree checks that the protobuf form gives the same normalised
// stacks as the debug=2 form of the same dump.
func TestFormsAgree(t *testing.T) {
	want := userStacks(mustRead(t, "blocked.debug2.txt"))
	if len(want) < 10 {
		t.Fatalf("only %d user stacks in the debug=2 dump: %v", len(want), want)
	}
	const name = "blocked.pb.gz"
	got := userStacks(mustRead(t, name))
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: stack %q: %d goroutines, debug=2 has %d", name, k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: stack %q not in the debug=2 dump", name, k)
		}
	}
}

func TestRawProto(t *testing.T) {
	pb, err := os.ReadFile("../testdata/blocked.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	d, err := dump.ParseBytes(gunzip(t, pb), "raw.pb")
	if err != nil || d.Form != dump.FormProto || d.Total != mustRead(t, "blocked.pb.gz").Total {
		t.Fatalf("raw protobuf: %v", err)
	}
}

func TestErrors(t *testing.T) {
	var heap bytes.Buffer
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}}}
	if err := p.Write(&heap); err != nil {
		t.Fatal(err)
	}
	pb, err := os.ReadFile("../testdata/blocked.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"heap", heap.Bytes(), "d.txt: a pprof profile of sample type alloc_objects/count, not a goroutine profile"},
		{"raw heap", gunzip(t, heap.Bytes()), "d.txt: a pprof profile of sample type alloc_objects/count, not a goroutine profile"},
		{"truncated pb", pb[:len(pb)/2], "d.txt: bad gzip data"},
		{"truncated raw pb", gunzip(t, pb)[:100], "d.txt: not a"},
		{"gzip'd binary", gz([]byte{0, 1, 2, 3, 0xff, 0xfe}), "d.txt: not a pprof protobuf profile"},
		{"binary", []byte{0, 1, 2, 3, 0xff, 0xfe}, "d.txt: not a goroutine dump: neither text (debug=1, debug=2) nor a pprof protobuf profile (debug=0)"},
		{"gzip'd text", gz([]byte("hello\n")), "d.txt: not a goroutine dump"},
	} {
		_, err := dump.ParseBytes(tt.data, "d.txt")
		var de *dump.Error
		if err == nil || !errors.As(err, &de) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// FuzzParseProto checks that no input makes the protobuf path (the pprof
// library, which the parser guards against panics) fail other than with a
// *dump.Error, seeded with real debug=0 dumps, raw and gzip'd.
func FuzzParseProto(f *testing.F) {
	for _, name := range []string{"../testdata/blocked.pb.gz", "../../testdata/traces/preblocked.goroutines.pb.gz"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(gunzip(f, b))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := dump.ParseBytes(data, "fuzz")
		if err != nil {
			var de *dump.Error
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		sum := 0
		for _, g := range d.Goroutines {
			if g.Count < 0 {
				t.Fatalf("count %d", g.Count)
			}
			sum += g.Count
			dump.Normalize(g.Frames)
		}
		if sum != d.Total {
			t.Fatalf("total %d, sum %d", d.Total, sum)
		}
	})
}
