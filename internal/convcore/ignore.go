package convcore

import "strings"

// tracerFuncs are the start functions of the goroutines the execution
// tracer runs for itself (Go 1.25/1.26): its CPU-profile reader, the
// generation advancer and runtime/trace's multiplexer and flight recorder.
var tracerFuncs = []string{
	"runtime.traceStartReadCPU",
	"runtime.(*traceAdvancerState).start",
	"runtime/trace.",
}

// SystemGoroutine is a Config.Ignore function that leaves out the
// runtime's own goroutines: the tracer's (see TracerGoroutine) and the
// runtime's system goroutines (the GC's sweeper and scavenger, forcegc, the
// finalizer goroutine...), recognised like runtime.isSystemGoroutine by a
// start function in package runtime other than runtime.main. Goroutine dumps
// hide the same goroutines.
func SystemGoroutine(id GoID, stack Stack) bool {
	outer := outermost(stack)
	return strings.HasPrefix(outer, "runtime.") && outer != "runtime.main" || tracerFunc(outer)
}

// TracerGoroutine is a Config.Ignore function that leaves out the execution
// tracer's own goroutines, recognised by the function they started in (the
// outermost frame of stack). They are never the user's: they appear in
// every trace, blocked on their own timers.
func TracerGoroutine(_ GoID, stack Stack) bool {
	return tracerFunc(outermost(stack))
}

func outermost(stack Stack) string {
	var outer string
	for f := range stack.Frames() {
		outer = f.Func
	}
	return outer
}

func tracerFunc(outer string) bool {
	for _, p := range tracerFuncs {
		if strings.HasPrefix(outer, p) {
			return true
		}
	}
	return false
}
