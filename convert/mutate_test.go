package convert

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/tracewire/tracetest"
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
		in := tracetest.Mutate(rng, seed)
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
