package convert

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/tracewire"
)

// capture is an Output that keeps records in memory, by segment, and checks
// as it goes that every id is defined in its segment before it is used.
type capture struct {
	t    testing.TB
	segs [][]format.Record
	locs []map[uint16]string
	frms []map[uint16]string
}

func newCapture(t testing.TB) *capture {
	c := &capture{t: t}
	c.NextSegment()
	return c
}

func (c *capture) NextSegment() error {
	c.segs = append(c.segs, nil)
	c.locs = append(c.locs, map[uint16]string{})
	c.frms = append(c.frms, map[uint16]string{})
	return nil
}

func (c *capture) WriteRecord(r *format.Record) error {
	rec := *r
	rec.Frames = append([]uint16(nil), r.Frames...)
	n := len(c.segs) - 1
	switch rec.Code {
	case format.CodeSpawnLocationDef:
		require.NotContains(c.t, c.locs[n], rec.ID, "location id defined twice")
		c.locs[n][rec.ID] = rec.Str
	case format.CodeFrameDef:
		require.NotContains(c.t, c.frms[n], rec.ID, "frame id defined twice")
		c.frms[n][rec.ID] = rec.Str
	case format.CodePollStart, format.CodeTaskSpawn:
		if rec.SpawnLoc != 0 {
			require.Contains(c.t, c.locs[n], rec.SpawnLoc, "location used before its definition")
		}
	case format.CodeTaskPending:
		for _, id := range rec.Frames {
			require.Contains(c.t, c.frms[n], id, "frame used before its definition")
		}
	}
	c.segs[n] = append(c.segs[n], rec)
	return nil
}

func (c *capture) Close() error { return nil }

// all returns the records of every segment of the given codes.
func (c *capture) all(codes ...format.Code) []format.Record {
	var out []format.Record
	for _, seg := range c.segs {
		for _, r := range seg {
			for _, code := range codes {
				if r.Code == code {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// frames resolves the frame ids of a TaskPending in segment seg.
func (c *capture) frames(seg int, r format.Record) []string {
	var s []string
	for _, id := range r.Frames {
		s = append(s, c.frms[seg][id])
	}
	return s
}

const ms = exptrace.Time(time.Millisecond)

func stack(funcs ...string) exptrace.Stack {
	var fr []exptrace.StackFrame
	for i, f := range funcs {
		fr = append(fr, exptrace.StackFrame{PC: uint64(0x1000 + 16*i + len(f)), Func: f, File: "/src/main.go", Line: uint64(10 + i)})
	}
	return exptrace.MakeStack(fr)
}

// goEv builds a goroutine state transition of id, made while goroutine cur
// runs on P p (stk is the event's stack; st is the transition's own).
func goEv(t *testing.T, at exptrace.Time, cur exptrace.GoID, p exptrace.ProcID, id exptrace.GoID, from, to exptrace.GoState, reason string, stk, st exptrace.Stack) exptrace.Event {
	tr := exptrace.MakeGoStateTransition(id, from, to)
	tr.Reason = reason
	tr.Stack = st
	ev, err := exptrace.MakeEvent(exptrace.EventConfig[exptrace.StateTransition]{
		Time: at, Kind: exptrace.EventStateTransition, Goroutine: cur, Proc: p, Stack: stk, Details: tr,
	})
	require.NoError(t, err)
	return ev
}

func syncEv(t *testing.T, at exptrace.Time) exptrace.Event {
	ev, err := exptrace.MakeEvent(exptrace.EventConfig[exptrace.Sync]{Time: at, Kind: exptrace.EventSync, Details: exptrace.Sync{N: 1}})
	require.NoError(t, err)
	return ev
}

func procEv(t *testing.T, at exptrace.Time, p exptrace.ProcID, from, to exptrace.ProcState) exptrace.Event {
	ev, err := exptrace.MakeEvent(exptrace.EventConfig[exptrace.StateTransition]{
		Time: at, Kind: exptrace.EventStateTransition, Goroutine: exptrace.NoGoroutine, Proc: p, Details: exptrace.MakeProcStateTransition(p, from, to),
	})
	require.NoError(t, err)
	return ev
}

func run(t *testing.T, cfg Config, evs ...exptrace.Event) *capture {
	out := newCapture(t)
	c, err := New(cfg, out)
	require.NoError(t, err)
	for i := range evs {
		require.NoError(t, c.Event(&evs[i]))
	}
	require.NoError(t, c.Close())
	return out
}

var (
	nostk = exptrace.NoStack
	und   = exptrace.GoUndetermined
	nex   = exptrace.GoNotExist
	rnb   = exptrace.GoRunnable
	rng   = exptrace.GoRunning
	wtg   = exptrace.GoWaiting
	sys   = exptrace.GoSyscall
)

func TestSpawnAndPoll(t *testing.T) {
	creator := stack("main.main")
	out := run(t, Config{SampleInterval: -1},
		goEv(t, 1*ms, 1, 0, 1, und, rng, "", nostk, nostk),
		goEv(t, 2*ms, 1, 0, 7, nex, rnb, "", creator, stack("main.worker")),
		goEv(t, 3*ms, 1, 0, 1, rng, wtg, "chan receive", stack("main.main"), nostk),
		goEv(t, 3*ms+10, exptrace.NoGoroutine, 0, 7, rnb, rng, "", nostk, nostk),
		goEv(t, 4*ms, 7, 0, 7, rng, nex, "", nostk, nostk),
	)
	recs := out.segs[0]
	require.Len(t, out.segs, 1)
	assert.Equal(t, []format.Record{
		{Code: format.CodePollStart, TS: 0, Worker: 0, Task: 1},
		{Code: format.CodeSpawnLocationDef, ID: 1, Str: "main.worker (created at main.main /src/main.go:10)"},
		{Code: format.CodeTaskSpawn, Task: 7, SpawnLoc: 1},
		{Code: format.CodePollEnd, TS: 2000, Worker: 0},
		{Code: format.CodePollStart, TS: 2000, Worker: 0, Task: 7, SpawnLoc: 1},
		{Code: format.CodePollEnd, TS: 3000, Worker: 0},
	}, recs[:6], "records in order")
	// Goroutine 1 is still blocked at the end: pending for 1ms up to the last event.
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 1)
	assert.Equal(t, uint32(1), pend[0].Task)
	assert.Equal(t, uint32(1000), pend[0].Duration)
	assert.Equal(t, []string{"[chan_receive]", "main.main /src/main.go:10"}, out.frames(0, pend[0]))
}

func TestWakeAndPending(t *testing.T) {
	blockStk := stack("runtime.chanrecv1", "main.recv", "main.worker")
	tests := []struct {
		name      string
		blockFor  exptrace.Time
		threshold time.Duration
		waker     exptrace.GoID
		p         exptrace.ProcID
		wantWaker uint32
		wantP     uint8
		pending   bool
	}{
		{"long block woken by goroutine", 5 * ms, 0, 3, 1, 3, 1, true},
		{"short block", ms / 2, 0, 3, 1, 3, 1, false},
		{"exactly the threshold", 2 * ms, 2 * time.Millisecond, 3, 1, 3, 1, true},
		{"woken by the runtime off any P", 5 * ms, 0, exptrace.NoGoroutine, exptrace.NoProc, 0, 255, true},
		{"P id past the format", 5 * ms, 0, 3, 300, 3, 255, true},
		{"goroutine id past 32 bits", 5 * ms, 0, 1<<32 + 5, 0, 5, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := run(t, Config{Threshold: tt.threshold, SampleInterval: -1},
				goEv(t, 1*ms, 2, 0, 2, rng, wtg, "chan receive", blockStk, nostk),
				goEv(t, 1*ms+tt.blockFor, tt.waker, tt.p, 2, wtg, rnb, "", nostk, nostk),
			)
			wakes := out.all(format.CodeWakeEvent)
			require.Len(t, wakes, 1)
			assert.Equal(t, format.Record{Code: format.CodeWakeEvent, TS: uint32(tt.blockFor / 1000), Waker: tt.wantWaker, Task: 2, Worker: tt.wantP}, wakes[0])
			pend := out.all(format.CodeTaskPending)
			if !tt.pending {
				assert.Empty(t, pend)
				return
			}
			require.Len(t, pend, 1)
			assert.Equal(t, uint32(2), pend[0].Task)
			assert.Equal(t, uint32(tt.blockFor/1000), pend[0].Duration)
			assert.Equal(t, wakes[0].TS, pend[0].TS, "pending is observed when the goroutine is woken")
			assert.Equal(t, []string{"[chan_receive]", "runtime.chanrecv1 /src/main.go:10", "main.recv /src/main.go:11", "main.worker /src/main.go:12"}, out.frames(0, pend[0]))
		})
	}
}

func TestBlockedBeforeTrace(t *testing.T) {
	// A goroutine first seen blocked (trace or snapshot starting mid-run) is
	// restated at every generation; its block counts from first sight.
	stk := stack("sync.(*Mutex).Lock", "main.waitMutex")
	out := run(t, Config{SampleInterval: -1},
		syncEv(t, 0),
		goEv(t, 1*ms, exptrace.NoGoroutine, exptrace.NoProc, 4, und, wtg, "", nostk, nostk),
		goEv(t, 5*ms, exptrace.NoGoroutine, exptrace.NoProc, 4, und, wtg, "", stk, stk),
		goEv(t, 9*ms, 1, 0, 4, wtg, rnb, "", nostk, nostk),
	)
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 1)
	assert.Equal(t, uint32(9000), pend[0].Duration, "counted from the generation's start, not the restatement")
	assert.Equal(t, []string{"[sync.Mutex.Lock]", "sync.(*Mutex).Lock /src/main.go:10", "main.waitMutex /src/main.go:11"}, out.frames(0, pend[0]), "the reason from the stack: a restatement has none")
	assert.Len(t, out.all(format.CodeWakeEvent), 1)
}

func TestSyscallPending(t *testing.T) {
	out := run(t, Config{SampleInterval: -1},
		goEv(t, 0, 5, 0, 5, rng, sys, "", stack("syscall.read", "main.reader"), nostk),
		goEv(t, 3*ms, exptrace.NoGoroutine, 0, 5, sys, rnb, "", nostk, nostk),
		goEv(t, 4*ms, 5, 1, 5, rng, sys, "", stack("syscall.read", "main.reader"), nostk),
		goEv(t, 4*ms+10, 5, 1, 5, sys, rng, "", nostk, nostk),
	)
	assert.Empty(t, out.all(format.CodeWakeEvent), "leaving a syscall is not a wake")
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 1, "only the long syscall is pending")
	assert.Equal(t, uint32(3000), pend[0].Duration)
	assert.Equal(t, "[syscall]", out.frames(0, pend[0])[0])
}

func TestIgnore(t *testing.T) {
	ignore := func(id GoID, _ Stack) bool { return id == 9 }
	out := run(t, Config{Ignore: ignore, SampleInterval: -1},
		goEv(t, 0, 1, 0, 9, nex, rnb, "", stack("main.main"), stack("shim.loop")),
		goEv(t, 1*ms, 1, 0, 2, rng, wtg, "select", stack("main.sel"), nostk),
		goEv(t, 1*ms+1, 1, 0, 9, rnb, rng, "", nostk, nostk),
		goEv(t, 5*ms, 9, 0, 2, wtg, rnb, "", nostk, nostk),
		goEv(t, 6*ms, 9, 0, 9, rng, wtg, "sleep", stack("time.Sleep"), nostk),
	)
	for _, r := range out.segs[0] {
		assert.NotEqual(t, uint32(9), r.Task, "ignored goroutine in %v", r)
	}
	wakes := out.all(format.CodeWakeEvent)
	require.Len(t, wakes, 1)
	assert.Equal(t, uint32(0), wakes[0].Waker, "a wake by an ignored goroutine has waker 0")
	assert.Len(t, out.all(format.CodeTaskPending), 1)
}

func TestQueueSample(t *testing.T) {
	out := run(t, Config{SampleInterval: 10 * time.Millisecond},
		goEv(t, 0, 1, 0, 2, nex, rnb, "", stack("main.main"), nostk),
		goEv(t, 1*ms, 1, 0, 3, nex, rnb, "", stack("main.main"), nostk),
		goEv(t, 15*ms, exptrace.NoGoroutine, 0, 2, rnb, rng, "", nostk, nostk),
		goEv(t, 25*ms, 2, 0, 2, rng, nex, "", nostk, nostk),
	)
	var got []uint8
	var ts []uint32
	for _, r := range out.all(format.CodeQueueSample) {
		got = append(got, r.GlobalQ)
		ts = append(ts, r.TS)
	}
	assert.Equal(t, []uint32{0, 10000, 20000}, ts)
	assert.Equal(t, []uint8{1, 2, 1}, got, "runnable, not running, goroutines at each tick")
}

func TestWorkerParkUnpark(t *testing.T) {
	out := run(t, Config{SampleInterval: -1},
		procEv(t, 0, 1, exptrace.ProcIdle, exptrace.ProcRunning),
		procEv(t, 2*ms, 1, exptrace.ProcRunning, exptrace.ProcIdle),
		procEv(t, 5*ms, 1, exptrace.ProcIdle, exptrace.ProcRunning),
		procEv(t, 6*ms, 1, exptrace.ProcRunning, exptrace.ProcIdle),
	)
	assert.Equal(t, []format.Record{
		{Code: format.CodeWorkerUnpark, TS: 0, Worker: 1, CPU: 0},
		{Code: format.CodeWorkerPark, TS: 2000, Worker: 1, CPU: 2000},
		{Code: format.CodeWorkerUnpark, TS: 5000, Worker: 1, CPU: 2000},
		{Code: format.CodeWorkerPark, TS: 6000, Worker: 1, CPU: 3000},
	}, out.segs[0])
}

func TestSegments(t *testing.T) {
	// A segment spanning more than SegmentDuration continues in a new one
	// with its own clock and its own definitions.
	blk := stack("main.f")
	out := run(t, Config{SegmentDuration: 10 * time.Millisecond, SampleInterval: -1},
		goEv(t, 0, 1, 0, 2, nex, rnb, "", stack("main.main"), nostk),
		goEv(t, 1*ms, exptrace.NoGoroutine, 0, 2, rnb, rng, "", nostk, nostk),
		goEv(t, 2*ms, 2, 0, 2, rng, wtg, "chan send", blk, nostk),
		goEv(t, 8*ms, 1, 0, 2, wtg, rnb, "", nostk, nostk),
		goEv(t, 9*ms, exptrace.NoGoroutine, 0, 2, rnb, rng, "", nostk, nostk),
		goEv(t, 10*ms, 2, 0, 2, rng, wtg, "chan send", blk, nostk),
		goEv(t, 25*ms, 1, 0, 2, wtg, rnb, "", nostk, nostk),
		goEv(t, 26*ms, exptrace.NoGoroutine, 0, 2, rnb, rng, "", nostk, nostk),
	)
	require.Len(t, out.segs, 2)
	seg2 := out.segs[1]
	// Segment 2 starts at 25ms (nothing happened for more than a whole
	// segment after the first ended at 10ms): the wake is at its time 0,
	// after the woken goroutine's origin, and the definitions it needs are
	// written again.
	assert.Equal(t, format.Record{Code: format.CodeSpawnLocationDef, ID: 1, Str: "main.f (created at main.main /src/main.go:10)"}, seg2[0])
	assert.Equal(t, format.Record{Code: format.CodeTaskSpawn, Task: 2, SpawnLoc: 1}, seg2[1])
	assert.Equal(t, format.Record{Code: format.CodeWakeEvent, TS: 0, Waker: 1, Task: 2, Worker: 0}, seg2[2])
	seg1 := out.segs[0]
	assert.Equal(t, format.Record{Code: format.CodeQueueSample, TS: 25000}, seg1[len(seg1)-1], "the first segment ends where the second begins")
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 2)
	assert.Equal(t, uint32(15000), pend[1].Duration)
	assert.Equal(t, []string{"[chan_send]", "main.f /src/main.go:10"}, out.frames(1, pend[1]))
	assert.Equal(t, format.Record{Code: format.CodePollStart, TS: 1000, Worker: 0, Task: 2, SpawnLoc: 1}, seg2[len(seg2)-1])
	assert.Equal(t, "main.f (created at main.main /src/main.go:10)", out.locs[1][1])
}

func TestTableFullStartsSegment(t *testing.T) {
	var evs []exptrace.Event
	for i := range 25 {
		stk := exptrace.MakeStack([]exptrace.StackFrame{{PC: uint64(i + 1), Func: fmt.Sprintf("main.f%d", i), File: "/m.go", Line: 1}})
		evs = append(evs, goEv(t, exptrace.Time(i), 1, 0, exptrace.GoID(i+2), nex, rnb, "", stk, nostk))
	}
	out := newCapture(t)
	c, err := New(Config{SampleInterval: -1}, out)
	require.NoError(t, err)
	c.locs.Max = 10
	for i := range evs {
		require.NoError(t, c.Event(&evs[i]))
	}
	require.NoError(t, c.Close())
	require.Len(t, out.segs, 3)
	assert.Len(t, out.locs[0], 10)
	assert.Len(t, out.locs[1], 10)
	assert.Len(t, out.locs[2], 5)
	assert.Len(t, out.all(format.CodeTaskSpawn), 25)
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Threshold: -1},
		{SegmentDuration: -1},
		{SegmentDuration: MaxSegmentDuration + time.Microsecond},
	} {
		_, err := New(cfg, newCapture(t))
		assert.Error(t, err, "%+v", cfg)
	}
	_, err := New(Config{}, nil)
	assert.Error(t, err)
}

func TestUseAfterClose(t *testing.T) {
	c, err := New(Config{}, newCapture(t))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	ev := procEv(t, 0, 0, exptrace.ProcIdle, exptrace.ProcRunning)
	assert.ErrorIs(t, c.Event(&ev), ErrClosed)
	assert.ErrorIs(t, c.Close(), ErrClosed)
}

func TestIgnoreAskedAgainWithStack(t *testing.T) {
	// A runtime goroutine first seen without a stack is recognised when a
	// generation's end restates it with one.
	out := run(t, Config{Ignore: SystemGoroutine, SampleInterval: -1},
		syncEv(t, 0),
		goEv(t, 1*ms, exptrace.NoGoroutine, exptrace.NoProc, 3, und, wtg, "", nostk, nostk),
		goEv(t, 1*ms, exptrace.NoGoroutine, exptrace.NoProc, 8, und, wtg, "", nostk, nostk),
		goEv(t, 9*ms, exptrace.NoGoroutine, exptrace.NoProc, 3, und, wtg, "", stack("runtime.gopark", "runtime.bgsweep"), stack("runtime.gopark", "runtime.bgsweep")),
		goEv(t, 9*ms, exptrace.NoGoroutine, exptrace.NoProc, 8, und, wtg, "", stack("runtime.gopark", "main.worker"), stack("runtime.gopark", "main.worker")),
	)
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 1)
	assert.Equal(t, uint32(8), pend[0].Task, "the user's goroutine only")
}

func TestRestatementsAtGenerationBoundary(t *testing.T) {
	// At each generation boundary the parser restates every goroutine it
	// knows (Waiting->Waiting, Running->Running, Syscall->Syscall): a block
	// goes on through it, and a running goroutine is not re-polled.
	out := run(t, Config{SampleInterval: -1},
		goEv(t, 0, 2, 0, 2, rng, wtg, "chan receive", stack("main.recv"), nostk),
		goEv(t, 0, 3, 1, 3, rng, sys, "", stack("syscall.read"), nostk),
		goEv(t, 1*ms, exptrace.NoGoroutine, 0, 4, und, rng, "", nostk, nostk),
		syncEv(t, 10*ms),
		goEv(t, 10*ms, exptrace.NoGoroutine, exptrace.NoProc, 2, wtg, wtg, "", stack("runtime.gopark", "main.recv"), stack("runtime.gopark", "main.recv")),
		goEv(t, 10*ms, exptrace.NoGoroutine, exptrace.NoProc, 3, sys, sys, "", nostk, nostk),
		goEv(t, 10*ms, 4, 0, 4, rng, rng, "", nostk, nostk),
		goEv(t, 25*ms, 4, 0, 2, wtg, rnb, "", nostk, nostk),
		goEv(t, 30*ms, 3, 1, 3, sys, rng, "", nostk, nostk),
	)
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 2)
	assert.Equal(t, format.Record{Code: format.CodeTaskPending, TS: 25000, Task: 2, Duration: 25000, Frames: pend[0].Frames}, pend[0], "one pending, at the wake, for the whole block")
	assert.Equal(t, []string{"[chan_receive]", "main.recv /src/main.go:10"}, out.frames(0, pend[0]), "the block's own stack, not the restated one")
	assert.Equal(t, uint32(3), pend[1].Task)
	assert.Equal(t, uint32(30000), pend[1].Duration)
	var polls []format.Record
	for _, r := range out.all(format.CodePollStart, format.CodePollEnd) {
		if r.TS == 10000 {
			polls = append(polls, r)
		}
	}
	assert.Empty(t, polls, "no re-poll at the boundary")
}

func TestQueueSamplesAcrossSegments(t *testing.T) {
	out := run(t, Config{SampleInterval: 10 * time.Millisecond, SegmentDuration: 15 * time.Millisecond},
		goEv(t, 0, 1, 0, 2, nex, rnb, "", stack("main.main"), nostk),
		goEv(t, 45*ms, exptrace.NoGoroutine, 0, 2, rnb, rng, "", nostk, nostk),
	)
	var times []uint32 // on the one time line
	base := uint32(0)
	for i, seg := range out.segs {
		for _, r := range seg {
			if r.Code == format.CodeQueueSample {
				times = append(times, base+r.TS)
				assert.LessOrEqual(t, r.TS, uint32(15000), "segment %d: %+v", i, r)
			}
		}
		if i < len(out.segs)-1 {
			last := seg[len(seg)-1]
			assert.Equal(t, format.CodeQueueSample, last.Code, "segment %d ends with a sample at its end", i)
			base += last.TS // the next segment's clock starts there
		}
	}
	assert.Equal(t, []uint32{0, 10000, 15000, 20000, 30000, 30000, 40000}, times,
		"a sample at 0, 10, 20, 30 and 40ms, none lost to the rollovers, and one at each segment's end (15ms, 30ms)")
	assert.Len(t, out.segs, 3)
}

func TestSystemGoroutineSkipsGoexit(t *testing.T) {
	for _, tc := range []struct {
		funcs []string // innermost first
		want  bool
	}{
		{[]string{"main.work", "main.main", "runtime.main", "runtime.goexit"}, false},
		{[]string{"main.worker", "runtime.goexit"}, false},
		{[]string{"runtime.gopark", "runtime.bgsweep", "runtime.goexit"}, true},
		{[]string{"runtime.gopark", "runtime.forcegchelper"}, true},
		{[]string{"time.Sleep", "runtime/trace.(*recorder).start", "runtime.goexit"}, true},
		{[]string{"main.init.0", "runtime.doInit1"}, false}, // an init, on the main goroutine, its stack cut short
	} {
		stk := tracewire.FromExp(stack(tc.funcs...))
		assert.Equal(t, tc.want, SystemGoroutine(7, stk), "%v", tc.funcs)
	}
	// The main goroutine, whatever its stack says.
	assert.False(t, SystemGoroutine(1, tracewire.FromExp(stack("runtime.gopark", "runtime.bgsweep"))))
}

// TestDecoderPanicKeepsRecords: a panic of the decoder's on bad input is a
// *TraceError, and the conversion is still closed: a block open at the
// last event before it is reported.
func TestDecoderPanicKeepsRecords(t *testing.T) {
	evs := []exptrace.Event{
		goEv(t, 1*ms, 2, 0, 2, rng, wtg, "chan receive", stack("runtime.chanrecv1", "main.recv"), nostk),
		goEv(t, 9*ms, 3, 0, 3, nex, rnb, "", nostk, nostk),
	}
	out := newCapture(t)
	c, err := New(Config{SampleInterval: -1}, out)
	require.NoError(t, err)
	fills := 0
	fill := func(b *batch) error {
		if fills++; fills > 1 {
			panic("decoder bug")
		}
		for i := range evs {
			var e tracewire.Event
			tracewire.FromExpEvent(&evs[i], &e)
			b.wevs = append(b.wevs, e)
		}
		return nil
	}
	var progressed []int64
	_, err = c.runInline(func() int64 { return 42 }, func(n int64) { progressed = append(progressed, n) }, fill)
	var te *TraceError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, int64(42), te.Offset)
	assert.Contains(t, te.Error(), "panicked: decoder bug")
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 1, "the open block is reported when the conversion closes")
	assert.Equal(t, uint32(8000), pend[0].Duration)
	assert.NotEmpty(t, progressed)
	assert.Equal(t, int64(42), progressed[len(progressed)-1], "a last progress report at the end")
}
