package shim

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTracer is a flight recorder whose window grows by one generation at
// each snapshot; fail makes its WriteTo fail.
type fakeTracer struct {
	gens    uint64
	fail    bool
	stopped bool
}

func (f *fakeTracer) WriteTo(w io.Writer) (int64, error) {
	if f.fail {
		return 0, errors.New("write failed")
	}
	f.gens++
	n := 0
	write := func(p []byte) {
		m, _ := w.Write(p)
		n += m
	}
	write([]byte("go 1.26 trace\x00\x00\x00"))
	for g := uint64(1); g <= f.gens; g++ {
		b := binary.AppendUvarint([]byte{evEventBatch}, g)
		write(append(b, "payload"...))
		write([]byte{evEndOfGeneration})
	}
	return int64(n), nil
}

func (f *fakeTracer) Stop() { f.stopped = true }

// recorderTest is a recorder over fake tracers; startErr makes starting a
// new one fail (the program holds the flight recorder).
type recorderTest struct {
	s        *Session
	r        *recorder
	tracers  []*fakeTracer
	startErr error
	now      time.Time
}

func newRecorderTest(t *testing.T) *recorderTest {
	var stderr syncBuffer
	rt := &recorderTest{s: &Session{cfg: Config{Stderr: &stderr}, reported: map[string]bool{}, tracing: true},
		now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rt.r = &recorder{s: rt.s, dutyCycle: true, epoch: 1, start: func() (tracer, error) {
		if rt.startErr != nil {
			return nil, rt.startErr
		}
		ft := &fakeTracer{}
		rt.tracers = append(rt.tracers, ft)
		return ft, nil
	}}
	fr, err := rt.r.start()
	require.NoError(t, err)
	rt.r.fr = fr
	return rt
}

// tick takes a snapshot d after the last one.
func (rt *recorderTest) tick(d time.Duration, inDebt, final bool) chunk {
	rt.now = rt.now.Add(d)
	return rt.r.snapshot(rt.now, func() bool { return inDebt }, final)
}

func TestRecorderPausesAndComesBack(t *testing.T) {
	rt := newRecorderTest(t)
	ch := rt.tick(500*time.Millisecond, false, false)
	assert.Equal(t, uint64(1), ch.first)
	assert.Equal(t, uint64(1), ch.last)
	assert.Equal(t, 1, ch.epoch)
	// The budget is spent: a last snapshot, then the tracer stops.
	ch = rt.tick(500*time.Millisecond, true, false)
	assert.Equal(t, uint64(2), ch.first, "only the new generation")
	assert.True(t, rt.tracers[0].stopped)
	assert.Equal(t, int64(1), rt.s.pauses.Load())
	// Still in debt: nothing, no new tracer.
	ch = rt.tick(500*time.Millisecond, true, false)
	assert.Nil(t, ch.data)
	assert.Len(t, rt.tracers, 1)
	// Paid back: a new tracer, a new epoch, its generations from 1.
	ch = rt.tick(500*time.Millisecond, false, false)
	require.Len(t, rt.tracers, 2)
	assert.Equal(t, 2, ch.epoch)
	assert.Equal(t, uint64(1), ch.first)
	assert.Equal(t, time.Second, time.Duration(rt.s.tracerOff.Load()), "off from the pause to the restart")
	// Stop's snapshot while paused does not restart it.
	rt.r.pause(rt.now)
	ch = rt.tick(100*time.Millisecond, false, true)
	assert.Nil(t, ch.data)
	assert.Len(t, rt.tracers, 2)
	rt.r.close(rt.now.Add(50 * time.Millisecond))
	assert.Equal(t, time.Second+150*time.Millisecond, time.Duration(rt.s.tracerOff.Load()), "and from the last pause to the end")
}

func TestRecorderPauseNowOnlyWithDutyCycle(t *testing.T) {
	rt := newRecorderTest(t)
	rt.r.dutyCycle = false // Budget off
	rt.tick(time.Second, true, false)
	assert.False(t, rt.tracers[0].stopped, "no budget: never paused")
	rt.r.pause(rt.now)
	assert.False(t, rt.tracers[0].stopped)
	assert.Zero(t, rt.s.pauses.Load())
}

func TestRecorderSamplerAloneWhenTaken(t *testing.T) {
	rt := newRecorderTest(t)
	rt.tick(500*time.Millisecond, true, false) // paused
	rt.startErr = errors.New("flight recorder already running")
	rt.tick(2*time.Second, false, false)
	assert.True(t, rt.s.samplerOnly.Load(), "the program took the recorder: the sampler alone")
	assert.Equal(t, int64(1), rt.s.samplerSpells.Load())
	assert.Equal(t, 2*time.Second, time.Duration(rt.s.tracerOff.Load()), "the pause for the budget ends there")
	rt.tick(time.Second, false, false) // still taken: no second report, no second spell
	assert.Equal(t, int64(1), rt.s.samplerSpells.Load())
	rt.startErr = nil
	ch := rt.tick(time.Second, false, false)
	assert.False(t, rt.s.samplerOnly.Load())
	assert.Equal(t, 2*time.Second, time.Duration(rt.s.samplerOff.Load()))
	assert.Equal(t, 2, ch.epoch)
	assert.Equal(t, 1, countLines(rt.s.cfg.Stderr.(*syncBuffer).String(), "unavailable after a pause"))
}

func TestRecorderGivesUpAfterFailures(t *testing.T) {
	rt := newRecorderTest(t)
	rt.tracers[0].fail = true
	for i := range maxSnapFails {
		ch := rt.tick(500*time.Millisecond, false, false)
		assert.Nil(t, ch.data, "snapshot %d", i)
	}
	assert.True(t, rt.tracers[0].stopped)
	assert.True(t, rt.r.gaveUp)
	assert.True(t, rt.s.samplerOnly.Load())
	assert.Equal(t, int64(maxSnapFails), rt.s.snapErrs.Load())
	// No new recorder for the rest of the session.
	rt.tick(time.Second, false, false)
	assert.Len(t, rt.tracers, 1)
	out := rt.s.cfg.Stderr.(*syncBuffer).String()
	assert.Equal(t, 1, countLines(out, "snapshot failed"), out)
	assert.Equal(t, 1, countLines(out, "stopped for the rest of the session"), out)
}

func countLines(s, sub string) int {
	n := 0
	for _, l := range splitLines(s) {
		if contains(l, sub) {
			n++
		}
	}
	return n
}

func splitLines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
