package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/wakeshim/wakeshim/records"
)

// maxPauses bounds the stop-the-world pauses the analysis keeps (40
// bytes each: 5 MB at most). A GC-heavy program stops the world twice
// per cycle, a few hundred times a second at worst: a minute of such a
// trace stays within it. Past it, the pauses are still counted and
// still explain slow wakes as they come; only a herd after one of them
// is no longer told from a real one (pauses.dropped).
const maxPauses = 1 << 17

// pause is a stop-the-world pause of the traced program.
type pause struct {
	start, end int64
	reason     string
	process    int
}

// pauses is what the analysis keeps of the pauses: in the order they
// were given (by their end, which the records follow).
type pauses struct {
	list    []pause
	count   int64
	dropped int64
	longest int64
}

// Pause takes a stop-the-world pause of the traced program, in
// time-line order with the records (records.Options.Pause; Analyze sets
// it). The burst of wakes right after a pause is its effect, not a
// thundering herd, and a wake that waited through one waited for it.
func (a *Analyzer) Pause(p *records.Pause) {
	ps := &a.pauses
	ps.count++
	ps.longest = max(ps.longest, p.Duration)
	if n := len(ps.list); n == maxPauses {
		// Drop the older half (at once: the cost stays a copy per
		// pause), keeping the latest for the slow wakes' overlap.
		ps.dropped += int64(n / 2)
		ps.list = ps.list[:copy(ps.list, ps.list[n/2:])]
	}
	ps.list = append(ps.list, pause{start: p.T, end: p.T + p.Duration, reason: p.Reason, process: p.Process})
}

// pauseOverlap returns how much of [from, to] of process pr stopped the
// world, and the longest pause within it (-1: none). Pauses come by
// their end, before the records after it: walking back from the
// latest, those that ended before from are left.
func (a *Analyzer) pauseOverlap(pr int, from, to int64) (int64, int) {
	var sum int64
	best := -1
	l := a.pauses.list
	for i := len(l) - 1; i >= 0 && l[i].end > from; i-- {
		p := &l[i]
		if p.process != pr || p.start >= to {
			continue
		}
		sum += min(p.end, to) - max(p.start, from)
		if best < 0 || p.end-p.start > l[best].end-l[best].start {
			best = i
		}
	}
	return sum, best
}

// releasedBy returns the pause that released a herd of process pr that
// began at t, if one did: the herd began inside the pause, or after its
// end by no more than the pause lasted (and HerdWindow).
//
// Inside: the runtime restarts the world by taking the goroutines the
// network poller readied during the pause and making them runnable
// before it traces the pause's end (startTheWorldWithSema), so these
// wakes fall in the pause, made by the goroutine that stopped the world.
// Right after: what piled up during the pause (responses on a
// connection, timers) is worked off in a burst about as long as the
// pause; a herd later than that is the program's own.
func (a *Analyzer) releasedBy(pr int, t int64) (pause, bool) {
	l := a.pauses.list
	// The first pause that ended at or after t - HerdWindow.
	win := int64(a.cfg.HerdWindow)
	i, _ := slices.BinarySearchFunc(l, t-win, func(p pause, t int64) int { return cmp.Compare(p.end, t) })
	for ; i < len(l) && l[i].start <= t; i++ {
		p := l[i]
		if p.process == pr && t-p.end <= min(win, p.end-p.start) {
			return p, true
		}
	}
	return pause{}, false
}

// pauseText names a pause as the runtime's reason says what stopped the
// world: "a 12ms GC stop-the-world (sweep termination)", "a 3ms
// stop-the-world of the tracer (start trace)".
func pauseText(p pause) string {
	d := FmtNS(p.end - p.start)
	switch r := p.reason; {
	case strings.HasPrefix(r, "GC "):
		return fmt.Sprintf("a %s GC stop-the-world (%s)", d, strings.TrimPrefix(r, "GC "))
	case r == "start trace" || r == "stop trace":
		return fmt.Sprintf("a %s stop-the-world of the tracer (%s)", d, r)
	default:
		return fmt.Sprintf("a %s stop-the-world (%s)", d, r)
	}
}
