//go:build !linux

package tracewire

func hugeAlign(b []byte) int { return 0 }

func adviseHuge(b []byte) {}
