package analyze

import "testing"

// TestPages: pages holds what was pushed, in order, across page
// boundaries, and a pointer taken before it grew still points at its
// element.
func TestPages(t *testing.T) {
	var p pages[task]
	if p.len() != 0 {
		t.Fatalf("len %d", p.len())
	}
	first := (*task)(nil)
	const n = 3*pageLen + 7
	for i := range n {
		if got := p.push(task{id: uint32(i)}); got != int32(i) {
			t.Fatalf("push %d returned %d", i, got)
		}
		if i == 0 {
			first = p.at(0)
		}
	}
	first.herdBest = 42
	if p.len() != n || p.at(0).herdBest != 42 {
		t.Fatalf("len %d, element 0 %+v", p.len(), *p.at(0))
	}
	k := 0
	for i, e := range p.all() {
		if int(i) != k || e.id != uint32(k) || e != p.at(i) {
			t.Fatalf("all: %d: index %d, id %d", k, i, e.id)
		}
		k++
	}
	if k != n {
		t.Fatalf("all yielded %d of %d", k, n)
	}
}
