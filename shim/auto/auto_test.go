package auto

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/wakeshim/wakeshim/shim"
)

func TestUnsetStartsNothing(t *testing.T) {
	if os.Getenv(EnvVar) != "" {
		t.Skip("WAKESHIM is set in the test's environment")
	}
	if Session() != nil || shim.Current() != nil {
		t.Fatal("a session runs with WAKESHIM unset")
	}
	allocs := testing.AllocsPerRun(100, fromEnv)
	if allocs != 0 {
		t.Errorf("init with WAKESHIM unset: %v allocations", allocs)
	}
	if Session() != nil || shim.Current() != nil {
		t.Error("init with WAKESHIM unset started a session")
	}
	// No goroutine of the shim's, and no tracing.
	buf := make([]byte, 1<<20)
	dump := string(buf[:runtime.Stack(buf, true)])
	if strings.Contains(dump, "wakeshim/shim.") || strings.Contains(dump, "runtime/trace.") {
		t.Errorf("shim or tracer goroutines with WAKESHIM unset:\n%s", dump)
	}
}
