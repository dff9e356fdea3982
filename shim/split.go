package shim

import (
	"encoding/binary"
	"errors"
)

// Trace wire-format constants (internal/trace/tracev2/events.go, Go 1.26).
const (
	evEventBatch        = 1  // EvEventBatch [gen, M, ts, size]
	evExperimentalBatch = 49 // EvExperimentalBatch [exp byte, gen, M, ts, size]
	evEndOfGeneration   = 52 // EvEndOfGeneration, a single byte (Go 1.26+)
	traceHeaderLen      = 16
)

var errSnapshotShape = errors.New("unexpected flight recorder snapshot layout")

// genFilter is the io.Writer given to FlightRecorder.WriteTo. WriteTo calls
// Write once with the 16-byte header, then once per batch (each Write one
// whole batch, or the one-byte end-of-generation marker: see
// runtime/trace/flightrecorder.go). genFilter keeps only the batches of
// generations newer than lastFed (not yet passed on to the parser), so that
// consecutive snapshots, which overlap, become one stream of consecutive
// generations.
type genFilter struct {
	header  [traceHeaderLen]byte
	gotHdr  bool
	lastFed uint64 // highest generation already passed on
	prevFed uint64 // lastFed before the last take

	// per-snapshot state
	cur      uint64 // generation of the batches being written
	firstNew uint64 // first new generation in this snapshot
	lastNew  uint64 // last complete new generation in this snapshot
	out      []byte // new data
	complete int    // len(out) at the end of the last complete new generation
	bytes    int64  // bytes of the snapshot
}

func (f *genFilter) reset() {
	f.gotHdr = false
	f.cur, f.firstNew, f.lastNew = 0, 0, 0
	f.out = f.out[:0]
	f.complete = 0
	f.bytes = 0
}

func (f *genFilter) Write(p []byte) (int, error) {
	f.bytes += int64(len(p))
	if !f.gotHdr {
		if len(p) != traceHeaderLen {
			return 0, errSnapshotShape
		}
		copy(f.header[:], p)
		f.gotHdr = true
		return len(p), nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) == 1 && p[0] == evEndOfGeneration {
		if f.cur > f.lastFed {
			f.out = append(f.out, p[0])
			f.complete = len(f.out)
			f.lastNew = f.cur
		}
		return 1, nil
	}
	i := 1
	switch p[0] {
	case evEventBatch:
	case evExperimentalBatch:
		i = 2
	default:
		return 0, errSnapshotShape
	}
	if i >= len(p) {
		return 0, errSnapshotShape
	}
	gen, n := binary.Uvarint(p[i:])
	if n <= 0 || gen == 0 {
		return 0, errSnapshotShape
	}
	if f.cur != 0 && gen != f.cur && f.cur > f.lastFed && f.lastNew != f.cur {
		// A new generation began without the previous one's end marker:
		// drop the incomplete one.
		f.out = f.out[:f.complete]
		if f.firstNew == f.cur {
			f.firstNew = 0
		}
	}
	f.cur = gen
	if gen > f.lastFed {
		if f.firstNew == 0 {
			f.firstNew = gen
		}
		f.out = append(f.out, p...)
	}
	return len(p), nil
}

// evicted returns how many generations before first (the first of a
// chunk just taken) were never passed on: they left the ring before a
// snapshot took them. (Call it right after take.)
func (f *genFilter) evicted(first uint64) int64 {
	if f.prevFed == 0 || first <= f.prevFed+1 {
		return 0
	}
	return int64(first - f.prevFed - 1)
}

// take returns the complete new generations of the last snapshot (nil if
// none) and marks them passed on. data aliases the filter's buffer until
// the next reset.
func (f *genFilter) take() (data []byte, first, last uint64) {
	if f.lastNew == 0 || f.firstNew == 0 {
		return nil, 0, 0
	}
	data = f.out[:f.complete]
	first, last = f.firstNew, f.lastNew
	f.prevFed, f.lastFed = f.lastFed, last
	return data, first, last
}
