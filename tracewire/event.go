// Package tracewire decodes the Go execution-trace wire format (Go 1.26)
// straight into the small event values the converter consumes, without
// building golang.org/x/exp/trace Events.
//
// It orders the per-M event streams as golang.org/x/exp/trace does (the
// reference parser): the same merge of the Ms' streams by time, the same
// use of the format's sequence numbers where times tie or disagree, the
// same validation, so that both give the same events for a trace both
// accept and both reject a trace either rejects. docs/decoder.md says what
// it reads, how it orders, and how a new Go version's format is added.
//
// Event is also what the converter reads from the x/exp path (package
// the converter builds it from an exptrace.Event), which is why it uses x/exp's
// identifier and state types.
package tracewire

import (
	"iter"
	"strconv"

	exptrace "golang.org/x/exp/trace"
)

// Types shared with golang.org/x/exp/trace, so that the two paths give the
// converter the same values.
type (
	Time      = exptrace.Time
	GoID      = exptrace.GoID
	ProcID    = exptrace.ProcID
	ThreadID  = exptrace.ThreadID
	GoState   = exptrace.GoState
	ProcState = exptrace.ProcState
	Frame     = exptrace.StackFrame
)

// Kind is what an Event is to the converter.
type Kind uint8

const (
	// KindOther is any event the converter only takes the time of.
	KindOther Kind = iota
	// KindSync starts a generation (and ends the trace).
	KindSync
	// KindGo is a goroutine's state transition.
	KindGo
	// KindProc is a P's state transition.
	KindProc
	// KindSTW begins (To 1) or ends (To 0) a stop-the-world pause;
	// Reason is the runtime's reason for it ("GC sweep termination",
	// "start trace"). The converter reports the pauses (convert.Pause):
	// the goroutines a pause held up are woken in a burst when it ends.
	KindSTW
)

// Event is one trace event as the converter sees it.
type Event struct {
	Time Time
	Kind Kind
	// From and To are the transition's states: GoState for KindGo,
	// ProcState for KindProc.
	From, To uint8
	// G is the goroutine of a KindGo transition, P the P of a KindProc one.
	G GoID
	P ProcID
	// CurG and CurP are the goroutine and P executing when the event
	// happened (exptrace.Event's Goroutine and Proc).
	CurG GoID
	CurP ProcID
	// Reason is a goroutine transition's reason (a block's wait reason),
	// or a stop-the-world's.
	Reason string
	// Stack is the event's own stack (for a goroutine creation, the
	// creator's); TStack the transition's (a new goroutine's start stack,
	// where a goroutine blocked, the stack a status event restates).
	Stack, TStack Stack
	// Clock is a Sync's clock snapshot, if the trace has one.
	Clock *exptrace.ClockSnapshot
}

// GoFrom and GoTo return a goroutine transition's states.
func (e *Event) GoFrom() GoState { return GoState(e.From) }
func (e *Event) GoTo() GoState   { return GoState(e.To) }

// ProcTo returns a P transition's new state.
func (e *Event) ProcTo() ProcState { return ProcState(e.To) }

// Stack is a handle of a stack of the trace, resolvable to its frames
// while the generation it belongs to is current (the converter resolves
// the ones it keeps at each generation boundary). The zero value is no
// stack. Stacks compare equal when they are the same stack of the same
// generation.
type Stack struct {
	x  exptrace.Stack // from the x/exp path
	t  *tables        // from the decoder
	id uint64
}

// NoStack is the absence of a stack.
var NoStack Stack

// Hash returns a number for hashing the stack: stacks equal have equal
// hashes (the decoder's stack id; 0 for x/exp's, whose id is not
// exported).
func (s Stack) Hash() uint64 { return s.id }

// FromExp wraps a stack of x/exp's parser.
func FromExp(s exptrace.Stack) Stack { return Stack{x: s} }

// Frames yields the stack's frames, innermost first.
func (s Stack) Frames() iter.Seq[Frame] {
	if s.t == nil {
		return s.x.Frames()
	}
	return func(yield func(Frame) bool) {
		s.t.yieldFrames(s.id, yield)
	}
}

// Top returns the stack's innermost frame, and false for no stack. Unlike
// a loop over Frames cut after one frame, it allocates nothing: the
// converter asks for a creator's frame at every goroutine creation, and
// a trace that creates goroutines by the million (the bench corpus's
// stacks trace) spent 14% of its conversion allocating Frames' closures.
func (s Stack) Top() (Frame, bool) {
	if s.t == nil {
		for f := range s.x.Frames() {
			return f, true
		}
		return Frame{}, false
	}
	return s.t.frame(s.id, 0)
}

// Outer returns the stack's outermost frame (the last that Frames
// yields), and false for no stack; allocation-free for the decoder's
// stacks, like Top.
func (s Stack) Outer() (Frame, bool) {
	if s.t == nil {
		var last Frame
		ok := false
		for f := range s.x.Frames() {
			last, ok = f, true
		}
		return last, ok
	}
	return s.t.frame(s.id, -1)
}

// OuterFunc returns the function of the outermost frame whose function
// is not skip (the last such that Frames yields), or, if every frame's
// is skip, the outermost frame's function; "" for no stack.
func (s Stack) OuterFunc(skip string) string {
	if s.t == nil {
		var outer, last string
		for f := range s.x.Frames() {
			if f.Func != skip {
				outer = f.Func
			}
			last = f.Func
		}
		if outer == "" {
			return last
		}
		return outer
	}
	return s.t.outerFunc(s.id, skip)
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
