// Package waitreason gives the wait reasons of blocked goroutines one
// vocabulary, whichever source saw the block.
//
// The execution tracer and goroutine dumps name the same waits differently:
// the trace says "network", "sync" or "sync.(*Cond).Wait" where a dump says
// "IO wait", "sync.Mutex.Lock" or "sync.Cond.Wait", and a goroutine the
// tracer only restates (already blocked when first seen) comes with a stack
// but no reason at all. Canonical maps either source, refined by the stack,
// onto the names of Go's goroutine dumps (what a panic or SIGQUIT prints,
// the vocabulary Go programmers know), written without spaces so that a
// "[reason]" pseudo-frame never splits at a space: "chan receive" is
// chan_receive, "IO wait" is IO_wait. docs/format.md lists them all.
package waitreason

import "strings"

// The canonical wait reasons.
const (
	ChanReceive     = "chan_receive"
	ChanReceiveNil  = "chan_receive_nil"
	ChanSend        = "chan_send"
	ChanSendNil     = "chan_send_nil"
	Select          = "select"
	SelectNoCases   = "select_no_cases"
	IOWait          = "IO_wait"
	Sleep           = "sleep"
	MutexLock       = "sync.Mutex.Lock"
	RWMutexRLock    = "sync.RWMutex.RLock"
	RWMutexLock     = "sync.RWMutex.Lock"
	WaitGroupWait   = "sync.WaitGroup.Wait"
	CondWait        = "sync.Cond.Wait"
	Semacquire      = "semacquire"
	Syscall         = "syscall"
	GCAssistWait    = "GC_assist_wait"
	GCSweepWait     = "GC_sweep_wait"
	GCWait          = "GC_wait"
	Preempted       = "preempted"
	DebugCall       = "debug_call"
	Synctest        = "synctest"
	SystemGoroutine = "system_goroutine_wait"
	Forever         = "forever"
	Unknown         = "unknown"
)

// All lists the canonical reasons, for documentation and tests. A reason
// neither source names here is passed on in the same spelling (spaces as
// underscores, parentheses dropped).
var All = []string{
	ChanReceive, ChanReceiveNil, ChanSend, ChanSendNil, Select, SelectNoCases,
	IOWait, Sleep, MutexLock, RWMutexRLock, RWMutexLock, WaitGroupWait, CondWait,
	Semacquire, Syscall, GCAssistWait, GCSweepWait, GCWait, Preempted, DebugCall,
	Synctest, SystemGoroutine, Forever, Unknown,
}

// fromSource maps the reasons of both sources: the execution tracer's
// (runtime traceBlockReason strings, as x/exp/trace gives them) and the
// goroutine dump's (runtime waitReason strings). "" means: decide from the
// stack.
var fromSource = map[string]string{
	// The tracer's.
	"chan receive":                 ChanReceive,
	"chan send":                    ChanSend,
	"select":                       Select,
	"network":                      IOWait,
	"sleep":                        Sleep,
	"sync":                         "", // Mutex, RWMutex, WaitGroup, semaphores: the stack tells
	"sync.(*Cond).Wait":            CondWait,
	"forever":                      "", // select{} or a nil channel: the stack tells
	"GC mark assist wait for work": GCAssistWait,
	"GC background sweeper wait":   GCSweepWait,
	"system goroutine wait":        SystemGoroutine,
	"preempted":                    Preempted,
	"wait for debug call":          DebugCall,
	"wait until GC ends":           GCWait,
	"synctest":                     Synctest,
	"unspecified":                  "",
	"syscall":                      Syscall,
	// The dump's.
	"chan receive (nil chan)":   ChanReceiveNil,
	"chan send (nil chan)":      ChanSendNil,
	"select (no cases)":         SelectNoCases,
	"IO wait":                   IOWait,
	"sync.Mutex.Lock":           MutexLock,
	"sync.RWMutex.RLock":        RWMutexRLock,
	"sync.RWMutex.Lock":         RWMutexLock,
	"sync.WaitGroup.Wait":       WaitGroupWait,
	"sync.Cond.Wait":            CondWait,
	"semacquire":                "", // the stack may say which sync type
	"GC assist wait":            GCAssistWait,
	"GC sweep wait":             GCSweepWait,
	"wait for GC cycle":         GCWait,
	"debug call":                DebugCall,
	"synctest.Run":              Synctest,
	"synctest.Wait":             Synctest,
	"chan receive (synctest)":   ChanReceive,
	"chan send (synctest)":      ChanSend,
	"select (synctest)":         Select,
	"sync.Cond.Wait (synctest)": CondWait,
	// Ours: a block first seen already in progress.
	"unknown": "",
	"blocked": "",
	"":        "",
}

// fallback is the reason of a source reason that the stack does not refine.
var fallback = map[string]string{
	"sync":       Semacquire,
	"semacquire": Semacquire,
	"forever":    Forever,
}

// byFunc maps the functions a blocked stack passes through on its way to
// the scheduler onto the reason they block for. Of several matches the
// outermost wins: sync.(*Mutex).Lock over the semacquire it calls.
var byFunc = map[string]string{
	"runtime.chanrecv":                        ChanReceive,
	"runtime.chanrecv1":                       ChanReceive,
	"runtime.chanrecv2":                       ChanReceive,
	"runtime.chansend":                        ChanSend,
	"runtime.chansend1":                       ChanSend,
	"runtime.selectgo":                        Select,
	"runtime.block":                           SelectNoCases,
	"runtime.netpollblock":                    IOWait,
	"internal/poll.runtime_pollWait":          IOWait,
	"internal/poll.(*pollDesc).wait":          IOWait,
	"internal/poll.(*pollDesc).waitRead":      IOWait,
	"internal/poll.(*pollDesc).waitWrite":     IOWait,
	"time.Sleep":                              Sleep,
	"runtime.timeSleep":                       Sleep,
	"sync.(*Mutex).Lock":                      MutexLock,
	"sync.(*Mutex).lockSlow":                  MutexLock,
	"internal/sync.(*Mutex).Lock":             MutexLock,
	"internal/sync.(*Mutex).lockSlow":         MutexLock,
	"sync.(*RWMutex).RLock":                   RWMutexRLock,
	"sync.(*RWMutex).Lock":                    RWMutexLock,
	"sync.(*WaitGroup).Wait":                  WaitGroupWait,
	"sync.(*Cond).Wait":                       CondWait,
	"sync.runtime_Semacquire":                 Semacquire,
	"sync.runtime_SemacquireMutex":            Semacquire,
	"sync.runtime_SemacquireRWMutex":          Semacquire,
	"sync.runtime_SemacquireRWMutexR":         Semacquire,
	"sync.runtime_SemacquireWaitGroup":        Semacquire,
	"internal/sync.runtime_SemacquireMutex":   Semacquire,
	"runtime.semacquire1":                     Semacquire,
	"runtime.gcParkAssist":                    GCAssistWait,
	"syscall.Syscall":                         Syscall,
	"syscall.Syscall6":                        Syscall,
	"syscall.RawSyscall":                      Syscall,
	"syscall.RawSyscall6":                     Syscall,
	"internal/runtime/syscall.Syscall6":       Syscall,
	"runtime.entersyscall":                    Syscall,
	"runtime.entersyscallblock":               Syscall,
	"runtime.goparkunlock":                    "",
	"runtime.gopark":                          "",
	"runtime.netpollblockcommit":              "",
	"internal/poll.(*FD).Read":                IOWait,
	"internal/poll.(*FD).Write":               IOWait,
	"internal/poll.(*FD).Accept":              IOWait,
	"internal/poll.(*FD).ReadFrom":            IOWait,
	"internal/poll.(*FD).RawRead":             IOWait,
	"internal/poll.(*FD).WaitWrite":           IOWait,
	"internal/poll.(*pollDesc).waitCanceled":  IOWait,
	"internal/sync.runtime_SemacquireRWMutex": Semacquire,
}

// Canonical returns the one-vocabulary reason of a block that a source
// reported as reason (the tracer's or the dump's spelling, or "" when the
// source gave none), with frames, the stack where the goroutine blocked,
// innermost first, each "FUNC FILE:LINE" or just "FUNC".
func Canonical(reason string, frames []string) string {
	want, known := fromSource[reason]
	if want != "" {
		return want
	}
	if r := fromStack(frames); r != "" {
		if reason == "forever" {
			switch r {
			case ChanReceive:
				return ChanReceiveNil
			case ChanSend:
				return ChanSendNil
			}
		}
		return r
	}
	if f, ok := fallback[reason]; ok {
		return f
	}
	if known || reason == "" {
		return Unknown
	}
	return spell(reason)
}

// fromStack returns the reason the innermost frames imply, or "".
func fromStack(frames []string) string {
	r := ""
	for _, f := range frames {
		fn, _, _ := strings.Cut(f, " ")
		if m, ok := byFunc[fn]; ok {
			// A writer of a sync.RWMutex blocked on its inner writer
			// mutex parks in that Mutex's Lock, which the runtime names
			// [sync.Mutex.Lock]; only the wait for the readers to leave
			// is [sync.RWMutex.Lock]. As a dump says, so do we.
			if m == RWMutexLock && r == MutexLock {
				continue
			}
			if m != "" {
				r = m
			}
			continue
		}
		if !internal(fn) {
			break
		}
	}
	return r
}

// internal reports functions a blocked stack may show between the
// scheduler and the first frame of the program or of a package the block
// is named after.
func internal(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/") ||
		strings.HasPrefix(fn, "sync.") || strings.HasPrefix(fn, "syscall.")
}

// spell writes an unknown reason in the vocabulary's spelling: no spaces,
// no parentheses.
func spell(s string) string {
	s = strings.NewReplacer("(", "", ")", "").Replace(s)
	return strings.Join(strings.Fields(s), "_")
}
