package convert

import (
	"strings"

	exptrace "golang.org/x/exp/trace"
)

// tracerFuncs are the start functions of the goroutines the execution
// tracer runs for itself (Go 1.25/1.26): its CPU-profile reader, the
// generation advancer and runtime/trace's multiplexer and flight recorder.
var tracerFuncs = []string{
	"runtime.traceStartReadCPU",
	"runtime.(*traceAdvancerState).start",
	"runtime/trace.",
}

// TracerGoroutine is a Config.Ignore function that leaves out the execution
// tracer's own goroutines, recognised by the function they started in (the
// outermost frame of stack). They are never the user's: they appear in
// every trace, blocked on their own timers.
func TracerGoroutine(_ exptrace.GoID, stack exptrace.Stack) bool {
	var outer string
	for f := range stack.Frames() {
		outer = f.Func
	}
	for _, p := range tracerFuncs {
		if strings.HasPrefix(outer, p) {
			return true
		}
	}
	return false
}
