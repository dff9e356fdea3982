// Package dump reads Go goroutine dumps, in the three forms that
// net/http/pprof serves at /debug/pprof/goroutine, into one model:
//
//   - debug=0: the pprof protobuf goroutine profile (gzip'd or not), read
//     with github.com/google/pprof/profile by package
//     github.com/wakeshim/wakeshim/dump/pprofdump, which a program imports
//     to read this form (see RegisterProto). Goroutines with the same stack
//     (and labels) come as one entry with a count; no ids, no wait reasons.
//   - debug=1: the text rendering of the same profile ("goroutine profile:
//     total N", then "COUNT @ PCS" entries with "#\tPC\tFUNC+OFF\tFILE:LINE"
//     frame lines). No ids, no wait reasons.
//   - debug=2: one block per goroutine ("goroutine N [REASON, M minutes]:"),
//     the form a panic or SIGQUIT also prints, possibly with other lines
//     before and after. Ids, wait reasons, wait minutes and "created by".
//
// The form is detected from the content (see Parse). The package also
// normalises stacks (Normalize) so that the stack of a blocked goroutine in
// a dump and the block stack the execution tracer reports for the same wait
// compare equal.
package dump

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Form is the form a dump was read from.
type Form int

const (
	FormProto  Form = iota + 1 // debug=0: pprof protobuf
	FormDebug1                 // debug=1: text, goroutines grouped by stack
	FormDebug2                 // debug=2: text, one block per goroutine
)

func (f Form) String() string {
	switch f {
	case FormProto:
		return "debug=0 protobuf"
	case FormDebug1:
		return "debug=1 text"
	case FormDebug2:
		return "debug=2 text"
	}
	return "Form(" + strconv.Itoa(int(f)) + ")"
}

// Frame is one stack frame. Func is the function as the runtime names it
// ("sync.(*Mutex).Lock", "main.main.func1", "main.gen[...]"). File and Line
// are empty and 0 when unknown.
type Frame struct {
	Func string
	File string
	Line int
}

// String renders the frame the way wakeshim's FrameDef records do:
// "FUNC FILE:LINE", or just FUNC when the position is unknown.
func (f Frame) String() string {
	if f.File == "" && f.Line == 0 {
		return f.Func
	}
	return f.Func + " " + f.File + ":" + strconv.Itoa(f.Line)
}

// Short renders the frame compactly: the function and, when known, the
// base name of its file and the line ("main.worker main.go:42").
func (f Frame) Short() string {
	if f.File == "" && f.Line == 0 {
		return f.Func
	}
	file := f.File
	if i := strings.LastIndexAny(file, `/\`); i >= 0 {
		file = file[i+1:]
	}
	return f.Func + " " + file + ":" + strconv.Itoa(f.Line)
}

// ParseFrame parses a FrameDef or SpawnLocationDef string, "FUNC FILE:LINE"
// split at the first space. A string without a space, or whose position
// does not end in ":LINE", is all function (ok reports whether a position
// was found).
func ParseFrame(s string) (f Frame, ok bool) {
	fn, pos, found := strings.Cut(s, " ")
	if !found {
		return Frame{Func: s}, false
	}
	file, line, found := splitFileLine(pos)
	if !found {
		return Frame{Func: s}, false
	}
	return Frame{Func: fn, File: file, Line: line}, true
}

// splitFileLine splits "FILE:LINE" at the last colon.
func splitFileLine(s string) (file string, line int, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return s[:i], n, true
}

// Goroutine is one entry of a dump: a single goroutine (debug=2) or a set
// of Count goroutines with the same stack (debug=0 and debug=1).
type Goroutine struct {
	// Count is the number of goroutines this entry stands for (1 for
	// debug=2).
	Count int
	// ID is the goroutine id, when HasID (debug=2 only).
	ID    uint64
	HasID bool
	// State is the status in the dump header: the wait reason of a waiting
	// goroutine ("chan receive", "sync.Mutex.Lock", "IO wait", ...) or
	// "running", "runnable", "syscall". Empty when the form has none.
	State string
	// WaitMinutes is the approximate time the goroutine has been blocked,
	// in whole minutes, as debug=2 prints it (0: under a minute, or not
	// given).
	WaitMinutes int
	// Frames is the stack, innermost first, as the dump gives it (not
	// normalised; see Normalize).
	Frames []Frame
	// Elided reports a debug=2 stack whose middle frames the runtime left
	// out ("...N frames elided...").
	Elided bool
	// CreatedBy is the go statement that created the goroutine (debug=2),
	// and CreatorID the creating goroutine's id (0 when not given).
	CreatedBy *Frame
	CreatorID uint64
	// Labels are the goroutine's pprof labels, when the dump shows them.
	Labels map[string]string
	// Line is the line of the entry's header in a text dump (0 for
	// protobuf).
	Line int
}

// Blocked reports whether the goroutine is blocked according to its state.
// An entry without a state (debug=0 and debug=1 dumps) counts as blocked:
// those forms do not say.
func (g *Goroutine) Blocked() bool {
	switch g.State {
	case "running", "runnable", "idle", "dead", "copystack", "preempted":
		return false
	}
	return true
}

// Dump is a parsed goroutine dump.
type Dump struct {
	Form Form
	// Profile is the profile the dump says it is, for the forms that say
	// (debug=0: the sample type, debug=1: the header): "goroutine" or
	// "goroutineleak" (the Go runtime's leak profile, whose entries are
	// the leaked goroutines only). Empty for debug=2, which looks the
	// same either way: a goroutineleak profile at debug=2 lists every
	// goroutine, the leaked ones with " (leaked)" after their state.
	Profile string
	// Time is when the profile was taken, when the dump says (protobuf
	// only); zero otherwise.
	Time time.Time
	// Total is the number of goroutines in the dump (the sum of Counts).
	Total      int
	Goroutines []Goroutine
}

// HasIDs reports whether the dump's goroutines carry their ids.
func (d *Dump) HasIDs() bool { return d.Form == FormDebug2 }

// Error is a dump that cannot be read: the file, the 1-based line of a text
// dump (0 when not applicable) and what is wrong.
type Error struct {
	File string
	Line int
	Msg  string
	Err  error // underlying error, if any
}

func (e *Error) Error() string {
	where := e.File
	if where == "" {
		where = "dump"
	}
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	msg := e.Msg
	if e.Err != nil {
		if msg != "" {
			msg += ": "
		}
		msg += e.Err.Error()
	}
	return where + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}
