package tracewire

// The facts of the Go 1.26 wire format: event numbers and argument lists,
// as Go's own internal/trace/tracev2/events.go (spec.go documents the
// encoding) states them. Only what the decoder needs is kept: how many
// arguments an event has, which of them are stack or string ids, whether
// it is a timed event of the main stream, and for the end of a range the
// event that begins it.

// Event types of the Go 1.26 format.
const (
	evNone = iota
	evEventBatch
	evStacks
	evStack
	evStrings
	evString
	evCPUSamples
	evCPUSample
	evFrequency
	evProcsChange
	evProcStart
	evProcStop
	evProcSteal
	evProcStatus
	evGoCreate
	evGoCreateSyscall
	evGoStart
	evGoDestroy
	evGoDestroySyscall
	evGoStop
	evGoBlock
	evGoUnblock
	evGoSyscallBegin
	evGoSyscallEnd
	evGoSyscallEndBlocked
	evGoStatus
	evSTWBegin
	evSTWEnd
	evGCActive
	evGCBegin
	evGCEnd
	evGCSweepActive
	evGCSweepBegin
	evGCSweepEnd
	evGCMarkAssistActive
	evGCMarkAssistBegin
	evGCMarkAssistEnd
	evHeapAlloc
	evHeapGoal
	evGoLabel
	evUserTaskBegin
	evUserTaskEnd
	evUserRegionBegin
	evUserRegionEnd
	evUserLog
	evGoSwitch
	evGoSwitchDestroy
	evGoCreateBlocked
	evGoStatusStack
	evExperimentalBatch
	evSync
	evClockSnapshot
	evEndOfGeneration
)

// Experimental events (the AllocFree experiment), numbered from 128.
const (
	evSpan = 128 + iota
	evSpanAlloc
	evSpanFree
	evHeapObject
	evHeapObjectAlloc
	evHeapObjectFree
	evGoroutineStack
	evGoroutineStackAlloc
	evGoroutineStackFree
	evMaxExperimental
)

// Limits of the format.
const (
	maxBatchSize      = 64 << 10
	maxFramesPerStack = 128
	maxStringSize     = 1 << 10
	maxArgs           = 4 // arguments of a timed event after its timestamp
)

// Goroutine and P statuses on the wire.
const (
	goBad = iota
	goRunnable
	goRunning
	goSyscall
	goWaiting
	numGoStatus
)

const (
	procBad = iota
	procRunning
	procIdle
	procSyscall
	procSyscallAbandoned
	numProcStatus
)

// spec is what the decoder knows of one event type.
type spec struct {
	name    string
	nargs   uint8   // arguments, the timestamp delta included
	timed   bool    // an event of the main stream, with a timestamp
	stacks  []uint8 // indexes (in args, timestamp excluded) of stack ids; the first is the event's own stack
	strings []uint8 // indexes (likewise) of string ids
	startEv uint8   // for the end of a range, its begin event
}

// specs of Go 1.26, by event type. (Stack and string indexes count the
// arguments after the timestamp, from 0.)
var specs = func() [256]spec {
	var s [256]spec
	set := func(typ int, name string, nargs int, timed bool) *spec {
		s[typ] = spec{name: name, nargs: uint8(nargs), timed: timed}
		return &s[typ]
	}
	set(evEventBatch, "EventBatch", 4, false)
	set(evStacks, "Stacks", 0, false)
	set(evStack, "Stack", 2, false)
	set(evStrings, "Strings", 0, false)
	set(evString, "String", 1, false)
	set(evCPUSamples, "CPUSamples", 0, false)
	set(evCPUSample, "CPUSample", 5, false).stacks = []uint8{3}
	set(evFrequency, "Frequency", 1, false)
	set(evExperimentalBatch, "ExperimentalBatch", 4, false)
	set(evSync, "Sync", 0, false)
	set(evEndOfGeneration, "EndOfGeneration", 0, false)

	set(evProcsChange, "ProcsChange", 3, true).stacks = []uint8{1}
	set(evProcStart, "ProcStart", 3, true)
	set(evProcStop, "ProcStop", 1, true)
	set(evProcSteal, "ProcSteal", 4, true)
	set(evProcStatus, "ProcStatus", 3, true)
	set(evGoCreate, "GoCreate", 4, true).stacks = []uint8{2, 1}
	set(evGoCreateSyscall, "GoCreateSyscall", 2, true)
	set(evGoStart, "GoStart", 3, true)
	set(evGoDestroy, "GoDestroy", 1, true)
	set(evGoDestroySyscall, "GoDestroySyscall", 1, true)
	p := set(evGoStop, "GoStop", 3, true)
	p.stacks, p.strings = []uint8{1}, []uint8{0}
	p = set(evGoBlock, "GoBlock", 3, true)
	p.stacks, p.strings = []uint8{1}, []uint8{0}
	set(evGoUnblock, "GoUnblock", 4, true).stacks = []uint8{2}
	set(evGoSyscallBegin, "GoSyscallBegin", 3, true).stacks = []uint8{1}
	set(evGoSyscallEnd, "GoSyscallEnd", 1, true).startEv = evGoSyscallBegin
	set(evGoSyscallEndBlocked, "GoSyscallEndBlocked", 1, true).startEv = evGoSyscallBegin
	set(evGoStatus, "GoStatus", 4, true)
	p = set(evSTWBegin, "STWBegin", 3, true)
	p.stacks, p.strings = []uint8{1}, []uint8{0}
	set(evSTWEnd, "STWEnd", 1, true).startEv = evSTWBegin
	set(evGCActive, "GCActive", 2, true).startEv = evGCBegin
	set(evGCBegin, "GCBegin", 3, true).stacks = []uint8{1}
	set(evGCEnd, "GCEnd", 2, true).startEv = evGCBegin
	set(evGCSweepActive, "GCSweepActive", 2, true).startEv = evGCSweepBegin
	set(evGCSweepBegin, "GCSweepBegin", 2, true).stacks = []uint8{0}
	set(evGCSweepEnd, "GCSweepEnd", 3, true).startEv = evGCSweepBegin
	set(evGCMarkAssistActive, "GCMarkAssistActive", 2, true).startEv = evGCMarkAssistBegin
	set(evGCMarkAssistBegin, "GCMarkAssistBegin", 2, true).stacks = []uint8{0}
	set(evGCMarkAssistEnd, "GCMarkAssistEnd", 1, true).startEv = evGCMarkAssistBegin
	set(evHeapAlloc, "HeapAlloc", 2, true)
	set(evHeapGoal, "HeapGoal", 2, true)
	set(evGoLabel, "GoLabel", 2, true).strings = []uint8{0}
	p = set(evUserTaskBegin, "UserTaskBegin", 5, true)
	p.stacks, p.strings = []uint8{3}, []uint8{2}
	set(evUserTaskEnd, "UserTaskEnd", 3, true).stacks = []uint8{1}
	p = set(evUserRegionBegin, "UserRegionBegin", 4, true)
	p.stacks, p.strings = []uint8{2}, []uint8{1}
	p = set(evUserRegionEnd, "UserRegionEnd", 4, true)
	p.stacks, p.strings, p.startEv = []uint8{2}, []uint8{1}, evUserRegionBegin
	p = set(evUserLog, "UserLog", 5, true)
	p.stacks, p.strings = []uint8{3}, []uint8{1, 2}
	set(evGoSwitch, "GoSwitch", 3, true)
	set(evGoSwitchDestroy, "GoSwitchDestroy", 3, true)
	set(evGoCreateBlocked, "GoCreateBlocked", 4, true).stacks = []uint8{2, 1}
	set(evGoStatusStack, "GoStatusStack", 5, true).stacks = []uint8{3}
	set(evClockSnapshot, "ClockSnapshot", 4, true)

	set(evSpan, "Span", 4, true)
	set(evSpanAlloc, "SpanAlloc", 4, true)
	set(evSpanFree, "SpanFree", 2, true)
	set(evHeapObject, "HeapObject", 3, true)
	set(evHeapObjectAlloc, "HeapObjectAlloc", 3, true)
	set(evHeapObjectFree, "HeapObjectFree", 2, true)
	set(evGoroutineStack, "GoroutineStack", 3, true)
	set(evGoroutineStackAlloc, "GoroutineStackAlloc", 3, true)
	set(evGoroutineStackFree, "GoroutineStackFree", 2, true)
	return s
}()

// hotSpec is the part of a spec the decoder reads for every event, packed
// in 8 bytes (spec's slices are three words each, in a struct of 80
// bytes): hotSpecs is made from specs.
type hotSpec struct {
	nargs uint8
	timed bool
	// targs is the number of arguments after the timestamp, of an event
	// type cursor.next reads (valid and timed); -1 for any other byte.
	targs    int8
	nstacks  uint8
	nstrings uint8
	stacks   [2]uint8
	strings  [2]uint8
}

var hotSpecs = func() [256]hotSpec {
	var h [256]hotSpec
	for i := range specs { // (all 256 type bytes)
		sp := &specs[i]
		h[i] = hotSpec{nargs: sp.nargs, timed: sp.timed, targs: -1, nstacks: uint8(len(sp.stacks)), nstrings: uint8(len(sp.strings))}
		if i < numSpecs && sp.timed && sp.nargs > 0 {
			h[i].targs = int8(sp.nargs - 1)
		}
		copy(h[i].stacks[:], sp.stacks)
		copy(h[i].strings[:], sp.strings)
	}
	return h
}()

// numSpecs is the number of event types the Go 1.26 format defines (the
// table of the reference parser has this length: a type byte at or past it
// is invalid, a type below it without a spec is "without a timestamp").
const numSpecs = evMaxExperimental

// eventName names an event type in errors.
func eventName(typ uint8) string {
	if int(typ) < numSpecs && specs[typ].name != "" {
		return specs[typ].name
	}
	return "Invalid(" + itoa(uint64(typ)) + ")"
}
