package tracewire

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestNewReader: the decoder for a Go 1.26 trace, x/exp's Reader when
// asked, and for a trace of another format version (a fallback, which
// x/exp then accepts or rejects); both give the same events.
func TestNewReader(t *testing.T) {
	in, err := os.ReadFile("../../testdata/traces/mutex.trace")
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
