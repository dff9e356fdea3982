package convert

import (
	"strings"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/internal/live"
)

// This file holds what a live consumer of the trace (the shim) needs on top
// of the streaming conversion: going on across the tracer's pauses (Gap),
// taking in goroutine dumps (ApplyDump) and keeping the age of long blocks
// on disk while they last (Refresh). Like the rest of the Converter, none of
// it is safe for concurrent use: call it from the goroutine that calls
// Event, between two calls of Event.
//
// A block is one block from its start to its end, whichever source sees
// it in between: the trace while it runs, the dumps while it is paused.
// Its records count from its start, or from the earliest evidence of it
// when the start was not seen (a lower bound), never from a window edge.

// lastTime returns the time of the latest event or dump taken in (0 before
// the first).
func (c *Converter) lastTime() exptrace.Time { return c.last }

// gap tells the converter that the events between the last one it took in
// and t were not seen (the tracer was paused, generations were lost) and
// that the events from t on come from a new trace reader. It keeps its
// segment, clock and id tables, so the output file goes on, and writes no
// QueueSample records for the gap.
//
// Blocks in progress are carried across: the new reader restates every
// goroutine within its first generation, and a goroutine restated blocked
// at the same place goes on in the same block, from its start; one found
// running, or blocked elsewhere, ended its block in the gap (reported then,
// up to the first evidence that it ended: an upper bound). Every other
// goroutine is forgotten (the new reader restates it).
func (c *Converter) gap(t exptrace.Time) {
	if !c.started {
		return
	}
	if t < c.last {
		t = c.last
	}
	c.resolveStacks() // the old reader's stacks die with it
	for i := range c.gs {
		g := &c.gs[i]
		if g.id == 0 {
			continue // a free slot
		}
		if g.inBlock && !g.ignored {
			if !g.carried {
				g.carried, g.seen = true, c.last
			}
			continue
		}
		c.forget(g.id)
	}
	c.runnable = 0
	c.genStart, c.window = t, t
	c.sweepAt = 1
	for i := range c.procs {
		c.procs[i].running = false
		c.procs[i].since = t
	}
	if c.cfg.SampleInterval > 0 && c.nextSample < t {
		iv := exptrace.Time(c.cfg.SampleInterval)
		c.nextSample += (t - c.nextSample + iv - 1) / iv * iv
	}
	c.last = t
	c.setHorizon()
}

// forget drops goroutine id without writing anything.
func (c *Converter) forget(id exptrace.GoID) {
	if i, ok := c.index(id); ok {
		if c.gs[i].state == exptrace.GoRunnable && !c.gs[i].ignored {
			c.runnable--
		}
		c.drop(id)
	}
}

// resume handles the new reader's first word on g, whose block was carried
// across a gap: restated blocked at the same place, the block goes on;
// otherwise it ended in the gap and is reported now, and g is treated as
// first seen.
func (c *Converter) resume(g *goroutine, to exptrace.GoState, stk Stack, t exptrace.Time) error {
	g.carried = false
	if to == g.state && (stk == NoStack || g.blockFrames == nil || sameBlock(g.blockFrames, c.stackFrames(stk))) {
		if g.blockFrames == nil && stk != NoStack {
			g.blockStack = stk
		}
		return nil // still in the same block
	}
	return c.endCarried(g, t)
}

// endCarried reports g's block as ended by t, the first evidence that it
// did, and makes g a goroutine of unknown state.
func (c *Converter) endCarried(g *goroutine, t exptrace.Time) error {
	if err := c.advance(t); err != nil {
		return err
	}
	if err := c.unblocked(g, c.last); err != nil {
		return err
	}
	g.state = exptrace.GoUndetermined
	return nil
}

// sweepCarried ends the blocks still carried when every live goroutine has
// been restated: their goroutines exited in the gap.
func (c *Converter) sweepCarried(t exptrace.Time) error {
	for i := range c.gs {
		g := &c.gs[i]
		if !g.carried {
			continue
		}
		id := g.id
		if err := c.endCarried(g, t); err != nil {
			return err
		}
		c.forget(id)
	}
	return nil
}

// sameBlock reports whether two stacks of a goroutine show the same wait:
// the same first function outside the runtime (a block stack and a status
// or dump stack of the same wait differ in the runtime frames on top).
func sameBlock(a, b []string) bool {
	return blockKey(a) == blockKey(b)
}

func blockKey(frames []string) string {
	for _, f := range frames {
		fn := frameFunc(f)
		if !strings.HasPrefix(fn, "runtime.") && !strings.HasPrefix(fn, "internal/") {
			return fn
		}
	}
	if len(frames) > 0 {
		return frameFunc(frames[len(frames)-1])
	}
	return ""
}

// GoID is a goroutine id.
type GoID = exptrace.GoID

// applyDump takes in a goroutine dump taken at time at (on the trace
// clock, not before LastTime). The dump names the origin of every
// goroutine. For a blocked one:
//
//   - a block the converter knows goes on: the dump confirms it at at and
//     gives it the dump's stack and reason if the trace gave none (its start
//     stays: the dump's minutes count from the first garbage collection
//     that saw the goroutine blocked, coarser than what the converter has);
//   - a goroutine the converter does not know has been blocked at least
//     since the current trace window began (it would have been seen
//     otherwise), or since at alone (solo), or longer if the dump's
//     minutes say so: a block from that lower bound.
//
// solo says no trace covers at (the tracer is paused or unavailable): the
// converter then knows only blocks, which the dump confirms or, when it no
// longer shows them, ends (reported at at, an upper bound of their end).
// Without solo, a goroutine the trace knows as running or runnable is
// blocking just now: the trace will show it.
//
// Ignored goroutines are left alone. ApplyDump writes TaskPending records
// only for blocks it ends; Refresh reports the long ones.
func (c *Converter) applyDump(at exptrace.Time, gs []live.Sampled, solo bool) error {
	if c.err != nil {
		return c.err
	}
	if c.closed {
		return ErrClosed
	}
	if solo {
		if !c.started {
			if err := c.advance(at); err != nil {
				return c.fail(err)
			}
		}
		c.gap(at)
	} else if err := c.advance(at); err != nil {
		return c.fail(err)
	}
	at = c.last
	inDump := make(map[GoID]bool, len(gs)) // blocked in the dump
	clear(c.origins)
	for i := range gs {
		s := &gs[i]
		inDump[s.ID] = s.Blocked
		j, known := c.index(s.ID)
		if !known {
			if !s.Blocked {
				// Its origin, for when the trace first shows it.
				if c.origins == nil {
					c.origins = make(map[GoID]origin)
				}
				c.origins[s.ID] = origin{entry: entryOf(s.Frames, creatorFunc(s.Creator)), creator: s.Creator}
				continue
			}
			g, _ := c.lookup(s.ID, NoStack)
			if g.ignored {
				continue
			}
			g.state = exptrace.GoWaiting
			if s.Reason == "syscall" {
				g.state = exptrace.GoSyscall
			}
			start := at
			if !solo {
				start = min(at, max(c.window, c.segBase))
			}
			c.startSampled(g, s, start, at)
			continue
		}
		g := &c.gs[j]
		if g.ignored {
			continue
		}
		if s.Creator != "" && g.creator == "" {
			c.setOrigin(g, "", s.Creator)
		}
		c.noteFrames(g, s.Frames)
		if !s.Blocked {
			continue
		}
		if !g.inBlock {
			continue // blocking just now: the trace will show it
		}
		if (g.carried || solo) && g.blockFrames != nil && !sameBlock(g.blockFrames, s.Frames) {
			// Blocked elsewhere than when last seen: that block ended.
			if err := c.unblocked(g, at); err != nil {
				return c.fail(err)
			}
			c.startSampled(g, s, at, at)
			continue
		}
		if g.blockFrames == nil && g.blockStack == NoStack {
			g.blockFrames = s.Frames
		}
		if g.blockReason == "" {
			g.blockReason = s.Reason
		}
		if g.carried {
			g.seen = at
		}
	}
	if solo {
		for i := range c.gs {
			g := &c.gs[i]
			if !g.inBlock || g.ignored || inDump[g.id] {
				continue
			}
			id := g.id
			if err := c.unblocked(g, at); err != nil {
				return c.fail(err)
			}
			c.forget(id)
		}
	}
	return nil
}

// startSampled starts g's block as a dump showed it at at: from start, or
// earlier if the dump's minutes say so (a lower bound either way).
func (c *Converter) startSampled(g *goroutine, s *live.Sampled, start, at exptrace.Time) {
	if s.Wait > 0 {
		start = min(start, at-exptrace.Time(s.Wait))
	}
	g.endBlock()
	g.inBlock = true
	g.blockStart = start
	g.blockReason = s.Reason
	g.blockFrames = s.Frames
	g.carried, g.seen = true, at
	if s.Creator != "" {
		c.setOrigin(g, "", s.Creator)
	}
	c.noteFrames(g, s.Frames)
}

// refresh reports again every block known to be in progress at the last
// event or dump that has lasted at least minAge (and the threshold) and
// has grown since it was last reported by an eighth of its age, or by
// step if more: a goroutine stuck for good has its age in the files, close
// to the truth, while the program runs, at a cost that falls as the block
// ages (about 8 records per doubling of its age). It returns the number
// of records written.
func (c *Converter) refresh(minAge, step time.Duration) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.closed {
		return 0, ErrClosed
	}
	if !c.started {
		return 0, nil
	}
	minAge = max(minAge, c.cfg.Threshold)
	n := 0
	for i := range c.gs {
		g := &c.gs[i]
		if !g.inBlock || g.ignored || (g.carried && g.seen != c.last) {
			continue // (a carried block is known only up to its last sighting)
		}
		age := time.Duration(c.last - g.blockStart)
		if age < minAge || age < g.nextReport {
			continue
		}
		if err := c.pending(g, c.last, age); err != nil {
			return n, c.fail(err)
		}
		g.nextReport = age + max(age/8, step)
		n++
	}
	return n, nil
}
