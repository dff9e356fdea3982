package convcore

import (
	"strings"

	exptrace "golang.org/x/exp/trace"
)

// A goroutine's spawn location names the function it runs and the go
// statement that created it:
//
//	ENTRY (created at CREATOR_FUNC FILE:LINE)
//
// or ENTRY alone when the creator is unknown (a goroutine older than the
// trace, before a goroutine dump named its creator). ENTRY is the function
// people recognise: the outermost function of the goroutine's stack, past
// the wrappers a go statement makes (X.gowrapN for `go f(args)`) and past a
// closure of the creating function that only calls on (`go func() { f() }()`,
// as servers' startGoRoutine helpers do). docs/format.md documents the form.

// origin is what a goroutine dump said of a goroutine's origin.
type origin struct{ entry, creator string }

func (o origin) loc() string { return spawnLoc(o.entry, o.creator) }

func spawnLoc(entry, creator string) string {
	switch {
	case creator == "":
		return entry
	case entry == "":
		return "(created at " + creator + ")"
	}
	return entry + " (created at " + creator + ")"
}

// setOrigin fills in what is known of g's origin: a non-empty entry or
// creator replaces the current one. A changed location is defined and
// spawned again in the current segment.
func (c *Converter) setOrigin(g *goroutine, entry, creator string) {
	if creator != "" {
		g.creator = creator
	}
	if entry != "" {
		g.entry = entry
	}
	if loc := spawnLoc(g.entry, g.creator); loc != g.loc {
		g.loc = loc
		g.locSeg, g.spawnSeg = 0, 0
	}
}

// noteStack refines g's entry function from a stack of the goroutine (a
// block or status stack): its outermost frames show what a wrapper calls.
// Only goroutines whose entry is unknown or a wrapper pay for the walk.
func (c *Converter) noteStack(g *goroutine, stk exptrace.Stack) {
	if g.entry != "" && !wrapper(g.entry, creatorFunc(g.creator)) {
		return
	}
	if e := entryOf(c.stackFrames(stk), creatorFunc(g.creator)); e != "" && e != g.entry {
		c.setOrigin(g, e, "")
	}
}

// noteFrames is noteStack for frames a goroutine dump gave.
func (c *Converter) noteFrames(g *goroutine, frames []string) {
	if g.entry != "" && !wrapper(g.entry, creatorFunc(g.creator)) {
		return
	}
	if e := entryOf(frames, creatorFunc(g.creator)); e != "" && e != g.entry {
		c.setOrigin(g, e, "")
	}
}

// entryOf returns the entry function of a goroutine whose stack is frames
// (innermost first, "FUNC FILE:LINE"), created in function creator ("" if
// unknown): the outermost frame that is not the runtime's, past wrappers.
func entryOf(frames []string, creator string) string {
	j := len(frames) - 1
	for j >= 0 && strings.HasPrefix(frameFunc(frames[j]), "runtime.") {
		j--
	}
	if j < 0 {
		return ""
	}
	entry := frameFunc(frames[j])
	for j > 0 && wrapper(entry, creator) {
		inner := frameFunc(frames[j-1])
		if strings.HasPrefix(inner, "runtime.") || strings.HasPrefix(inner, "internal/") {
			break // the wrapper itself blocks: it is what runs
		}
		j--
		entry = inner
	}
	return entry
}

// wrapper reports whether fn only starts what the goroutine really runs:
// a go statement's wrapper (X.gowrapN), or a closure of the creating
// function (creator.funcN), or of an unknown one.
func wrapper(fn, creator string) bool {
	i := strings.LastIndexByte(fn, '.')
	if i < 0 {
		return false
	}
	last := fn[i+1:]
	switch {
	case strings.HasPrefix(last, "gowrap"):
		return true
	case strings.HasPrefix(last, "func") && len(last) > 4 && last[4] >= '0' && last[4] <= '9':
		return creator == "" || strings.HasPrefix(fn, creator+".")
	}
	return false
}

// frameFunc returns the function of a frame string "FUNC FILE:LINE".
func frameFunc(f string) string {
	fn, _, _ := strings.Cut(f, " ")
	return fn
}

// creatorFunc returns the function of a creator "FUNC FILE:LINE".
func creatorFunc(creator string) string { return frameFunc(creator) }
