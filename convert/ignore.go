package convert

import (
	"strings"

	"github.com/wakeshim/wakeshim/internal/live"
)

// SystemGoroutine is a Config.Ignore function that leaves out the
// runtime's own goroutines: the tracer's (see TracerGoroutine) and the
// runtime's system goroutines (the GC's sweeper and scavenger, forcegc, the
// finalizer goroutine...), recognised like runtime.isSystemGoroutine by a
// start function in package runtime other than runtime.main. Goroutine dumps
// hide the same goroutines.
//
// Goroutine 1 is the program's main goroutine and never a system one,
// whatever its stack: while package inits run (a shim started from an init,
// say), its stack can end in runtime.doInit1, cut short of runtime.main.
func SystemGoroutine(id GoID, stack Stack) bool {
	if id == 1 {
		return false
	}
	outer := Outermost(stack)
	return strings.HasPrefix(outer, "runtime.") && outer != "runtime.main" && !strings.HasPrefix(outer, "runtime.doInit") || live.TracerFunc(outer)
}

// TracerGoroutine is a Config.Ignore function that leaves out the execution
// tracer's own goroutines, recognised by the function they started in (the
// outermost frame of stack). They are never the user's: they appear in
// every trace, blocked on their own timers.
func TracerGoroutine(_ GoID, stack Stack) bool {
	return live.TracerFunc(Outermost(stack))
}

// Outermost returns the function a goroutine started in: the outermost
// frame of its stack, runtime.goexit (the return address every goroutine's
// stack may end with) left out. A stack that ends in runtime.goexit would
// otherwise make any goroutine, the program's main one included, look like
// one the runtime runs for itself.
func Outermost(stack Stack) string {
	return stack.OuterFunc("runtime.goexit")
}
