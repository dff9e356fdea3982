package convcore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/format"
)

func TestLiveGoroutineAndSampledBlock(t *testing.T) {
	out := newCapture(t)
	c, err := New(Config{SampleInterval: -1}, out)
	require.NoError(t, err)
	feed := func(evs ...exptrace.Event) {
		for i := range evs {
			require.NoError(t, c.Event(&evs[i]))
		}
	}
	stk := stack("main.seen")
	feed(syncEv(t, 0),
		// 4 blocks where the trace sees it; 5 is stated already blocked.
		goEv(t, 1*ms, 4, 0, 4, rng, wtg, "chan receive", stk, nostk),
		goEv(t, 2*ms, exptrace.NoGoroutine, exptrace.NoProc, 5, und, wtg, "", nostk, nostk),
	)
	assert.Equal(t, LiveGoroutine{Known: true, State: wtg, Blocked: true, StartSeen: true, BlockStart: 1 * ms}, c.Goroutine(4))
	g5 := c.Goroutine(5)
	assert.True(t, g5.Known && g5.Blocked && !g5.StartSeen)
	assert.False(t, c.Goroutine(6).Known)
	assert.Equal(t, 2*ms, c.LastTime())

	// Below the threshold: nothing.
	ok, err := c.SampledBlock(6, 3*ms, 500*time.Microsecond, "select", []string{"main.f /src/main.go:1"})
	require.NoError(t, err)
	assert.False(t, ok)
	// Goroutine 5, sampled at 10ms, blocked for at least 10ms.
	ok, err = c.SampledBlock(5, 10*ms, 10*time.Millisecond, "sync.Mutex.Lock", []string{"main.wait /src/main.go:7"})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, c.Goroutine(5).StartSeen)
	// It wakes at 30ms: the trace's record has the sampled frames and the
	// whole duration.
	feed(goEv(t, 30*ms, 1, 0, 5, wtg, rnb, "", nostk, nostk))
	require.NoError(t, c.Close())
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 3) // sampled 5, trace 5, and 4 still blocked at Close
	assert.Equal(t, uint32(5), pend[0].Task)
	assert.Equal(t, uint32(10000), pend[0].TS)
	assert.Equal(t, uint32(10000), pend[0].Duration)
	assert.Equal(t, []string{"[sync.Mutex.Lock]", "main.wait /src/main.go:7"}, out.frames(0, pend[0]))
	assert.Equal(t, uint32(5), pend[1].Task)
	assert.Equal(t, uint32(30000), pend[1].Duration)
	assert.Equal(t, out.frames(0, pend[0]), out.frames(0, pend[1]))
	assert.Equal(t, uint32(4), pend[2].Task)
}

func TestGap(t *testing.T) {
	out := newCapture(t)
	c, err := New(Config{SampleInterval: 10 * time.Millisecond}, out)
	require.NoError(t, err)
	evs := []exptrace.Event{
		syncEv(t, 0),
		goEv(t, 1*ms, 4, 0, 4, rng, wtg, "chan receive", nostk, nostk),
		goEv(t, 5*ms, 4, 0, 7, rng, rnb, "", nostk, nostk),
	}
	for i := range evs {
		require.NoError(t, c.Event(&evs[i]))
	}
	c.Gap(1000 * ms)
	assert.False(t, c.Goroutine(4).Known, "forgotten")
	evs = []exptrace.Event{
		syncEv(t, 1000*ms),
		goEv(t, 1001*ms, exptrace.NoGoroutine, exptrace.NoProc, 4, und, wtg, "", nostk, nostk),
		goEv(t, 1050*ms, 1, 0, 4, wtg, rnb, "", nostk, nostk),
	}
	for i := range evs {
		require.NoError(t, c.Event(&evs[i]))
	}
	require.NoError(t, c.Close())
	// No QueueSample for the gap, one segment throughout.
	for _, r := range out.all(format.CodeQueueSample) {
		ts := r.TS / 1000
		assert.True(t, ts <= 10 || ts >= 1000, "QueueSample at %dms, in the gap", ts)
	}
	assert.Len(t, out.segs, 1)
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 1)
	assert.Equal(t, uint32(50000), pend[0].Duration, "counted from the window's start")

	c.Forget(4)
	assert.False(t, c.Goroutine(4).Known)
}

func TestSampledBlockAlone(t *testing.T) {
	// A converter fed by SampledBlock alone keeps its own clock.
	out := newCapture(t)
	c, err := New(Config{SampleInterval: -1}, out)
	require.NoError(t, err)
	ok, err := c.SampledBlock(9, 2000*ms, 2*time.Second, "chan receive", nil)
	require.NoError(t, err)
	assert.True(t, ok)
	require.NoError(t, c.Close())
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 2) // sampled, then still blocked at Close
	assert.Equal(t, uint32(0), pend[0].TS)
	assert.Equal(t, uint32(2000000), pend[0].Duration)
	assert.True(t, IsTracerFunc("runtime/trace.(*recorder).start"))
	assert.False(t, IsTracerFunc("main.main"))
}

func TestStillPending(t *testing.T) {
	out := newCapture(t)
	c, err := New(Config{SampleInterval: -1}, out)
	require.NoError(t, err)
	evs := []exptrace.Event{
		goEv(t, 1*ms, 2, 0, 2, rng, wtg, "select", stack("main.sel"), nostk),
		goEv(t, 2*ms, 1, 0, 1, und, rng, "", nostk, nostk),
	}
	for i := range evs {
		require.NoError(t, c.Event(&evs[i]))
	}
	ok, err := c.StillPending(2, 50*ms, 100*time.Millisecond)
	require.NoError(t, err)
	assert.False(t, ok, "younger than minAge")
	ok, err = c.StillPending(1, 50*ms, 0)
	require.NoError(t, err)
	assert.False(t, ok, "a running goroutine is not pending")
	ok, err = c.StillPending(2, 50*ms, 10*time.Millisecond)
	require.NoError(t, err)
	assert.True(t, ok)
	wake := goEv(t, 80*ms, 1, 0, 2, wtg, rnb, "", nostk, nostk)
	require.NoError(t, c.Event(&wake))
	require.NoError(t, c.Close())
	pend := out.all(format.CodeTaskPending)
	require.Len(t, pend, 2, "still pending, then the whole block at its wake")
	assert.Equal(t, uint32(49000), pend[0].Duration)
	assert.Equal(t, uint32(49000), pend[0].TS)
	assert.Equal(t, uint32(79000), pend[1].Duration)
	assert.Equal(t, []string{"[select]", "main.sel /src/main.go:10"}, out.frames(0, pend[0]))
}
