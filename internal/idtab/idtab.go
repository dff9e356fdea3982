// Package idtab maps the runtime's goroutine ids to values, for the
// decoder's and the converter's per-goroutine state: the lookup every
// event makes.
//
// A Go map cost the conversion 15-25% of its CPU on traces with many
// goroutines (hashing, probing, and the deletes of goroutines that end),
// and a direct-mapped cache in front of it missed whenever more
// goroutines were active than it had slots. The runtime hands out
// goroutine ids densely (sched.goidgen, in batches per P), so a table
// indexed by id is both faster and small: values live in pages of 64
// ids, a page is freed when its last id is deleted, and the directory
// of pages covers the ids up to the largest seen. Memory is bounded by
// the live goroutines (at most a page each) plus the directory (8 bytes
// per 64 ids, capped at 2 MB: ids from 1<<24 on, a process that has made
// 16 million goroutines, go to a map instead, as before).
package idtab

const (
	pageBits = 6
	pageSize = 1 << pageBits
	// maxDense is the first id kept in the map rather than the pages.
	maxDense = 1 << 24
)

// Table maps ids to values of type V. The zero value is an empty table.
// It is not safe for concurrent use.
type Table[V any] struct {
	dir   []*page[V]
	spare *page[V] // the last page freed, for the next one needed
	big   map[uint64]V
	n     int
}

type page[V any] struct {
	set  uint64 // bit i: id page*64+i is present
	vals [pageSize]V
}

// Get returns the value of id, if present.
func (t *Table[V]) Get(id uint64) (V, bool) {
	if p := id >> pageBits; p < uint64(len(t.dir)) {
		if pg := t.dir[p]; pg != nil && pg.set&(1<<(id&(pageSize-1))) != 0 {
			return pg.vals[id&(pageSize-1)], true
		}
	} else if id >= maxDense {
		v, ok := t.big[id]
		return v, ok
	}
	var zero V
	return zero, false
}

// Set sets the value of id.
func (t *Table[V]) Set(id uint64, v V) {
	if id >= maxDense {
		if t.big == nil {
			t.big = make(map[uint64]V)
		}
		if _, ok := t.big[id]; !ok {
			t.n++
		}
		t.big[id] = v
		return
	}
	p := id >> pageBits
	if p >= uint64(len(t.dir)) {
		if p < uint64(cap(t.dir)) {
			t.dir = t.dir[:p+1]
		} else {
			t.dir = append(t.dir[:cap(t.dir)], make([]*page[V], int(p+1)-cap(t.dir))...)
			t.dir = t.dir[:cap(t.dir)]
		}
	}
	pg := t.dir[p]
	if pg == nil {
		pg, t.spare = t.spare, nil
		if pg == nil {
			pg = new(page[V])
		}
		t.dir[p] = pg
	}
	bit := uint64(1) << (id & (pageSize - 1))
	if pg.set&bit == 0 {
		pg.set |= bit
		t.n++
	}
	pg.vals[id&(pageSize-1)] = v
}

// Delete removes id.
func (t *Table[V]) Delete(id uint64) {
	if id >= maxDense {
		if _, ok := t.big[id]; ok {
			delete(t.big, id)
			t.n--
		}
		return
	}
	p := id >> pageBits
	if p >= uint64(len(t.dir)) {
		return
	}
	pg := t.dir[p]
	bit := uint64(1) << (id & (pageSize - 1))
	if pg == nil || pg.set&bit == 0 {
		return
	}
	var zero V
	pg.set &^= bit
	pg.vals[id&(pageSize-1)] = zero
	t.n--
	if pg.set == 0 {
		t.dir[p] = nil
		t.spare = pg
	}
}

// Len returns the number of ids present.
func (t *Table[V]) Len() int { return t.n }

// Clear removes every id, keeping the directory's memory.
func (t *Table[V]) Clear() {
	clear(t.dir)
	t.dir = t.dir[:0]
	t.spare = nil
	clear(t.big)
	t.n = 0
}
