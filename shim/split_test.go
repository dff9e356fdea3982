package shim

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// batch builds an event batch header of generation gen with some payload.
func batch(gen uint64, payload string) []byte {
	b := []byte{evEventBatch}
	b = binary.AppendUvarint(b, gen)
	return append(b, payload...)
}

func snapshot(t *testing.T, f *genFilter, writes ...[]byte) {
	t.Helper()
	f.reset()
	hdr := []byte("go 1.26 trace\x00\x00\x00")
	if _, err := f.Write(hdr); err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		if _, err := f.Write(w); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGenFilter(t *testing.T) {
	eog := []byte{evEndOfGeneration}
	var f genFilter
	// First snapshot: generations 1 and 2, complete.
	snapshot(t, &f, batch(1, "a"), batch(1, "b"), eog, batch(2, "c"), eog)
	data, first, last := f.take()
	want := bytes.Join([][]byte{batch(1, "a"), batch(1, "b"), eog, batch(2, "c"), eog}, nil)
	if first != 1 || last != 2 || !bytes.Equal(data, want) {
		t.Fatalf("take = %q %d %d", data, first, last)
	}
	// The next overlaps: 2 again, then 3 (and an experimental batch).
	exp := append([]byte{evExperimentalBatch, 0}, binary.AppendUvarint(nil, 3)...)
	snapshot(t, &f, batch(2, "c"), eog, batch(3, "d"), exp, eog)
	data, first, last = f.take()
	want = bytes.Join([][]byte{batch(3, "d"), exp, eog}, nil)
	if first != 3 || last != 3 || !bytes.Equal(data, want) {
		t.Fatalf("take = %q %d %d", data, first, last)
	}
	// Nothing new.
	snapshot(t, &f, batch(3, "d"), eog)
	if data, _, _ := f.take(); data != nil {
		t.Fatalf("take = %q, want nothing", data)
	}
	// A generation without its end marker is left out; a gap shows in the
	// numbers.
	snapshot(t, &f, batch(6, "e"), eog, batch(7, "f"))
	data, first, last = f.take()
	if first != 6 || last != 6 || !bytes.Equal(data, append(batch(6, "e"), eog...)) {
		t.Fatalf("take = %q %d %d", data, first, last)
	}
	if n := f.evicted(first); n != 2 {
		t.Errorf("evicted = %d, want 2 (generations 4 and 5)", n)
	}
	// Bad shapes are errors, not panics.
	f.reset()
	if _, err := f.Write([]byte("short")); err == nil {
		t.Error("short header accepted")
	}
	snapshot(t, &f)
	for _, bad := range [][]byte{{99, 1}, {evEventBatch}, {evEventBatch, 0}, {evExperimentalBatch}} {
		if _, err := f.Write(bad); err == nil {
			t.Errorf("batch %v accepted", bad)
		}
	}
}
