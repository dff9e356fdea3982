// Package tracetest damages execution traces for the tests of the decoders
// and the converter: one way of mutating, shared, so that every suite
// explores the same kinds of damage; and finds their seeds and their
// benchmarks' trace.
package tracetest

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Mutate returns a damaged copy of trace: one to three changes past the
// 16-byte header, each a byte changed, a word overwritten, a few bytes cut
// out or three bytes set to 0xff (a huge varint). Inputs under 32 bytes
// are returned unchanged.
func Mutate(rng *rand.Rand, trace []byte) []byte {
	in := bytes.Clone(trace)
	for k := 0; k < 1+rng.IntN(3); k++ {
		if len(in) < 32 {
			break
		}
		p := 16 + rng.IntN(len(in)-24)
		switch rng.IntN(4) {
		case 0:
			in[p] = byte(rng.Uint32())
		case 1:
			binary.LittleEndian.PutUint64(in[p:], rng.Uint64())
		case 2:
			in = append(in[:p], in[p+1+rng.IntN(8):]...)
		case 3:
			in[p], in[p+1], in[p+2] = 0xff, 0xff, 0xff
		}
	}
	return in
}

// BenchTrace returns the trace the benchmarks run on: the file named by
// $WAKESHIM_BENCH_TRACE, by default the busy trace of make bench (the
// path is relative to a package two levels below the module's root, as
// tracewire and convert are). It skips the benchmark
// when the file cannot be read.
func BenchTrace(tb testing.TB) []byte {
	name := os.Getenv("WAKESHIM_BENCH_TRACE")
	if name == "" {
		name = "../testdata/traces/busy.trace"
	}
	in, err := os.ReadFile(name)
	if err != nil {
		tb.Skip(err)
	}
	return in
}

// Seeds returns the committed testdata traces (testdata/traces, not the
// benchmark's busy.trace when it is there), the seeds of the mutation
// tests and the fuzzers; the path is relative to a package two levels
// below the module's root.
func Seeds(tb testing.TB) [][]byte {
	tb.Helper()
	names, _ := filepath.Glob(filepath.Join("..", "testdata", "traces", "*.trace"))
	var out [][]byte
	for _, name := range names {
		if filepath.Base(name) == "busy.trace" {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		tb.Fatal("no testdata traces")
	}
	return out
}
