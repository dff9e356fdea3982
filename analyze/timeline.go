package analyze

import (
	"cmp"
	"slices"
)

// timeline collects the polls and wakes of one window in the single pass:
// either the window asked for, or (by default) the window of cfg.WindowLen
// with the most wakes, found by sliding it in steps of a tenth of its
// length and keeping a copy of the best one seen.
type timeline struct {
	cfg   *Config
	fixed bool
	start int64 // current window (sliding) or the fixed one
	len   int64
	step  int64
	begun bool

	polls []tlPoll
	wakes []tlWake
	nwake int64 // wakes in the current window (also those not kept)
	over  bool

	best      tlSnap
	bestCount int64
	have      bool
}

// dequeCap bounds what the sliding window holds; past it, the window's
// copy is marked truncated.
const dequeFactor = 8

func (tl *timeline) init(cfg *Config) {
	tl.cfg = cfg
	if cfg.WindowSet {
		tl.fixed = true
		tl.start, tl.len = int64(cfg.WindowStart), int64(cfg.WindowEnd-cfg.WindowStart)
		tl.best.start, tl.best.end = tl.start, tl.start+tl.len
		return
	}
	tl.len = int64(cfg.WindowLen)
	tl.step = max(tl.len/10, 1)
}

func (tl *timeline) limit() int {
	if tl.fixed {
		return tl.cfg.TimelineMax
	}
	return tl.cfg.TimelineMax * dequeFactor
}

// advance moves the sliding window so that it holds t, evaluating every
// window that ends before t.
func (tl *timeline) advance(a *Analyzer, t int64) {
	if tl.fixed {
		return
	}
	if !tl.begun {
		tl.begun = true
		tl.start = t - t%tl.step
		return
	}
	for t >= tl.start+tl.len {
		tl.evaluate(a)
		next := tl.start + tl.step
		if len(tl.wakes) == 0 && len(tl.polls) == 0 && !a.anyRunning() {
			// Nothing held: jump to the window that holds t.
			next = max(next, t-t%tl.step-tl.len+tl.step)
		}
		tl.start = next
		// Both lists are in time order (wakes by time, polls by end): drop
		// what the window left from the front.
		i := 0
		for i < len(tl.wakes) && tl.wakes[i].t < tl.start {
			i++
		}
		tl.nwake -= int64(i)
		if i > 0 {
			tl.wakes = tl.wakes[:copy(tl.wakes, tl.wakes[i:])]
		}
		j := 0
		for j < len(tl.polls) && tl.polls[j].end <= tl.start {
			j++
		}
		if j > 0 {
			tl.polls = tl.polls[:copy(tl.polls, tl.polls[j:])]
		}
		if tl.nwake < int64(len(tl.wakes)) {
			tl.nwake = int64(len(tl.wakes))
		}
		if len(tl.wakes) < tl.limit() && len(tl.polls) < tl.limit() {
			tl.over = false
		}
	}
}

func (tl *timeline) evaluate(a *Analyzer) {
	if tl.have && tl.nwake <= tl.bestCount {
		return
	}
	tl.have = true
	tl.bestCount = tl.nwake
	tl.best = tl.snapshotInto(a, tl.best, tl.start, tl.start+tl.len)
}

// tlPoll and tlWake are the timeline's items before naming (a goroutine's
// name may only be known after it is first seen).
type tlPoll struct {
	worker     int
	start, end int64
	task       int32
}

type tlWake struct {
	t            int64
	waker, woken int32
	target       int
}

type tlSnap struct {
	start, end int64
	polls      []tlPoll
	wakes      []tlWake
	truncated  bool
}

func (tl *timeline) snapshot(a *Analyzer, from, to int64) tlSnap {
	return tl.snapshotInto(a, tlSnap{}, from, to)
}

// snapshotInto copies the window's items into s's buffers, as they are:
// clipping, bounding and sorting wait for bound, at the end, since the
// best window may change many times.
func (tl *timeline) snapshotInto(a *Analyzer, s tlSnap, from, to int64) tlSnap {
	s.start, s.end, s.truncated = from, to, tl.over
	s.polls = append(s.polls[:0], tl.polls...)
	for wi := range a.workers { // polls still running
		w := &a.workers[wi]
		if w.running && w.runStart < to {
			s.polls = append(s.polls, tlPoll{worker: wi, start: w.runStart, end: to, task: w.runTask})
		}
	}
	s.wakes = append(s.wakes[:0], tl.wakes...)
	return s
}

// bound clips the snapshot to its window and to cfg.TimelineMax items of
// each kind: the longest polls, the first wakes.
func (tl *timeline) bound(s tlSnap) tlSnap {
	from, to, max := s.start, s.end, tl.cfg.TimelineMax
	polls := s.polls[:0]
	for _, p := range s.polls {
		if p.end > from && p.start < to {
			p.start, p.end = clip(p.start, from, to), clip(p.end, from, to)
			polls = append(polls, p)
		}
	}
	s.polls = polls
	if len(s.polls) > max {
		slices.SortStableFunc(s.polls, func(x, y tlPoll) int {
			return cmp.Compare(y.end-y.start, x.end-x.start)
		})
		s.polls = s.polls[:max]
		s.truncated = true
	}
	wakes := s.wakes[:0]
	for _, w := range s.wakes {
		if w.t >= from && w.t < to {
			if len(wakes) == max {
				s.truncated = true
				break
			}
			wakes = append(wakes, w)
		}
	}
	s.wakes = wakes
	return s
}

// named renders a snapshot with the goroutines' names as known at the end.
func (a *Analyzer) named(s tlSnap) Timeline {
	out := Timeline{StartNS: s.start, EndNS: s.end, Truncated: s.truncated,
		Polls: make([]TimelinePoll, 0, len(s.polls)), Wakes: make([]TimelineWake, 0, len(s.wakes))}
	slices.SortStableFunc(s.polls, func(x, y tlPoll) int {
		if x.worker != y.worker {
			return x.worker - y.worker
		}
		return cmp.Compare(x.start, y.start)
	})
	for _, p := range s.polls {
		out.Polls = append(out.Polls, TimelinePoll{Worker: p.worker, StartNS: p.start, EndNS: p.end,
			Task: a.taskID(p.task), Name: a.name(p.task)})
	}
	for _, w := range s.wakes {
		out.Wakes = append(out.Wakes, TimelineWake{TS: w.t, Waker: a.name(w.waker), Woken: a.name(w.woken),
			WakerTask: a.taskID(w.waker), WokenTask: a.taskID(w.woken), TargetWorker: w.target})
	}
	return out
}

func clip(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

func (tl *timeline) addWake(a *Analyzer, t int64, waker, woken int32, target int) {
	tl.advance(a, t)
	if tl.fixed && (t < tl.start || t >= tl.start+tl.len) {
		return
	}
	tl.nwake++
	if len(tl.wakes) >= tl.limit() {
		tl.over = true
		return
	}
	tl.wakes = append(tl.wakes, tlWake{t: t, waker: waker, woken: woken, target: target})
}

func (tl *timeline) addPoll(a *Analyzer, worker int, start, end int64, ti int32) {
	tl.advance(a, end)
	if end <= tl.start || (tl.fixed && start >= tl.start+tl.len) {
		return
	}
	if len(tl.polls) >= tl.limit() {
		tl.over = true
		return
	}
	tl.polls = append(tl.polls, tlPoll{worker: worker, start: start, end: end, task: ti})
}

// finish evaluates the last window.
func (tl *timeline) finish(a *Analyzer, end int64) Timeline {
	if tl.fixed {
		return a.named(tl.bound(tl.snapshot(a, tl.start, tl.start+tl.len)))
	}
	if tl.begun {
		tl.evaluate(a)
		tl.best.end = min(tl.best.end, max(end, tl.best.start))
	}
	return a.named(tl.bound(tl.best))
}

func (a *Analyzer) anyRunning() bool {
	for i := range a.workers {
		if a.workers[i].running {
			return true
		}
	}
	return false
}
