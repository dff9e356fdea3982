package dump

import "strings"

// Normalize returns the part of a blocked goroutine's stack (innermost
// first) that the execution tracer's block stack and every goroutine dump
// form agree on, so that the two can be compared:
//
//   - function names are cleaned: the runtime's "panic" is
//     runtime.gopanic, and generic instantiations are shown as "[...]",
//     as the runtime prints them;
//   - leading runtime-internal frames are dropped: everything in package
//     runtime (gopark, goparkunlock, semacquire1, chanrecv, chanrecv1,
//     chansend1, selectgo, ...), in internal/sync and internal/runtime/...,
//     the runtime's linknamed entry points (sync.runtime_SemacquireMutex,
//     internal/poll.runtime_pollWait, sync.runtime_notifyListWait, ...),
//     the netpoller's internal/poll.(*pollDesc) methods and
//     sync.(*Mutex).lockSlow. A dump shows these frames (debug=0 all of
//     them, debug=1 and debug=2 some), the tracer mostly does not
//     (it reports a mutex wait from sync.(*Mutex).Lock, a channel receive
//     from runtime.chanrecv1, a network read from internal/poll.(*FD).Read);
//   - trailing runtime.main and runtime.goexit frames (the goroutine's
//     entry, which the tracer and debug=2 leave out) are dropped.
//
// The outermost frame is never dropped, so a stack is empty only if it was
// empty. Normalize does not modify frames; it may return a sub-slice of it
// when no name needs cleaning.
func Normalize(frames []Frame) []Frame {
	j := len(frames)
	for j > 1 && (frames[j-1].Func == "runtime.goexit" || frames[j-1].Func == "runtime.main") {
		j--
	}
	i := 0
	for i < j-1 && internalTop(frames[i].Func) {
		i++
	}
	out := frames[i:j]
	for k, f := range out {
		if c := CleanFunc(f.Func); c != f.Func {
			cp := make([]Frame, len(out))
			copy(cp, out)
			for ; k < len(cp); k++ {
				cp[k].Func = CleanFunc(cp[k].Func)
			}
			return cp
		}
	}
	return out
}

// CleanFunc returns fn as the runtime prints it in tracebacks: "panic" is
// runtime.gopanic and type arguments of a generic function are "...".
func CleanFunc(fn string) string {
	if fn == "panic" {
		return "runtime.gopanic"
	}
	i := strings.IndexByte(fn, '[')
	if i < 0 || strings.HasPrefix(fn[i:], "[...]") && !strings.Contains(fn[i+5:], "[") {
		return fn
	}
	var b strings.Builder
	depth := 0
	for k := 0; k < len(fn); k++ {
		c := fn[k]
		switch {
		case c == '[':
			if depth == 0 {
				b.WriteString("[...]")
			}
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// IsRuntimeOnly reports whether a normalised stack is all runtime frames:
// the stack of a goroutine the runtime runs for itself (GC workers, the
// scavenger, the finalizer goroutine...), which goroutine dumps leave out.
func IsRuntimeOnly(frames []Frame) bool {
	for _, f := range frames {
		if !isRuntime(f.Func) {
			return false
		}
	}
	return len(frames) > 0
}

func isRuntime(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/runtime/")
}

// internalTop reports whether fn is a runtime-internal function that a
// blocked stack may or may not show above the first user-visible call.
func internalTop(fn string) bool {
	switch {
	case isRuntime(fn),
		strings.HasPrefix(fn, "internal/sync."),
		strings.HasPrefix(fn, "internal/poll.(*pollDesc)."),
		fn == "sync.(*Mutex).lockSlow",
		fn == "sync.(*RWMutex).rUnlockSlow":
		return true
	}
	// Functions the runtime provides to other packages by linkname:
	// sync.runtime_SemacquireMutex, internal/poll.runtime_pollWait, ...
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:]
	}
	_, name, ok := strings.Cut(fn, ".")
	return ok && strings.HasPrefix(name, "runtime_")
}
