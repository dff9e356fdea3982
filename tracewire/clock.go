package tracewire

import (
	"encoding/binary"

	exptrace "golang.org/x/exp/trace"
)

// ClockOf returns the clock snapshot of the first generation in gen (the
// bytes of whole generations, after the trace's header), or nil if it has
// none. It reads the batches' headers and the sync batch alone, so it
// costs next to nothing: what a consumer that skips a generation (the
// shim, for its CPU budget) still takes from it, to place other evidence
// (goroutine dumps, by their wall time) on the trace's clock before it
// has converted a generation. A malformed generation gives nil.
func ClockOf(gen []byte) *exptrace.ClockSnapshot {
	i := 0
	uv := func() (uint64, bool) {
		if i >= len(gen) {
			return 0, false
		}
		v, n := binary.Uvarint(gen[i:])
		if n <= 0 {
			return 0, false
		}
		i += n
		return v, true
	}
	for i < len(gen) {
		typ := gen[i]
		i++
		if typ == evEndOfGeneration {
			return nil
		}
		if typ != evEventBatch && typ != evExperimentalBatch {
			return nil
		}
		if typ == evExperimentalBatch {
			i++ // the experiment
		}
		var hdr [4]uint64 // gen, M, time, size
		for k := range hdr {
			v, ok := uv()
			if !ok {
				return nil
			}
			hdr[k] = v
		}
		ts, size := hdr[2], hdr[3]
		if size > maxBatchSize || uint64(len(gen)-i) < size {
			return nil
		}
		b := gen[i : i+int(size)]
		i += int(size)
		if typ != evEventBatch || len(b) == 0 || b[0] != evSync {
			continue
		}
		var g generation
		if g.setSync(b, ts, 0) != nil || !g.hasFreq || !g.hasClock {
			return nil
		}
		return &exptrace.ClockSnapshot{Trace: g.mul(g.snapTime), Wall: g.snapWall, Mono: g.snapMono}
	}
	return nil
}
