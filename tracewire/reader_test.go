package tracewire

import (
	"bytes"
	"io"
	"os"
	"slices"
	"testing"
)

// TestNewReader: the decoder for a Go 1.26 trace, x/exp's Reader when
// asked, and for a trace of another format version (a fallback, which
// x/exp then accepts or rejects); both give the same events.
func TestNewReader(t *testing.T) {
	in, err := os.ReadFile("../testdata/traces/mutex.trace")
	if err != nil {
		t.Fatal(err)
	}
	count := func(r Reader) (n int, last Time) {
		for {
			ev, err := r.Next()
			if err == io.EOF {
				return n, last
			}
			if err != nil {
				t.Fatal(err)
			}
			n, last = n+1, ev.Time
		}
	}
	fast, fellBack, err := NewReader(bytes.NewReader(in), false)
	if err != nil || fellBack {
		t.Fatalf("NewReader(fast): %v, fell back %v", err, fellBack)
	}
	if _, ok := fast.(guarded); !ok {
		t.Fatalf("NewReader(fast) gave a %T", fast)
	}
	exp, fellBack, err := NewReader(bytes.NewReader(in), true)
	if err != nil || fellBack {
		t.Fatalf("NewReader(exp): %v, fell back %v", err, fellBack)
	}
	if _, ok := exp.(*expReader); !ok {
		t.Fatalf("NewReader(exp) gave a %T", exp)
	}
	nf, lf := count(fast)
	ne, le := count(exp)
	if nf == 0 || nf != ne || lf != le {
		t.Errorf("decoder: %d events up to %v; x/exp: %d up to %v", nf, lf, ne, le)
	}

	other := append([]byte("go 1.99 trace\x00\x00\x00"), in[len(Header):]...)
	_, fellBack, err = NewReader(bytes.NewReader(other), false)
	if !fellBack || err == nil {
		t.Errorf("a Go 1.99 trace: fell back %v, error %v; want a fallback that x/exp rejects", fellBack, err)
	}
	// Not a trace at all (an HTML error page, nothing): an error, no
	// fallback.
	for _, body := range []string{"<html>oops</html>", ""} {
		_, fellBack, err = NewReader(bytes.NewReader([]byte(body)), false)
		if fellBack || err == nil {
			t.Errorf("body %q: fell back %v, error %v; want an error and no fallback", body, fellBack, err)
		}
	}
}

// countSink takes every event it is given but those of the kinds
// refuse has, and panics at the event numbered panicAt (1-based; 0
// never).
type countSink struct {
	n, panicAt int
	refuse     []Kind
	times      []Time
}

func (s *countSink) Take(e *Event) bool {
	if slices.Contains(s.refuse, e.Kind) {
		return false
	}
	s.n++
	if s.n == s.panicAt {
		panic("sink bug")
	}
	s.times = append(s.times, e.Time)
	return true
}

// TestSink: Fill gives its events to the sink (the fast lane's as they
// are decoded, the others after their step) and returns those the sink
// refuses (here, Syncs and the Ps' transitions, which the general path
// decodes) with the events after them, and the two together are Next's
// events in Next's order; Next
// never gives events to the sink; a panic in the sink is the sink's, not
// a decoding error (guarded.Fill passes it on).
func TestSink(t *testing.T) {
	in, err := os.ReadFile("../testdata/traces/flightrec.trace")
	if err != nil {
		t.Fatal(err)
	}
	var want []Time
	d, err := NewDecoder(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	s := &countSink{}
	d.SetSink(s)
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ev.Time)
	}
	if s.n != 0 {
		t.Fatalf("Next gave %d events to the sink", s.n)
	}

	r, _, err := NewReader(bytes.NewReader(in), false)
	if err != nil {
		t.Fatal(err)
	}
	f := r.(Filler)
	s = &countSink{refuse: []Kind{KindSync, KindProc}}
	f.SetSink(s)
	var got []Time
	var buf []Event
	returned := 0
	for {
		s.times = s.times[:0]
		buf, err = f.Fill(buf[:0], 1)
		got = append(got, s.times...) // (taken before what Fill returns)
		for i := range buf {
			got = append(got, buf[i].Time)
		}
		returned += len(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.n == 0 || returned == 0 {
		t.Fatalf("%d events taken, %d returned", s.n, returned)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Fill with a sink: %d events, Next: %d, or in another order", len(got), len(want))
	}

	r, _, _ = NewReader(bytes.NewReader(in), false)
	f = r.(Filler)
	f.SetSink(&countSink{panicAt: 100})
	defer func() {
		if p := recover(); p != "sink bug" {
			t.Errorf("a sink's panic came back as %v", p)
		}
	}()
	for {
		if _, err := f.Fill(nil, 1); err != nil {
			t.Fatalf("a sink's panic became the error %v", err)
		}
	}
}
