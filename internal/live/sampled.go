package live

import (
	"strings"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/dump"
)

// FromDump turns a parsed goroutine dump (debug=2: the only form with
// goroutine ids) into ApplyDump's input: every goroutine with an id and a
// stack but the execution tracer's own and those skip reports (the
// caller's own goroutines; skip may be nil). skip is given the goroutine's
// id and its outermost function (the one the go statement started, below
// runtime.goexit). Frames are normalised like the tracer's stacks
// (dump.Normalize), so that a dump and the trace describe a block in the
// same words. The shim's sampler and wakeshim attach share it.
func FromDump(d *dump.Dump, skip func(id GoID, outer string) bool) []Sampled {
	out := make([]Sampled, 0, len(d.Goroutines))
	for i := range d.Goroutines {
		g := &d.Goroutines[i]
		if !g.HasID || len(g.Frames) == 0 {
			continue
		}
		id := GoID(g.ID)
		outer := g.Frames[len(g.Frames)-1].Func
		if g.CreatedBy != nil && (outer == "runtime.goexit" || outer == "runtime.main") && len(g.Frames) > 1 {
			outer = g.Frames[len(g.Frames)-2].Func
		}
		if TracerFunc(outer) || skip != nil && skip(id, outer) {
			continue
		}
		fr := dump.Normalize(g.Frames)
		frames := make([]string, len(fr))
		for j, f := range fr {
			frames[j] = f.String()
		}
		sg := Sampled{ID: id, Blocked: g.Blocked(), Reason: g.State, Frames: frames,
			Wait: time.Duration(g.WaitMinutes) * time.Minute}
		if g.CreatedBy != nil {
			sg.Creator = g.CreatedBy.String()
		}
		out = append(out, sg)
	}
	return out
}

// Sampled is one goroutine of a goroutine dump.
type Sampled struct {
	ID GoID
	// Blocked reports a goroutine waiting (or in a syscall); Reason is the
	// dump's wait reason ("chan receive", "IO wait", ...), Wait its "N
	// minutes" (0 under a minute) and Frames its normalised stack,
	// innermost first, "FUNC FILE:LINE" like the converter's own.
	Blocked bool
	Reason  string
	Wait    time.Duration
	Frames  []string
	// Creator is the dump's "created by" go statement, "FUNC FILE:LINE"
	// ("" if none).
	Creator string
}

// GoID is a goroutine id.
type GoID = exptrace.GoID

// tracerFuncs are the start functions of the goroutines the execution
// tracer runs for itself (Go 1.25-1.27): its CPU-profile reader, the
// generation advancer and runtime/trace's multiplexer and flight recorder.
var tracerFuncs = []string{
	"runtime.traceStartReadCPU",
	"runtime.(*traceAdvancerState).start",
	"runtime/trace.",
}

// TracerFunc reports whether fn, the start function of a goroutine, is
// one of the execution tracer's own. It lives here, not in package
// convert, because FromDump needs it and convert imports this package.
func TracerFunc(fn string) bool {
	for _, p := range tracerFuncs {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}
