package dumpdiff

import "testing"

func TestParseWindow(t *testing.T) {
	w, err := ParseWindow("-30s:")
	if err != nil || !w.needsEnd() {
		t.Fatal(w, err)
	}
	r := w.resolve(100e6)
	if r.from != 70e6 || r.to < 1e15 {
		t.Errorf("%+v", r)
	}
	w, err = ParseWindow("1ms:2ms")
	if err != nil || w.needsEnd() {
		t.Fatal(w, err)
	}
	if r := w.resolve(0); r.from != 1000 || r.to != 2000 {
		t.Errorf("%+v", r)
	}
}

func TestFmtUS(t *testing.T) {
	for us, want := range map[int64]string{0: "0µs", 999: "999µs", 1234: "1.23ms", 12345: "12.3ms", 123456: "123ms",
		1234567: "1.23s", 12345678: "12.3s", 123456789: "2m3s"} {
		if got := fmtUS(us); got != want {
			t.Errorf("fmtUS(%d) = %q, want %q", us, got, want)
		}
	}
}
