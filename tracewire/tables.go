package tracewire

import "fmt"

// tables are one generation's strings, stacks and frames. Stack handles
// point to them, so each generation has its own: the converter may still
// resolve a stack of the previous generation while the decoder reads the
// next one.
type tables struct {
	strings idTable[string]
	stacks  idTable[pcRange]
	pcs     []uint64         // the stacks' PCs, innermost first
	frames  map[uint64]frame // by PC; the first definition of a PC holds
}

type pcRange struct{ off, n int32 }

type frame struct {
	funcID, fileID uint64
	line           uint64
}

func (t *tables) str(id uint64) (string, bool) { return t.strings.get(id) }

// frames yields the frames of stack id (0: none).
func (t *tables) yieldFrames(id uint64, yield func(Frame) bool) {
	if id == 0 {
		return
	}
	r, _ := t.stacks.get(id)
	for _, pc := range t.pcs[r.off : r.off+r.n] {
		f := t.frames[pc]
		fn, _ := t.strings.get(f.funcID)
		file, _ := t.strings.get(f.fileID)
		if !yield(Frame{PC: pc, Func: fn, File: file, Line: f.line}) {
			return
		}
	}
}

// frame returns frame i of stack id, innermost first; i -1 is the
// outermost.
func (t *tables) frame(id uint64, i int) (Frame, bool) {
	if id == 0 {
		return Frame{}, false
	}
	r, _ := t.stacks.get(id)
	if r.n == 0 {
		return Frame{}, false
	}
	if i < 0 {
		i = int(r.n) - 1
	}
	pc := t.pcs[int(r.off)+i]
	f := t.frames[pc]
	fn, _ := t.strings.get(f.funcID)
	file, _ := t.strings.get(f.fileID)
	return Frame{PC: pc, Func: fn, File: file, Line: f.line}, true
}

// outerFunc is Stack.OuterFunc for the decoder's stacks, read from the
// outermost frame in: it stops at the first frame not skip.
func (t *tables) outerFunc(id uint64, skip string) string {
	if id == 0 {
		return ""
	}
	r, _ := t.stacks.get(id)
	pcs := t.pcs[r.off : r.off+r.n]
	last := ""
	for i := len(pcs) - 1; i >= 0; i-- {
		fn, _ := t.strings.get(t.frames[pcs[i]].funcID)
		if i == len(pcs)-1 {
			last = fn
		}
		if fn != skip {
			if fn == "" { // (as the x/exp path: an unnamed outermost function gives the last frame's)
				return last
			}
			return fn
		}
	}
	return last
}

// validate checks, once the generation is read, that the tables hold no
// id twice and that every frame names strings the generation defines.
func (t *tables) validate() error {
	if err := t.strings.index("string"); err != nil {
		return err
	}
	if err := t.stacks.index("stack"); err != nil {
		return err
	}
	for i, r := range t.stacks.vals {
		for _, pc := range t.pcs[r.off : r.off+r.n] {
			f := t.frames[pc]
			if _, ok := t.strings.get(f.funcID); !ok {
				return fmt.Errorf("invalid func string ID %d for stack %d", f.funcID, t.stacks.ids[i])
			}
			if _, ok := t.strings.get(f.fileID); !ok {
				return fmt.Errorf("invalid file string ID %d for stack %d", f.fileID, t.stacks.ids[i])
			}
		}
	}
	return nil
}

// idTable maps the ids a generation gives its strings or stacks to them:
// densely when the ids are (as the runtime writes them, 1, 2, 3...), else
// through a map. Id 0 is the empty value, always present.
type idTable[T any] struct {
	ids    []uint64
	vals   []T
	dense  []int32 // id -> index+1
	sparse map[uint64]int32
	// upTo is the largest id n such that every id from 0 to n is in the
	// table (the runtime numbers them 1, 2, 3...): has(id) is then one
	// comparison, which matters as every event's stack ids are checked.
	upTo uint64
}

func (t *idTable[T]) add(id uint64, v T) {
	t.ids = append(t.ids, id)
	t.vals = append(t.vals, v)
}

// index builds the lookup; an id given twice (or id 0) is an error.
func (t *idTable[T]) index(what string) error {
	maxID := uint64(0)
	for _, id := range t.ids {
		maxID = max(maxID, id)
	}
	if maxID <= uint64(2*len(t.ids)+64) {
		t.dense = make([]int32, maxID+1)
		for i, id := range t.ids {
			if id == 0 || t.dense[id] != 0 {
				return fmt.Errorf("multiple %ss with the same ID: id=%d", what, id)
			}
			t.dense[id] = int32(i + 1)
		}
		for t.upTo+1 < uint64(len(t.dense)) && t.dense[t.upTo+1] != 0 {
			t.upTo++
		}
		return nil
	}
	t.sparse = make(map[uint64]int32, len(t.ids))
	for i, id := range t.ids {
		if _, dup := t.sparse[id]; dup || id == 0 {
			return fmt.Errorf("multiple %ss with the same ID: id=%d", what, id)
		}
		t.sparse[id] = int32(i + 1)
	}
	return nil
}

// has reports whether id is in the table (get without loading the value:
// the decoder checks every event's stack ids).
func (t *idTable[T]) has(id uint64) bool {
	if id <= t.upTo {
		return true
	}
	if t.sparse != nil {
		return t.sparse[id] != 0
	}
	return id < uint64(len(t.dense)) && t.dense[id] != 0
}

func (t *idTable[T]) get(id uint64) (T, bool) {
	var zero T
	if id == 0 {
		return zero, true
	}
	var i int32
	if t.sparse != nil {
		i = t.sparse[id]
	} else if id < uint64(len(t.dense)) {
		i = t.dense[id]
	}
	if i == 0 {
		return zero, false
	}
	return t.vals[i-1], true
}
