package convcore

import (
	"time"

	exptrace "golang.org/x/exp/trace"
)

// This file holds what a live consumer of the trace (the shim) needs on top
// of the streaming conversion: resuming after lost generations, looking at
// what the converter knows of a goroutine, and adding blocks that another
// source (a goroutine dump) observed. Like the rest of the Converter, none
// of it is safe for concurrent use: call it from the goroutine that calls
// Event, between two calls of Event.

// LiveGoroutine is what the converter knows of one goroutine at the time of
// the last event it consumed.
type LiveGoroutine struct {
	// Known reports whether the converter has seen the goroutine since it
	// started or since the last Gap.
	Known bool
	// Ignored reports a goroutine left out by Config.Ignore.
	Ignored bool
	// State is its state (GoNotExist when not Known).
	State exptrace.GoState
	// Blocked reports State GoWaiting or GoSyscall.
	Blocked bool
	// StartSeen reports a block whose start the converter knows: the trace
	// showed the goroutine blocking, or SampledBlock set it. A block the
	// trace only stated (a goroutine already blocked when first seen) has
	// StartSeen false: its start is only bounded by the window's start.
	StartSeen bool
	// BlockStart is when the current block began (when Blocked), or the
	// earliest time it can have begun when !StartSeen.
	BlockStart exptrace.Time
}

// unknownReason is the pseudo wait reason of a block first seen already in
// progress (see goTransition).
const unknownReason = "unknown"

// Goroutine returns what the converter knows of goroutine id.
func (c *Converter) Goroutine(id exptrace.GoID) LiveGoroutine {
	i, ok := c.index(id)
	if !ok {
		return LiveGoroutine{State: exptrace.GoNotExist}
	}
	g := &c.gs[i]
	lg := LiveGoroutine{Known: true, Ignored: g.ignored, State: g.state}
	if g.state == exptrace.GoWaiting || g.state == exptrace.GoSyscall {
		lg.Blocked = true
		lg.BlockStart = g.blockStart
		lg.StartSeen = !g.unknownBlock() && g.blockReason != unknownReason
	}
	return lg
}

// LastTime returns the time of the latest event consumed (0 before the
// first).
func (c *Converter) LastTime() exptrace.Time { return c.last }

// Gap tells the converter that the events between the last one it consumed
// and t were lost (generations of the trace that were never parsed) and
// that the events from t on come from a new trace reader. The converter
// forgets every goroutine and P (the new reader restates them; blocks in
// progress across the gap are dropped unreported) but keeps its segment,
// clock and id tables, so the output file goes on. QueueSample records are
// not written for the gap. t must not be before LastTime.
func (c *Converter) Gap(t exptrace.Time) {
	if !c.started {
		return
	}
	c.resetGoroutines()
	if t < c.last {
		t = c.last
	}
	c.genStart = t
	for i := range c.procs {
		c.procs[i].running = false
		c.procs[i].since = t
	}
	if c.cfg.SampleInterval > 0 && c.nextSample < t {
		iv := exptrace.Time(c.cfg.SampleInterval)
		c.nextSample += (t - c.nextSample + iv - 1) / iv * iv
	}
	c.last = t
}

// SampledBlock records that goroutine id was found blocked at time at (on
// the trace clock, not before LastTime) by a source other than the trace,
// such as a goroutine dump: blocked for at least d, for reason, with frames
// (innermost first, rendered "function file:line" like the converter's own).
// If d reaches the threshold, a TaskPending is written now, at time at.
// From then on the converter treats the block as one whose start it saw
// (at-d): when the trace shows the goroutine leave it, or at Close, it
// reports the block with these frames and its whole duration. An ignored
// goroutine is left alone. It returns whether a record was written.
//
// Before the first event, the first call starts the output's first segment
// at time at (a converter fed by SampledBlock alone keeps its own clock).
func (c *Converter) SampledBlock(id exptrace.GoID, at exptrace.Time, d time.Duration, reason string, frames []string) (bool, error) {
	return c.sampledBlock(id, at, d, reason, frames, true)
}

// NoteSampledBlock is SampledBlock without the TaskPending: for a block
// already reported by an earlier sample (before a Gap), which the
// converter is to carry on from. It returns whether it took the block.
func (c *Converter) NoteSampledBlock(id exptrace.GoID, at exptrace.Time, d time.Duration, reason string, frames []string) (bool, error) {
	return c.sampledBlock(id, at, d, reason, frames, false)
}

func (c *Converter) sampledBlock(id exptrace.GoID, at exptrace.Time, d time.Duration, reason string, frames []string, report bool) (bool, error) {
	if c.err != nil {
		return false, c.err
	}
	if c.closed {
		return false, ErrClosed
	}
	if d < c.cfg.Threshold {
		return false, nil
	}
	if err := c.advance(at); err != nil {
		return false, c.fail(err)
	}
	at = c.last
	g, _ := c.lookup(id, exptrace.NoStack)
	if g.ignored {
		return false, nil
	}
	if g.state == exptrace.GoRunnable {
		c.runnable--
	}
	if g.state != exptrace.GoSyscall {
		g.state = exptrace.GoWaiting
	}
	if reason == "" || reason == unknownReason {
		reason = "blocked"
	}
	g.blockStart = at - exptrace.Time(d)
	g.blockReason = reason
	g.blockStack = exptrace.NoStack
	g.blockFrames = frames
	if report {
		if err := c.pending(g, at, d); err != nil {
			return false, c.fail(err)
		}
	}
	return true, nil
}

// IsTracerFunc reports whether fn, the start function of a goroutine, is
// one of the execution tracer's own (see TracerGoroutine).
func IsTracerFunc(fn string) bool { return tracerFunc(fn) }

// Forget drops what the converter knows of goroutine id, writing nothing:
// for a block that SampledBlock added and that another source saw end.
func (c *Converter) Forget(id exptrace.GoID) {
	if i, ok := c.index(id); ok {
		if c.gs[i].state == exptrace.GoRunnable && !c.gs[i].ignored {
			c.runnable--
		}
		c.drop(id)
	}
}

// StillPending writes a TaskPending for goroutine id's current block as
// observed at time at (on the trace clock, not before LastTime), without
// ending it: for a block the trace saw begin that has lasted at least
// minAge (and the threshold) and has not ended yet, so that a goroutine
// stuck for good shows in the records before the trace ends. When the
// block does end the trace reports it again, with its whole duration. It
// returns whether a record was written.
func (c *Converter) StillPending(id exptrace.GoID, at exptrace.Time, minAge time.Duration) (bool, error) {
	if c.err != nil {
		return false, c.err
	}
	if c.closed {
		return false, ErrClosed
	}
	i, ok := c.index(id)
	if !ok {
		return false, nil
	}
	g := &c.gs[i]
	if g.ignored || g.unknownBlock() || g.blockReason == unknownReason ||
		(g.state != exptrace.GoWaiting && g.state != exptrace.GoSyscall) {
		return false, nil
	}
	if err := c.advance(at); err != nil {
		return false, c.fail(err)
	}
	at = c.last
	d := time.Duration(at - g.blockStart)
	if d < c.cfg.Threshold || d < minAge {
		return false, nil
	}
	if err := c.pending(g, at, d); err != nil {
		return false, c.fail(err)
	}
	return true, nil
}
