package tracewire

import (
	"syscall"
	"unsafe"
)

// hugeAlign returns the index of b's first byte on a huge page boundary.
func hugeAlign(b []byte) int {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return int((p+hugePage-1)&^(hugePage-1) - p)
}

// adviseHuge asks for b (huge-page aligned) to be backed by huge pages.
// It is only advice: the kernel may not have them (or have them
// disabled), and the memory works the same either way.
func adviseHuge(b []byte) {
	const madvHugepage = 14 // MADV_HUGEPAGE
	_ = syscall.Madvise(b, madvHugepage)
}
