package format

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func readPauses(in string) ([]Pause, error) {
	pr, err := NewPauseReader(strings.NewReader(in))
	if err != nil {
		return nil, err
	}
	var out []Pause
	for {
		p, err := pr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
}

func TestPauseRoundTrip(t *testing.T) {
	ps := []Pause{
		{TS: 0, Duration: 12000, Reason: "GC sweep termination"},
		{TS: 4294967295, Duration: 4294967295, Reason: "start trace"},
		{TS: 7, Duration: 0, Reason: "odd\nreason"},
	}
	b := []byte(PauseHeader)
	for i := range ps {
		b = AppendPause(b, &ps[i])
	}
	got, err := readPauses(string(b))
	if err != nil {
		t.Fatal(err)
	}
	ps[2].Reason = "odd reason"
	if len(got) != len(ps) {
		t.Fatalf("got %d pauses, want %d", len(got), len(ps))
	}
	for i := range ps {
		if got[i] != ps[i] {
			t.Errorf("pause %d: got %+v, want %+v", i, got[i], ps[i])
		}
	}
}

func TestPauseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		good     int
		is       error
		line     int
	}{
		{"empty", "", 0, ErrPauseSyntax, 1},
		{"header", "# wakeshim pauses v2\n1 2 x\n", 0, ErrPauseSyntax, 1},
		{"fields", PauseHeader + "1 2 GC\n3 4\n", 1, ErrPauseSyntax, 3},
		{"number", PauseHeader + "1 x GC\n", 0, ErrPauseSyntax, 2},
		{"range", PauseHeader + "4294967296 1 GC\n", 0, ErrPauseSyntax, 2},
		{"truncated", PauseHeader + "1 2 GC\n3 4 GC", 1, io.ErrUnexpectedEOF, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readPauses(tc.in)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err %v, want %v", err, tc.is)
			}
			var pe *PauseError
			if !errors.As(err, &pe) || pe.Line != tc.line {
				t.Fatalf("err %v: want a *PauseError at line %d", err, tc.line)
			}
			if len(got) != tc.good {
				t.Fatalf("%d pauses before the error, want %d", len(got), tc.good)
			}
		})
	}
}

// FuzzPauseReader: any input gives pauses and then an error or the end,
// never a panic; what it reads writes back to a file that reads the same.
func FuzzPauseReader(f *testing.F) {
	f.Add([]byte(PauseHeader + "1 2 GC sweep termination\n"))
	f.Add([]byte(PauseHeader + "1 2"))
	f.Add([]byte("# wakeshim pauses v1"))
	f.Fuzz(func(t *testing.T, in []byte) {
		pr, err := NewPauseReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		var ps []Pause
		for {
			p, err := pr.Next()
			if err != nil {
				break
			}
			ps = append(ps, p)
		}
		b := []byte(PauseHeader)
		for i := range ps {
			b = AppendPause(b, &ps[i])
		}
		again, err := readPauses(string(b))
		if err != nil || len(again) != len(ps) {
			t.Fatalf("rewritten: %d pauses, %v; want %d", len(again), err, len(ps))
		}
		for i := range ps {
			if again[i] != ps[i] {
				t.Fatalf("pause %d: %+v rewritten as %+v", i, ps[i], again[i])
			}
		}
	})
}
