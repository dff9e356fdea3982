package convcore

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/format"
)

// TestMutatedTraces converts thousands of damaged copies of the testdata
// traces (bytes changed, words overwritten, bytes cut out): every run must
// end, promptly, with records or a TraceError, never a panic or a hang.
func TestMutatedTraces(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	names, _ := filepath.Glob(traceFile("*.trace"))
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < n; i++ {
		name := names[rng.IntN(len(names))]
		if filepath.Base(name) == "busy.trace" {
			continue
		}
		seed, _ := os.ReadFile(name)
		in := bytes.Clone(seed)
		for k := 0; k < 1+rng.IntN(3); k++ {
			p := 16 + rng.IntN(len(in)-24)
			switch rng.IntN(4) {
			case 0:
				in[p] = byte(rng.Uint32())
			case 1:
				binary.LittleEndian.PutUint64(in[p:], rng.Uint64())
			case 2:
				in = append(in[:p], in[p+1+rng.IntN(8):]...)
			case 3:
				in[p] = 0xff
				in[p+1] = 0xff
				in[p+2] = 0xff
			}
		}
		done := make(chan struct{})
		go func() {
			var bin bytes.Buffer
			w, _ := format.NewWriter(&bin)
			_, err := Convert(bytes.NewReader(in), Config{}, anySegments{w}, nil)
			if err != nil && !IsTraceError(err) {
				t.Errorf("mutation %d of %s: not a TraceError: %v", i, name, err)
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("hang at %d (%s)\n%s", i, name, buf[:n])
		}
	}
}
