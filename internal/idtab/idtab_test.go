package idtab

import (
	"math/rand/v2"
	"testing"
)

// pages counts the pages in use.
func (t *Table[V]) pages() int {
	n := 0
	for _, pg := range t.dir {
		if pg != nil {
			n++
		}
	}
	return n
}

// TestAgainstMap: random sets, gets and deletes, on dense ids, ids past
// the pages (the map) and the id of no goroutine (-1), agree with a map.
func TestAgainstMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   func(r *rand.Rand) uint64
	}{
		{"dense", func(r *rand.Rand) uint64 { return r.Uint64N(5000) }},
		{"sparse", func(r *rand.Rand) uint64 { return r.Uint64N(maxDense) }},
		{"mixed", func(r *rand.Rand) uint64 {
			switch r.IntN(4) {
			case 0:
				return maxDense + r.Uint64N(100)
			case 1:
				return uint64(1<<64 - 1) // GoID -1
			}
			return maxDense - 50 + r.Uint64N(100)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var tab Table[int32]
			want := map[uint64]int32{}
			for i := range 200000 {
				id := tc.id(r)
				switch r.IntN(3) {
				case 0:
					tab.Set(id, int32(i))
					want[id] = int32(i)
				case 1:
					tab.Delete(id)
					delete(want, id)
				}
				v, ok := tab.Get(id)
				if w, wok := want[id]; v != w || ok != wok {
					t.Fatalf("op %d: Get(%d) = %d, %v; want %d, %v", i, id, v, ok, w, wok)
				}
				if tab.Len() != len(want) {
					t.Fatalf("op %d: Len() = %d, want %d", i, tab.Len(), len(want))
				}
			}
			for id, w := range want {
				if v, ok := tab.Get(id); !ok || v != w {
					t.Fatalf("Get(%d) = %d, %v; want %d", id, v, ok, w)
				}
			}
			tab.Clear()
			if tab.Len() != 0 || tab.pages() != 0 {
				t.Fatalf("after Clear: Len %d, %d pages", tab.Len(), tab.pages())
			}
			if _, ok := tab.Get(3); ok {
				t.Fatal("Get after Clear found an id")
			}
		})
	}
}

// TestPagesFreed: memory follows the live ids. A server that made a
// million goroutines, with 100 alive, holds at most 100 pages, and
// pages are reused.
func TestPagesFreed(t *testing.T) {
	var tab Table[*int]
	x := new(int)
	live := []uint64{1, 2, 20}
	for _, id := range live {
		tab.Set(id, x)
	}
	for id := uint64(100); id < 1_000_000; id++ {
		tab.Set(id, x)
		if id%10000 != 0 { // every 10000th stays
			tab.Delete(id)
		}
	}
	if n := tab.pages(); n > 100 {
		t.Errorf("%d pages in use for %d live ids", n, tab.Len())
	}
	if tab.Len() != len(live)+99 {
		t.Errorf("Len %d, want %d", tab.Len(), len(live)+99)
	}
	for id := uint64(10000); id < 1_000_000; id += 10000 {
		if v, ok := tab.Get(id); !ok || v != x {
			t.Fatalf("Get(%d) lost", id)
		}
	}
	if v, ok := tab.Get(20); !ok || v != x {
		t.Fatal("Get(20) lost")
	}
	allocs := testing.AllocsPerRun(100, func() {
		tab.Set(2000001, x)
		tab.Delete(2000001)
	})
	if allocs != 0 {
		t.Errorf("a set and delete on a fresh page allocated %v times; the spare page should serve", allocs)
	}
}

func BenchmarkGet(b *testing.B) {
	var tab Table[int32]
	m := map[uint64]int32{}
	for id := range uint64(2000) {
		tab.Set(id*3, int32(id))
		m[id*3] = int32(id)
	}
	b.Run("idtab", func(b *testing.B) {
		var s int32
		for i := range b.N {
			v, _ := tab.Get(uint64(i*7) % 6000)
			s += v
		}
		_ = s
	})
	b.Run("map", func(b *testing.B) {
		var s int32
		for i := range b.N {
			v := m[uint64(i*7)%6000]
			s += v
		}
		_ = s
	})
}
