package convert

import "strings"

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
	c.setOriginLoc(g, entry, creator, "")
}

// setOriginLoc is setOrigin with loc, if not "", spawnLoc(entry,
// creator) already.
func (c *Converter) setOriginLoc(g *goroutine, entry, creator, loc string) {
	if creator != "" {
		g.creator = creator
	}
	if entry != "" && entry != g.entry {
		g.entry, g.plainEntry = entry, false
	}
	if loc == "" || g.entry != entry || g.creator != creator {
		loc = c.spawnLoc(g.entry, g.creator)
	}
	if loc != g.loc {
		g.loc = loc
		g.locSeg, g.spawnSeg = 0, 0
	}
}

// spawnLoc is spawnLoc, the strings cached by their parts: a program
// that creates goroutines by the million from a few go statements
// otherwise builds the same string at every creation (10% of converting
// the corpus's stacks trace went to those concatenations). Bounded:
// cleared when it holds 4096.
func (c *Converter) spawnLoc(entry, creator string) string {
	k := [2]string{entry, creator}
	if loc, ok := c.locStr[k]; ok {
		return loc
	}
	loc := spawnLoc(entry, creator)
	if c.locStr == nil || len(c.locStr) >= 4096 {
		c.locStr = make(map[[2]string]string)
	}
	c.locStr[k] = loc
	return loc
}

// noteStack refines g's entry function from a stack of the goroutine (a
// block or status stack): its outermost frames show what a wrapper calls.
// Only a goroutine whose entry is unknown or a wrapper pays for the walk,
// once: the first stack decides.
func (c *Converter) noteStack(g *goroutine, stk Stack) {
	if g.entryFinal || g.plainEntry {
		return
	}
	if g.entry != "" && !wrapper(g.entry, "") {
		// (Until the entry changes: the converter's fast lane then
		// takes this goroutine's events with stacks too, which it
		// leaves to the general path while a stack may refine the
		// entry.)
		g.plainEntry = true
		return
	}
	c.noteFrames(g, c.stackFrames(stk))
}

// noteFrames is noteStack for frames as strings (a goroutine dump's).
func (c *Converter) noteFrames(g *goroutine, frames []string) {
	if g.entryFinal || g.entry != "" && !wrapper(g.entry, "") || len(frames) == 0 {
		return
	}
	if e := entryOf(frames, creatorFunc(g.creator)); e != "" {
		g.entryFinal = true
		if e != g.entry {
			c.setOrigin(g, e, "")
		}
	}
}

// entryOf returns the entry function of a goroutine whose stack is frames
// (innermost first, "FUNC FILE:LINE"), created in function creator ("" if
// unknown): the outermost frame that is not the runtime's, past wrappers.
//
// A stack under runtime.main is the main goroutine's, whose entry is
// main.main whatever it runs now: while package inits run (a shim started
// from an init), its stack is runtime.main < runtime.doInit1 < PKG.init,
// and naming the goroutine after the init it was in at the first stack
// seen would call the whole program's main goroutine "server.init". A
// stack whose outermost runtime frame is runtime.doInit1 or doInit is the
// main goroutine's too: the execution tracer gave the shim's own start
// (net.Listen of metrics=, from shim/auto's init) a stack cut there, and
// nats-server's main goroutine was named "shim/auto.fromEnv". (A plugin's
// inits run under plugin.Open in its caller: a frame not the runtime's
// comes first from the outside, and this loop has ended.)
func entryOf(frames []string, creator string) string {
	j := len(frames) - 1
	for j >= 0 && strings.HasPrefix(frameFunc(frames[j]), "runtime.") {
		switch frameFunc(frames[j]) {
		case "runtime.main", "runtime.doInit1", "runtime.doInit":
			return "main.main"
		}
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
		if !goWrapper(entry) && stdlib(inner) {
			break // a literal that calls the standard library (mu.Lock, conn.Read) is what runs
		}
		j--
		entry = inner
	}
	return entry
}

// goWrapper reports a go statement's compiler-made wrapper (X.gowrapN),
// which only calls the function the statement names.
func goWrapper(fn string) bool {
	i := strings.LastIndexByte(fn, '.')
	return i >= 0 && strings.HasPrefix(fn[i+1:], "gowrap")
}

// stdlib reports a function of the standard library: its import path's
// first element has no dot (and it is not package main).
func stdlib(fn string) bool {
	if strings.HasPrefix(fn, "main.") {
		return false
	}
	first := fn
	if i := strings.IndexByte(first, '/'); i >= 0 {
		first = first[:i]
	} else if i := strings.IndexByte(first, '.'); i >= 0 {
		first = first[:i]
	}
	return !strings.Contains(first, ".")
}

// wrapper reports whether fn is a function literal or a go statement's
// wrapper (X.funcN, X.funcN.M, X.gowrapN): what a goroutine runs is then
// better named by the named function it calls, when it calls one (a
// server's `go func() { c.readLoop() }()`, or a startGoRoutine(f) helper's
// `go func() { f() }()` around it). creator is not used to tell: the
// closure is as often the creating function's caller's.
func wrapper(fn, _ string) bool {
	i := strings.LastIndexByte(fn, '.')
	if i < 0 {
		return false
	}
	last := fn[i+1:]
	if last != "" && allDigits(last) {
		return true // X.funcN.M
	}
	return strings.HasPrefix(last, "gowrap") || strings.HasPrefix(last, "func") && len(last) > 4 && last[4] >= '0' && last[4] <= '9'
}

// allDigits reports whether s is all ASCII digits. (strings.Trim with a
// cutset builds the set on every call: this runs for many events.)
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// frameFunc returns the function of a frame string "FUNC FILE:LINE".
func frameFunc(f string) string {
	fn, _, _ := strings.Cut(f, " ")
	return fn
}

// creatorFunc returns the function of a creator "FUNC FILE:LINE".
func creatorFunc(creator string) string { return frameFunc(creator) }

// spawnSite is an entry of Converter.sites.
type spawnSite struct {
	stk, tstk           Stack
	creator, entry, loc string
	locSeg              int    // the segment where loc has id locID
	locID               uint16 // (locSeg 0: none yet)
	ok                  bool
}
