package shim_test

import (
	"fmt"
	"io"
	"runtime/pprof"
	"testing"
)

var leakHeap [][]*[16]int

// BenchmarkLeakProfile: what one goroutineleak profile (a full GC that
// marks from the live roots only, then a debug=2 dump) costs a program of
// a given heap and number of blocked goroutines: the cost the shim's
// Config.LeakProfile charges to its budget (docs/shim.md).
func BenchmarkLeakProfile(b *testing.B) {
	p := pprof.Lookup("goroutineleak")
	if p == nil {
		b.Skip("no goroutineleak profile in this Go (Go 1.27, or GOEXPERIMENT=goroutineleakprofile)")
	}
	for _, sh := range []struct {
		heapMB, goroutines int
	}{{16, 100}, {256, 100}, {256, 10000}} {
		b.Run(fmt.Sprintf("heap=%dMB/goroutines=%d", sh.heapMB, sh.goroutines), func(b *testing.B) {
			leakHeap = nil
			for range sh.heapMB << 20 / 256 / 64 {
				row := make([]*[16]int, 64)
				for i := range row {
					row[i] = new([16]int)
				}
				leakHeap = append(leakHeap, row)
			}
			stop := make(chan struct{})
			for range sh.goroutines {
				go func() { <-stop }()
			}
			defer close(stop)
			for b.Loop() {
				if err := p.WriteTo(io.Discard, 2); err != nil {
					b.Fatal(err)
				}
			}
			leakHeap = nil
		})
	}
}
