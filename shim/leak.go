package shim

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/dump"
)

// leakGap is how many times the last profile's cost the next one waits at
// least: a profile that took 50ms (a full GC of a large heap) is taken at
// most once a second, whatever Config.LeakProfile says, 5% of the time.
const leakGap = 20

// firstLeak is when the first profile is due at the latest.
const firstLeak = 10 * time.Second

// leaker takes the goroutineleak profiles (Config.LeakProfile): the Go
// runtime's proof that a blocked goroutine can never be woken. The
// profile is not an input of the converter (wakeshim report reads it
// beside the records and matches it by goroutine id and stack), so it is
// only timed, taken and written by the worker, at its housekeeping.
type leaker struct {
	prof *pprof.Profile // nil: none in this Go, or off
	next time.Time
	buf  bytes.Buffer
}

// newLeaker looks the profile up. Absent (Go 1.26 without
// GOEXPERIMENT=goroutineleakprofile), a LeakProfile asked for is reported
// once; the default steps aside silently.
func newLeaker(s *Session) leaker {
	if s.cfg.LeakProfile < 0 {
		return leaker{}
	}
	p := pprof.Lookup("goroutineleak")
	if p == nil && s.cfg.leakSet {
		s.reportOnce("leak", "no goroutineleak profile in %s (it is built in from Go 1.27; Go 1.26 needs GOEXPERIMENT=goroutineleakprofile): the records carry no proof of leaks", runtime.Version())
	}
	// The first one comes early: a short run, or a server that ends in
	// os.Exit before the first interval, still leaves its proof.
	return leaker{prof: p, next: s.start.Add(min(s.cfg.LeakProfile, firstLeak))}
}

// takeLeak takes a profile when one is due (or final, at Stop) and keeps
// it beside the current records file. Nothing is taken before a records
// file is open: the profile would have nothing to go beside.
func (w *worker) takeLeak(now time.Time, final bool) {
	lk := &w.leak
	if lk.prof == nil || w.failed || !w.out.Open() || (!final && now.Before(lk.next)) {
		return
	}
	t0 := time.Now()
	lk.buf.Reset()
	err := lk.prof.WriteTo(&lk.buf, 2)
	cost := time.Since(t0)
	w.stats.LeakProfiles++
	w.stats.LeakTime += cost
	// The GC's own CPU runs on the host's Ps; the wall time the profile
	// took stands for it (docs/shim.md).
	w.acct.Charge(cost)
	lk.next = t0.Add(max(w.s.cfg.LeakProfile, leakGap*cost))
	if err != nil {
		w.s.reportOnce("leakwrite", "goroutineleak profile: %v", err)
		return
	}
	if err := w.out.WriteLeak(lk.buf.Bytes()); err != nil {
		w.out.Fail(err)
	}
	if byEntry, ids, err := leakedByEntry(lk.buf.Bytes()); err == nil {
		w.s.tracker.SetLeaked(byEntry, ids)
	} else {
		w.s.reportOnce("leakparse", "goroutineleak profile: %v (no leaked goroutines in the metrics)", err)
	}
	if lk.buf.Cap() > 1<<20 && lk.buf.Len() < lk.buf.Cap()/4 {
		lk.buf = bytes.Buffer{} // do not keep a big buffer for a shrunk program
	}
}

// leakedByEntry counts the goroutines a goroutineleak profile (debug=2:
// every goroutine, the leaked ones with " (leaked)" after their state)
// names leaked, by entry function: the function its go statement started
// (the outermost frame), as the metrics name them; and their ids.
func leakedByEntry(b []byte) (map[string]int64, []uint64, error) {
	d, err := dump.ParseBytes(b, "goroutineleak profile")
	if err != nil {
		return nil, nil, err
	}
	m := map[string]int64{}
	var ids []uint64
	for i := range d.Goroutines {
		g := &d.Goroutines[i]
		if !strings.HasSuffix(g.State, " (leaked)") || len(g.Frames) == 0 {
			continue
		}
		outer := g.Frames[len(g.Frames)-1].Func
		if (outer == "runtime.goexit" || outer == "runtime.main") && len(g.Frames) > 1 {
			outer = g.Frames[len(g.Frames)-2].Func
		}
		m[dump.CleanFunc(outer)]++
		if g.HasID {
			ids = append(ids, g.ID)
		}
	}
	return m, ids, nil
}
