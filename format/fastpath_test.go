package format

import (
	"math/rand/v2"
	"testing"
)

// TestAppendFastPath checks the unrolled encoders of AppendRecord against
// the table-driven one, for every code, on random field values.
func TestAppendFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for code := Code(0); code.Valid(); code++ {
		t.Run(code.String(), func(t *testing.T) {
			for range 1000 {
				r := Record{
					Code: code, TS: rng.Uint32(), Worker: uint8(rng.Uint32()), LocalQ: uint8(rng.Uint32()),
					GlobalQ: uint8(rng.Uint32()), Task: rng.Uint32(), Waker: rng.Uint32(),
					SpawnLoc: uint16(rng.Uint32()), CPU: rng.Uint32(), SchedWait: rng.Uint32(),
					ID: uint16(rng.Uint32()%MaxID) + 1, Str: "f x.go:1", Duration: rng.Uint32(),
					Frames: []uint16{uint16(rng.Uint32()), 7},
				}
				if rng.IntN(4) == 0 { // none, or more than a TaskPending keeps
					r.Frames = make([]uint16, rng.IntN(2*MaxFrames))
					for i := range r.Frames {
						r.Frames[i] = uint16(rng.Uint32())
					}
				}
				fast, err1 := AppendRecord(nil, &r)
				ref, err2 := appendByTable(nil, &r)
				if err1 != nil || err2 != nil {
					t.Fatalf("%v %v", err1, err2)
				}
				if string(fast) != string(ref) {
					t.Fatalf("%+v:\nfast  %x\ntable %x", r, fast, ref)
				}
				if len(fast) != r.Size() {
					t.Fatalf("%+v: %d bytes, Size %d", r, len(fast), r.Size())
				}
			}
		})
	}
}
