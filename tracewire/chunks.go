package tracewire

// Batch memory. A generation is read whole before its first event can be
// ordered, so a large trace's batches fill tens of megabytes of fresh
// memory; on a virtual machine the page faults of touching it cost as much
// CPU as ordering its events (the busy trace of make bench: 10,000 faults,
// 150 to 500 ms of CPU on the shared 2-core machine). Past the first
// chunk, chunks are therefore carved from slabs whose memory is advised to
// be backed by huge pages (Linux, where transparent huge pages are enabled
// for "madvise"): some 20 faults per 40 MB instead of 10,000. A small trace
// needs one chunk and never a slab.

// slabChunks is the number of chunks of a slab: 8 MB, 4 huge pages.
const slabChunks = 8

// hugePage is the size and alignment of a huge page (x86-64, arm64 with 4K
// base pages).
const hugePage = 2 << 20

// newChunks returns more batch memory for a generation holding have
// chunks already: one chunk, or a slab's.
func newChunks(have int) [][]byte {
	if have == 0 {
		return [][]byte{make([]byte, chunkSize)}
	}
	// The slab is allocated one huge page larger than its chunks, so that
	// they can start at a huge page boundary; the part before and after
	// them is never touched.
	slab := make([]byte, slabChunks*chunkSize+hugePage)
	start := hugeAlign(slab)
	mem := slab[start : start+slabChunks*chunkSize : start+slabChunks*chunkSize]
	adviseHuge(mem)
	cs := make([][]byte, slabChunks)
	for i := range cs {
		cs[i] = mem[i*chunkSize : (i+1)*chunkSize : (i+1)*chunkSize]
	}
	return cs
}
