package tracewire

import (
	"slices"
	"testing"
)

// TestHotSpecs: the packed copy the decoder reads for every event says
// what the spec table says (no spec has more stack or string arguments
// than it can hold).
func TestHotSpecs(t *testing.T) {
	for typ := range 256 {
		want := -1
		if typ < numSpecs && specs[typ].timed && specs[typ].nargs > 0 {
			want = int(specs[typ].nargs) - 1
		}
		if got := int(hotSpecs[typ].targs); got != want {
			t.Errorf("event type %d: targs %d, want %d", typ, got, want)
		}
	}
	for typ := range specs {
		sp, h := &specs[typ], &hotSpecs[typ]
		if len(sp.stacks) > len(h.stacks) || len(sp.strings) > len(h.strings) {
			t.Fatalf("%s: %d stack and %d string arguments, hotSpec holds %d and %d", sp.name, len(sp.stacks), len(sp.strings), len(h.stacks), len(h.strings))
		}
		if h.nargs != sp.nargs || h.timed != sp.timed ||
			!slices.Equal(h.stacks[:h.nstacks], sp.stacks) || !slices.Equal(h.strings[:h.nstrings], sp.strings) {
			t.Errorf("event type %d (%s): hotSpec %+v, spec %+v", typ, sp.name, *h, *sp)
		}
	}
}

// TestIDTableHas: has agrees with get, for dense tables with and without
// gaps and for sparse ones (has takes a shortcut for the ids below the
// first gap).
func TestIDTableHas(t *testing.T) {
	for _, ids := range [][]uint64{
		{1, 2, 3, 4, 5},
		{1, 2, 4, 5},
		{2, 3},
		{1, 1000000},
		{},
	} {
		var tb idTable[int]
		for i, id := range ids {
			tb.add(id, i)
		}
		if err := tb.index("test"); err != nil {
			t.Fatal(err)
		}
		for id := uint64(0); id < 8; id++ {
			_, ok := tb.get(id)
			if got := tb.has(id); got != ok {
				t.Errorf("ids %v: has(%d) = %v, get says %v", ids, id, got, ok)
			}
		}
		if !tb.has(0) {
			t.Errorf("ids %v: has(0) = false", ids)
		}
	}
}

// TestMulExact: mul's integer shortcut gives the reference parser's
// float64 product, at the edges of where it is taken.
func TestMulExact(t *testing.T) {
	for _, f := range []uint64{1, 3, 64, 1000, 1 << 20} {
		g := &generation{}
		g.setFreq(1e9 / f) // (ticks per second: f ns a tick)
		if f == 1 || f == 64 {
			if g.ifreq != f {
				t.Errorf("%d ns a tick: no integer shortcut", f)
			}
		}
		for _, ts := range []uint64{0, 1, 12345, g.exactBelow - 1, g.exactBelow, g.exactBelow + 1, 1<<53 - 1, 1 << 60} {
			if got, want := g.mul(ts), Time(float64(ts)*g.freq); got != want {
				t.Errorf("freq %v, ts %d: %d, want %d", g.freq, ts, got, want)
			}
		}
	}
}
