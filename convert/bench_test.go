package convert

import (
	"bufio"
	"bytes"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/tracewire/tracetest"
)

// BenchmarkConvert converts the trace named by $WAKESHIM_BENCH_TRACE
// (default the busy trace of make bench) from memory to v9 binary
// written to io.Discard: the converter's CPU cost without the file
// system's. Compare with BenchmarkDecode in tracewire (the
// decoder alone, and x/exp's ReadEvent loop) in the same run.
func BenchmarkConvert(b *testing.B) {
	in := tracetest.BenchTrace(b)
	b.SetBytes(int64(len(in)))
	bw := bufio.NewWriterSize(io.Discard, 256<<10)
	start := cpuTime()
	for b.Loop() {
		bw.Reset(io.Discard)
		w, err := format.NewWriter(bw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Convert(bytes.NewReader(in), Config{}, hotSegments{w}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the process's CPU time (user and system) so far: the
// conversion may use more than one core, and the garbage collector does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
