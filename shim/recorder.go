package shim

import (
	"io"
	"runtime/trace"
	"time"
)

// maxSnapFails is the number of consecutive failed snapshots after which
// the flight recorder is stopped for good.
const maxSnapFails = 5

// tracer is the flight recorder as the recorder uses it
// (*runtime/trace.FlightRecorder; a fake in tests).
type tracer interface {
	WriteTo(io.Writer) (int64, error)
	Stop()
}

// recorder owns the flight recorder and duty-cycles it under the CPU
// budget: when the worker has spent its budget, the recorder is stopped
// (the tracer then costs the program nothing), and a new one is started at
// the first snapshot after the debt is paid back. Each recorder is an
// epoch: the worker starts a new trace reader for it. When a recorder
// cannot be had again (the program took it), or snapshots keep failing,
// the session runs on the goroutine sampler alone.
//
// It holds no clock and no goroutine: the snapshot loop calls it with the
// time, so its decisions are tested by calling it.
type recorder struct {
	s     *Session               // counters and reports
	start func() (tracer, error) // a started flight recorder
	// dutyCycle: the tracer may pause for the budget (Budget not off).
	dutyCycle bool

	fr        tracer
	epoch     int
	f         genFilter
	offSince  time.Time // paused for the budget since
	soloSince time.Time // on the sampler alone since
	snapFails int       // consecutive failed snapshots
	gaveUp    bool      // the recorder was stopped for failing
}

// newFlightRecorder starts a runtime/trace flight recorder whose window
// holds a few snapshot intervals.
func newFlightRecorder(interval time.Duration) func() (tracer, error) {
	return func() (tracer, error) {
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{
			MinAge:   3 * interval,
			MaxBytes: 32 << 20,
		})
		if err := fr.Start(); err != nil {
			return nil, err
		}
		return fr, nil
	}
}

// pause stops the tracer at once: the worker spent its budget. What it
// recorded since the last snapshot is let go (the worker would skip it),
// not counted as lost.
func (r *recorder) pause(now time.Time) {
	if r.fr == nil || !r.dutyCycle {
		return
	}
	r.fr.Stop()
	r.fr = nil
	r.offSince = now
	r.s.pauses.Add(1)
}

// snapshot takes the new generations of the trace at now, restarting a
// paused tracer first when the debt is paid (!inDebt()), and pausing it
// after when it is not (asked again after the snapshot, which may take a
// while). final is Stop's snapshot: it never restarts the tracer. The chunk
// has no data when there is nothing new.
func (r *recorder) snapshot(now time.Time, inDebt func() bool, final bool) chunk {
	s := r.s
	if r.fr == nil && s.tracing && !r.gaveUp && !final && !inDebt() {
		r.restart(now)
	}
	ch := chunk{epoch: r.epoch}
	if r.fr == nil {
		return ch
	}
	r.f.reset()
	t0 := time.Now()
	_, err := r.fr.WriteTo(&r.f)
	s.writeToNanos.Add(int64(time.Since(t0)))
	s.snapshots.Add(1)
	s.snapBytes.Add(r.f.bytes)
	if err != nil {
		s.snapErrs.Add(1)
		s.reportOnce("writeto", "flight recorder snapshot failed: %v", err)
		r.snapFails++
	} else {
		r.snapFails = 0
	}
	if r.snapFails >= maxSnapFails && !final {
		// Failing for good: stop the recorder (it costs the program for
		// nothing) and run on the sampler alone.
		r.fr.Stop()
		r.fr = nil
		r.gaveUp = true
		r.soloSince = now
		s.samplerSpells.Add(1)
		s.samplerOnly.Store(true)
		s.reportOnce("gaveup", "flight recorder snapshots failed %d times in a row (%v); the execution tracer is stopped for the rest of the session, only the sampler runs", r.snapFails, err)
		return ch
	}
	if err == nil {
		if data, first, last := r.f.take(); data != nil {
			if ev := r.f.evicted(first); ev > 0 {
				s.evicted.Add(ev)
			}
			ch.data = append([]byte(nil), data...)
			ch.first, ch.last = first, last
			ch.hdr = r.f.header
		}
	}
	if !final && inDebt() {
		r.pause(now) // while the worker pays its debt
	}
	return ch
}

// restart starts a new recorder after a pause, or after a spell on the
// sampler alone; if none can be had (the program took the flight recorder
// during the pause), the pause for the budget ends here and the sampler
// works alone until one can be had again.
func (r *recorder) restart(now time.Time) {
	s := r.s
	fr, err := r.start()
	if err != nil {
		if r.soloSince.IsZero() {
			s.tracerOff.Add(int64(now.Sub(r.offSince)))
			r.offSince = time.Time{}
			r.soloSince = now
			s.samplerSpells.Add(1)
			s.samplerOnly.Store(true)
			s.reportOnce("restart", "execution tracer unavailable after a pause (%v); only the sampler runs until it can be had again", err)
		}
		return
	}
	r.fr = fr
	r.epoch++
	r.f = genFilter{}
	if !r.soloSince.IsZero() {
		s.samplerOff.Add(int64(now.Sub(r.soloSince)))
		r.soloSince = time.Time{}
		s.samplerOnly.Store(false)
	} else {
		s.tracerOff.Add(int64(now.Sub(r.offSince)))
		r.offSince = time.Time{}
	}
}

// close stops the tracer and settles the time it was off.
func (r *recorder) close(now time.Time) {
	switch {
	case r.fr != nil:
		func() {
			defer func() { recover() }()
			r.fr.Stop()
		}()
		r.fr = nil
	case !r.offSince.IsZero():
		r.s.tracerOff.Add(int64(now.Sub(r.offSince)))
	case !r.soloSince.IsZero():
		r.s.samplerOff.Add(int64(now.Sub(r.soloSince)))
	}
}
