package analyze

import (
	"cmp"
	"slices"
)

// groupStack is a group's stack for a profile: the wait reason as a
// leaf-side pseudo-frame, then the frames, innermost first.
func (a *Analyzer) groupStack(gi int32) []string {
	g := &a.groups[gi]
	reason := g.reason
	if reason == "" {
		reason = "unknown"
	}
	stk := make([]string, 0, len(g.frames)+1)
	stk = append(stk, "["+reason+"]")
	return append(stk, g.frames...)
}

// ProfileSample is one sample of a profile of the analysis (package
// report writes them as pprof): a stack, leaf first, the waker's name, a
// count and a total in nanoseconds.
type ProfileSample struct {
	// Stack is the wait reason as a leaf-side pseudo-frame ("[select]"),
	// then the frames, innermost first, "FUNC FILE:LINE" as in the
	// records; or one frame "[woken] FUNC" when the records have no block
	// for a woken goroutine. Shared: do not modify.
	Stack []string
	// Block says Stack is a block's: Stack[0] the reason's pseudo-frame,
	// the rest its frames (false: one pseudo-frame, "[woken] FUNC").
	Block bool
	Waker string
	Count int64
	NS    int64
	// Instance is, in a fleet's profile (package fleet), the instance
	// the sample is of; a file's leaves it empty.
	Instance string
}

// PendingSamples returns the blocks summed by stack and waker, in the
// order first seen: the samples of a profile shaped like Go's block
// profile (the waker is "none" for a block that no wake in the records
// ended). Call after Report.
func (a *Analyzer) PendingSamples() []ProfileSample {
	type key struct {
		group int32
		waker string
	}
	// The groups' wakers in the order of their first blocks (groupsum.go).
	type ws struct {
		group, waker int32
		*wakerSum
	}
	var all []ws
	for gi := range a.groups {
		a.groups[gi].sum.eachWaker(func(wi int32, w *wakerSum) { all = append(all, ws{int32(gi), wi, w}) })
	}
	slices.SortFunc(all, func(x, y ws) int { return cmp.Compare(x.first, y.first) })
	var sums sampleSums[key]
	for _, w := range all {
		k := key{w.group, "none"}
		if w.waker >= 0 {
			k.waker = a.fn(w.waker)
		}
		sums.add(k, w.n, w.ns)
	}
	out := make([]ProfileSample, 0, len(sums.order))
	for _, k := range sums.order {
		out = append(out, ProfileSample{Stack: a.groupStack(k.group), Block: true, Waker: k.waker, Count: sums.m[k].n, NS: sums.m[k].ns})
	}
	return out
}

// sampleSums adds up a profile's samples by key (stack and label), the
// keys in the order first seen.
type sampleSums[K comparable] struct {
	m     map[K]*sampleSum
	order []K
}

type sampleSum struct{ n, ns int64 }

func (s *sampleSums[K]) add(k K, n, ns int64) {
	sum := s.m[k]
	if sum == nil {
		if s.m == nil {
			s.m = map[K]*sampleSum{}
		}
		sum = &sampleSum{}
		s.m[k] = sum
		s.order = append(s.order, k)
	}
	sum.n += n
	sum.ns += ns
}

// LatencySamples returns the wake-to-run latencies summed by the woken
// goroutine's stack (the block it was woken from, reason first, when the
// records have it; otherwise a frame naming the goroutine's entry) and the
// waker's name, sorted by stack group, woken and waker. Call after Report.
func (a *Analyzer) LatencySamples() []ProfileSample {
	type key struct {
		group int32
		woken string
		waker string
	}
	var sums sampleSums[key]
	for lk, la := range a.latSum {
		var k key
		if lk.pair >= 0 {
			p := a.pairSk.at(lk.pair)
			k = key{group: lk.group, waker: a.fn(p.waker)}
			if lk.group < 0 {
				k.woken = a.fn(p.woken)
			}
		} else { // a sum of pairs folded (end.go)
			s := &a.sums[-1-lk.pair]
			k = key{group: lk.group, waker: a.sideName(s.key[0])}
			if lk.group < 0 {
				k.woken = a.sideName(s.key[1])
			}
		}
		sums.add(k, la.n, la.us*1000)
	}
	order := sums.order
	slices.SortFunc(order, func(x, y key) int {
		if c := cmp.Compare(x.group, y.group); c != 0 {
			return c
		}
		if c := cmp.Compare(x.woken, y.woken); c != 0 {
			return c
		}
		return cmp.Compare(x.waker, y.waker)
	})
	out := make([]ProfileSample, 0, len(order))
	for _, k := range order {
		var stk []string
		if k.group >= 0 {
			stk = a.groupStack(k.group)
		} else {
			stk = []string{"[woken] " + k.woken}
		}
		out = append(out, ProfileSample{Stack: stk, Block: k.group >= 0, Waker: k.waker, Count: sums.m[k].n, NS: sums.m[k].ns})
	}
	return out
}

// GroupSamples returns the pending profile's samples from a report's wait
// groups alone, by stack and waker, for a report that was not made by an
// Analyzer (the fleet's, built by ClickHouse's GROUP BY): each group's
// wakers, and the rest of its blocks as waker "none". It is
// PendingSamples' profile, coarsened to the groups the report lists.
func GroupSamples(r *Report) []ProfileSample {
	out := make([]ProfileSample, 0, len(r.Pending))
	for _, g := range r.Pending {
		reason := g.Reason
		if reason == "" {
			reason = "unknown"
		}
		stk := append([]string{"[" + reason + "]"}, g.Frames...)
		n, ns := int64(g.Count), g.TotalNS
		for _, w := range g.Wakers {
			out = append(out, ProfileSample{Stack: stk, Block: true, Waker: w.Name, Count: int64(w.Count), NS: w.TotalNS})
			n -= int64(w.Count)
			ns -= w.TotalNS
		}
		if n > 0 || ns > 0 {
			out = append(out, ProfileSample{Stack: stk, Block: true, Waker: "none", Count: max(n, 0), NS: max(ns, 0)})
		}
	}
	return out
}
