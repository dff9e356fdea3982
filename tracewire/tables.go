package tracewire

import "fmt"

// tables are one generation's strings, stacks and frames. Stack handles
// point to them, so each generation has its own: the converter may still
// resolve a stack of the previous generation while the decoder reads the
// next one.
type tables struct {
	strings idTable[string]
	stacks  idTable[pcRange] // ranges of fidx
	fidx    []uint32         // the stacks' frames, innermost first: indexes in frames
	// frames are the distinct frames by PC (the first definition of a PC
	// holds), found by PC through fslots, open-addressed (index in
	// frames + 1; 0 empty). A Go map here, looked up and then assigned
	// for every frame of every stack, was a ninth of decoding Go's
	// net/http tests' trace, whose generations hold thousands of stacks;
	// and each stack's frames read by index rather than by PC again.
	frames []frame
	fslots []uint32
}

type pcRange struct{ off, n int32 }

type frame struct {
	pc             uint64
	funcID, fileID uint64
	line           uint64
}

// addFrame returns the index in frames of the frame of pc, adding it
// with fn, file and line if pc is new.
func (t *tables) addFrame(pc, fn, file, line uint64) uint32 {
	if 2*(len(t.frames)+1) > len(t.fslots) {
		t.growSlots(2 * (len(t.frames) + 1))
	}
	mask := uint64(len(t.fslots) - 1)
	for h := pcHash(pc) & mask; ; h = (h + 1) & mask {
		s := t.fslots[h]
		if s == 0 {
			t.frames = append(t.frames, frame{pc: pc, funcID: fn, fileID: file, line: line})
			t.fslots[h] = uint32(len(t.frames))
			return uint32(len(t.frames) - 1)
		}
		if t.frames[s-1].pc == pc {
			return s - 1
		}
	}
}

// growSlots makes fslots a power of two of at least n slots, and at least
// twice as many as before, and fills it again.
func (t *tables) growSlots(n int) {
	size := max(64, 2*len(t.fslots))
	for size < n {
		size *= 2
	}
	t.fslots = make([]uint32, size)
	mask := uint64(size - 1)
	for i, f := range t.frames {
		h := pcHash(f.pc) & mask
		for t.fslots[h] != 0 {
			h = (h + 1) & mask
		}
		t.fslots[h] = uint32(i + 1)
	}
}

func pcHash(pc uint64) uint64 { return (pc * 0x9e3779b97f4a7c15) >> 32 }

func (t *tables) str(id uint64) (string, bool) { return t.strings.get(id) }

// frames yields the frames of stack id (0: none).
func (t *tables) yieldFrames(id uint64, yield func(Frame) bool) {
	if id == 0 {
		return
	}
	r, _ := t.stacks.get(id)
	for _, fi := range t.fidx[r.off : r.off+r.n] {
		f := &t.frames[fi]
		fn, _ := t.strings.get(f.funcID)
		file, _ := t.strings.get(f.fileID)
		if !yield(Frame{PC: f.pc, Func: fn, File: file, Line: f.line}) {
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
	f := &t.frames[t.fidx[int(r.off)+i]]
	fn, _ := t.strings.get(f.funcID)
	file, _ := t.strings.get(f.fileID)
	return Frame{PC: f.pc, Func: fn, File: file, Line: f.line}, true
}

// outerFunc is Stack.OuterFunc for the decoder's stacks, read from the
// outermost frame in: it stops at the first frame not skip.
func (t *tables) outerFunc(id uint64, skip string) string {
	if id == 0 {
		return ""
	}
	r, _ := t.stacks.get(id)
	fidx := t.fidx[r.off : r.off+r.n]
	last := ""
	for i := len(fidx) - 1; i >= 0; i-- {
		fn, _ := t.strings.get(t.frames[fidx[i]].funcID)
		if i == len(fidx)-1 {
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
		for _, fi := range t.fidx[r.off : r.off+r.n] {
			f := &t.frames[fi]
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
