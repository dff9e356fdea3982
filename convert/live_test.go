package convert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/live"
)

// byHand is a converter fed by hand, as the shim feeds it.
type byHand struct {
	t   *testing.T
	c   *Converter
	out *capture
}

func newLive(t *testing.T, cfg Config) *byHand {
	out := newCapture(t)
	c, err := New(cfg, out)
	require.NoError(t, err)
	return &byHand{t: t, c: c, out: out}
}

func (l *byHand) feed(evs ...exptrace.Event) {
	for i := range evs {
		require.NoError(l.t, l.c.Event(&evs[i]))
	}
}

func (l *byHand) dump(at exptrace.Time, solo bool, gs ...live.Sampled) {
	require.NoError(l.t, l.c.applyDump(at, gs, solo))
}

func (l *byHand) refresh(minAge, step time.Duration) int {
	n, err := l.c.refresh(minAge, step)
	require.NoError(l.t, err)
	return n
}

// pending returns the TaskPending records of task id: (ts, duration) in ms
// of the one time line, and the frames of the last.
func (l *byHand) pending(id uint32) (ts, dur []float64, frames []string) {
	base := uint32(0)
	for i, seg := range l.out.segs {
		for _, r := range seg {
			if r.Code == format.CodeTaskPending && r.Task == id {
				ts = append(ts, float64(base+r.TS)/1e3)
				dur = append(dur, float64(r.Duration)/1e3)
				frames = l.out.frames(i, r)
			}
		}
		if len(seg) > 0 {
			base += seg[len(seg)-1].TS
		}
	}
	return ts, dur, frames
}

var (
	recvStk   = stack("runtime.chanrecv1", "main.recv", "main.worker")
	statusStk = stack("runtime.gopark", "runtime.chanrecv", "runtime.chanrecv1", "main.recv", "main.worker")
)

func TestGapCarriesBlock(t *testing.T) {
	l := newLive(t, Config{SampleInterval: -1})
	l.feed(syncEv(t, 0),
		goEv(t, 1*ms, 4, 0, 4, rng, wtg, "chan receive", recvStk, nostk))
	l.c.gap(100 * ms) // the tracer paused; a new reader from 100ms
	l.feed(syncEv(t, 100*ms),
		goEv(t, 150*ms, exptrace.NoGoroutine, exptrace.NoProc, 4, und, wtg, "", statusStk, statusStk),
		syncEv(t, 200*ms),
		goEv(t, 300*ms, 1, 0, 4, wtg, rnb, "", nostk, nostk))
	require.NoError(t, l.c.Close())
	ts, dur, frames := l.pending(4)
	assert.Equal(t, []float64{300}, ts, "one record, when the block ends")
	assert.Equal(t, []float64{299}, dur, "counted from its start before the pause, not from the window")
	assert.Equal(t, "[chan_receive]", frames[0])
}

func TestGapBlockEndedInGap(t *testing.T) {
	l := newLive(t, Config{SampleInterval: -1})
	l.feed(syncEv(t, 0),
		goEv(t, 1*ms, 4, 0, 4, rng, wtg, "chan receive", recvStk, nostk))
	l.c.gap(100 * ms)
	l.feed(syncEv(t, 100*ms),
		goEv(t, 120*ms, exptrace.NoGoroutine, 0, 4, und, rng, "", nostk, nostk),
		goEv(t, 130*ms, 4, 0, 4, rng, wtg, "chan receive", recvStk, nostk),
		goEv(t, 170*ms, 1, 0, 4, wtg, rnb, "", nostk, nostk))
	require.NoError(t, l.c.Close())
	ts, dur, _ := l.pending(4)
	assert.Equal(t, []float64{120, 170}, ts)
	assert.Equal(t, []float64{119, 40}, dur, "the carried block ends at the first sight of the goroutine running; the next is its own")
}

func TestGapBlockedElsewhere(t *testing.T) {
	l := newLive(t, Config{SampleInterval: -1})
	l.feed(syncEv(t, 0),
		goEv(t, 1*ms, 4, 0, 4, rng, wtg, "chan receive", recvStk, nostk))
	l.c.gap(100 * ms)
	other := stack("runtime.gopark", "runtime.selectgo", "main.loop")
	l.feed(syncEv(t, 100*ms),
		goEv(t, 150*ms, exptrace.NoGoroutine, exptrace.NoProc, 4, und, wtg, "", other, other),
		goEv(t, 180*ms, 1, 0, 4, wtg, rnb, "", nostk, nostk))
	require.NoError(t, l.c.Close())
	ts, dur, frames := l.pending(4)
	assert.Equal(t, []float64{150, 180}, ts)
	assert.Equal(t, []float64{149, 80}, dur, "the new block counts from the window's start, a lower bound")
	assert.Equal(t, "[select]", frames[0])
}

func TestGapGoroutineExitedInGap(t *testing.T) {
	l := newLive(t, Config{SampleInterval: -1})
	l.feed(syncEv(t, 0),
		goEv(t, 1*ms, 4, 0, 4, rng, wtg, "chan receive", recvStk, nostk))
	l.c.gap(100 * ms)
	l.feed(syncEv(t, 100*ms), syncEv(t, 200*ms))
	_, dur, _ := l.pending(4)
	assert.Equal(t, []float64{199}, dur, "never restated by the end of the first generation: gone")
	assert.Equal(t, 0, l.c.Stats().Goroutines)
}

func TestApplyDumpSolo(t *testing.T) {
	// No trace at all (the tracer unavailable): the dumps alone.
	l := newLive(t, Config{SampleInterval: -1})
	s := live.Sampled{ID: 9, Blocked: true, Reason: "chan receive", Frames: []string{"main.stuck /src/m.go:3"}, Creator: "main.main /src/m.go:9"}
	sec := exptrace.Time(time.Second)
	l.dump(1*sec, true, s)
	assert.Zero(t, l.refresh(time.Second, 500*time.Millisecond), "age 0 at its first sight")
	l.dump(2*sec, true, s)
	assert.Equal(t, 1, l.refresh(time.Second, 500*time.Millisecond))
	l.dump(2*sec+100*ms, true, s)
	assert.Zero(t, l.refresh(time.Second, 500*time.Millisecond), "not grown enough")
	l.dump(2*sec+600*ms, true, s)
	assert.Equal(t, 1, l.refresh(time.Second, 500*time.Millisecond))
	l.dump(3*sec, true) // gone from the dump
	require.NoError(t, l.c.Close())
	ts, dur, frames := l.pending(9)
	assert.Equal(t, []float64{1000, 1600, 2000}, dur)
	for i := range ts {
		assert.Equal(t, 0.0, ts[i]-dur[i], "every record of the block has its start (the file starts at the first dump)")
	}
	assert.Equal(t, []string{"[chan_receive]", "main.stuck /src/m.go:3"}, frames)
	assert.Equal(t, "main.stuck (created at main.main /src/m.go:9)", l.out.locs[0][1])
}

func TestApplyDumpSoloBlockMoved(t *testing.T) {
	l := newLive(t, Config{SampleInterval: -1})
	sec := exptrace.Time(time.Second)
	a := live.Sampled{ID: 9, Blocked: true, Reason: "chan receive", Frames: []string{"main.a /src/m.go:3"}}
	b := live.Sampled{ID: 9, Blocked: true, Reason: "select", Frames: []string{"main.b /src/m.go:4"}}
	l.dump(1*sec, true, a)
	l.dump(3*sec, true, b)
	l.dump(6*sec, true, live.Sampled{ID: 9, Reason: "running"})
	require.NoError(t, l.c.Close())
	_, dur, frames := l.pending(9)
	assert.Equal(t, []float64{2000, 3000}, dur)
	assert.Equal(t, "[select]", frames[0])
}

func TestApplyDumpBesideTrace(t *testing.T) {
	// With the trace: a goroutine the trace has not mentioned yet has been
	// blocked since the window began; the dump gives its stack and reason,
	// the restatement confirms it and the wake ends it.
	l := newLive(t, Config{SampleInterval: -1})
	netStk := []string{"internal/poll.(*FD).Read /go/fd.go:1", "net.(*conn).Read /go/net.go:2", "main.readLoop /src/m.go:7"}
	l.feed(syncEv(t, 0), goEv(t, 5*ms, 1, 0, 1, rng, rng, "", nostk, nostk))
	l.dump(10*ms, false, live.Sampled{ID: 5, Blocked: true, Reason: "IO wait", Frames: netStk, Creator: "main.serve /src/m.go:20"})
	assert.Equal(t, 1, l.refresh(5*time.Millisecond, 0))
	restated := stack("runtime.gopark", "runtime.netpollblock", "internal/poll.runtime_pollWait", "internal/poll.(*FD).Read", "net.(*conn).Read", "main.readLoop")
	l.feed(goEv(t, 20*ms, exptrace.NoGoroutine, exptrace.NoProc, 5, und, wtg, "", restated, restated),
		syncEv(t, 30*ms),
		goEv(t, 50*ms, 1, 0, 5, wtg, rnb, "", nostk, nostk))
	require.NoError(t, l.c.Close())
	ts, dur, frames := l.pending(5)
	assert.Equal(t, []float64{10, 50}, ts)
	assert.Equal(t, []float64{10, 50}, dur)
	assert.Equal(t, append([]string{"[IO_wait]"}, netStk...), frames, "the dump's stack, the one vocabulary")
}

func TestRefreshGrowsGeometrically(t *testing.T) {
	// A goroutine blocked for an hour of trace, refreshed every 100ms: its
	// age on disk is never more than an eighth (or one step) behind, and
	// it costs about 8 records per doubling of its age.
	l := newLive(t, Config{SampleInterval: -1})
	l.feed(syncEv(t, 0), goEv(t, 0, 4, 0, 4, rng, wtg, "chan receive", recvStk, nostk))
	step := 500 * time.Millisecond
	var lastDur time.Duration
	n := 0
	for at := exptrace.Time(0); at <= exptrace.Time(time.Hour); at += 100 * ms {
		l.feed(procEv(t, at, 1, exptrace.ProcIdle, exptrace.ProcRunning), procEv(t, at, 1, exptrace.ProcRunning, exptrace.ProcIdle))
		k := l.refresh(time.Second, step)
		n += k
		age := time.Duration(at)
		if k > 0 {
			lastDur = age
		}
		if age >= time.Second {
			assert.LessOrEqual(t, age-lastDur, max(age/8, step)+100*time.Millisecond, "at %v", age)
		}
	}
	// From 1s to 1h with +max(1/8, 0.5s): about 6 steps to 4s, then
	// log(900)/log(1.125) = 58.
	assert.InDelta(t, 64, n, 4)
}

func TestOriginFromDumpAndStack(t *testing.T) {
	l := newLive(t, Config{SampleInterval: -1})
	l.feed(syncEv(t, 0))
	// A goroutine older than the trace, running: the dump names its origin
	// (a startGoRoutine-style wrapper), the trace's first sight uses it.
	l.dump(1*ms, false, live.Sampled{ID: 7, Reason: "running", Creator: "main.(*S).start /src/s.go:5",
		Frames: []string{"main.(*c).readLoop /src/c.go:9", "main.(*S).start.func1 /src/s.go:6"}})
	l.feed(goEv(t, 2*ms, exptrace.NoGoroutine, 0, 7, und, rng, "", nostk, nostk))
	// A goroutine created in the trace by a closure of its creator: its
	// entry is what the closure calls, once a stack shows it.
	l.feed(goEv(t, 3*ms, 1, 0, 8, nex, rnb, "", stack("main.main"), stack("main.main.func1")),
		goEv(t, 4*ms, 1, 0, 8, rnb, rng, "", nostk, nostk),
		goEv(t, 5*ms, 8, 0, 8, rng, wtg, "sync", stack("sync.(*Mutex).Lock", "main.waitForLock", "main.main.func1"), nostk),
		goEv(t, 9*ms, 1, 0, 8, wtg, rnb, "", nostk, nostk),
		goEv(t, 10*ms, 1, 0, 8, rnb, rng, "", nostk, nostk))
	require.NoError(t, l.c.Close())
	var polls []string
	for _, r := range l.out.all(format.CodePollStart) {
		polls = append(polls, l.out.locs[0][r.SpawnLoc])
	}
	assert.Equal(t, []string{
		"main.(*c).readLoop (created at main.(*S).start /src/s.go:5)",
		"main.main.func1 (created at main.main /src/main.go:10)",
		"main.waitForLock (created at main.main /src/main.go:10)",
	}, polls)
	_, _, frames := l.pending(8)
	assert.Equal(t, "[sync.Mutex.Lock]", frames[0])
}

func TestEntryOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		frames  []string
		creator string
		want    string
	}{
		{"plain", []string{"runtime.gopark x:1", "main.worker m.go:1", "runtime.goexit x:2"}, "main.main", "main.worker"},
		{"main goroutine", []string{"main.main m.go:1", "runtime.main x:1", "runtime.goexit x:2"}, "", "main.main"},
		{"gowrap", []string{"main.(*c).readLoop c.go:1", "main.(*S).start.gowrap1 s.go:2"}, "", "main.(*c).readLoop"},
		{"closure of creator", []string{"main.serve c.go:1", "main.main.func1 m.go:2"}, "main.main", "main.serve"},
		{"closure of another", []string{"main.serve c.go:1", "main.other.func1 m.go:2"}, "main.main", "main.serve"},
		{"closures in a row", []string{"main.(*c).readLoop c.go:1", "main.(*S).create.func1 s.go:2", "main.(*S).start.func1 s.go:3", "runtime.goexit x:1"}, "main.(*S).start", "main.(*c).readLoop"},
		{"nested closure", []string{"main.serve c.go:1", "main.main.func1.2 m.go:2"}, "", "main.serve"},
		{"literal calling the standard library", []string{"sync.(*Mutex).Lock x:1", "main.main.func2 m.go:2"}, "main.main", "main.main.func2"},
		{"literal calling a module", []string{"github.com/x/y.(*c).readLoop c.go:1", "github.com/x/y.(*S).create.func1 s.go:2"}, "", "github.com/x/y.(*c).readLoop"},
		{"gowrap into the standard library", []string{"net/http.(*conn).serve x:1", "net/http.(*Server).Serve.gowrap3 x:2"}, "net/http.(*Server).Serve", "net/http.(*conn).serve"},
		{"closure blocks itself", []string{"runtime.chanrecv1 x:1", "main.main.func1 m.go:2"}, "main.main", "main.main.func1"},
		{"runtime only", []string{"runtime.gopark x:1"}, "", ""},
		{"main goroutine in an init", []string{"runtime.chanrecv1 x:1", "github.com/x/server.init.0 s.go:9", "runtime.doInit1 x:2", "runtime.doInit x:3", "runtime.main x:4", "runtime.goexit x:5"}, "", "main.main"},
		// The stack the tracer gave shim/auto's start with metrics= (net.Listen in an init), cut at doInit1.
		{"main goroutine in an init, stack cut", []string{"syscall.Close x:1", "net.Listen x:2", "github.com/wakeshim/wakeshim/shim.Start s.go:260",
			"github.com/wakeshim/wakeshim/shim/auto.fromEnv a.go:33", "github.com/wakeshim/wakeshim/shim/auto.init.0 a.go:24", "runtime.doInit1 x:3"}, "", "main.main"},
		{"a plugin's init", []string{"runtime.chanrecv1 x:1", "example.com/p.init.0 p.go:1", "runtime.doInit1 x:2", "plugin.open x:3", "main.load m.go:4", "runtime.goexit x:5"}, "", "main.load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, entryOf(tc.frames, tc.creator))
		})
	}
}

// wakeshim attach applies the goroutine dump fetched before its first
// window alone (solo), at the window's first event: a goroutine blocked
// since before any trace gets the dump's stack (the trace restates it
// with none, right before its wake) and an age counted from the dump, or
// from the dump's minutes: lower bounds.
func TestApplyDumpBeforeFirstWindow(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait time.Duration
		want float64 // ms
	}{
		{"under a minute", 0, 290},
		{"minutes", 2 * time.Minute, 120290},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLive(t, Config{SampleInterval: -1})
			s := live.Sampled{ID: 5, Blocked: true, Reason: "chan receive", Wait: tc.wait,
				Frames: []string{"main.stuck /src/m.go:3", "main.main.func1 /src/m.go:9"}}
			l.dump(10*ms, true, s)
			l.c.gap(10 * ms)
			l.feed(syncEv(t, 10*ms),
				goEv(t, 299*ms, 1, 0, 5, und, wtg, "", nostk, nostk),
				goEv(t, 300*ms, 1, 0, 5, wtg, rnb, "", nostk, nostk))
			require.NoError(t, l.c.Close())
			_, dur, frames := l.pending(5)
			assert.Equal(t, []float64{tc.want}, dur)
			assert.Equal(t, []string{"[chan_receive]", "main.stuck /src/m.go:3", "main.main.func1 /src/m.go:9"}, frames)
		})
	}
}
