package analyze

import (
	"cmp"
	"io"
	"slices"

	"github.com/google/pprof/profile"

	"github.com/wakeshim/wakeshim/dump"
)

// profileBuilder interns functions and locations of one profile.
type profileBuilder struct {
	p     *profile.Profile
	funcs map[string]*profile.Function
	locs  map[string]*profile.Location
}

func newProfile(t0, u0, t1, u1 string) *profileBuilder {
	return &profileBuilder{
		p: &profile.Profile{
			SampleType: []*profile.ValueType{{Type: t0, Unit: u0}, {Type: t1, Unit: u1}},
			PeriodType: &profile.ValueType{Type: t0, Unit: u0},
			Period:     1,
		},
		funcs: map[string]*profile.Function{}, locs: map[string]*profile.Location{},
	}
}

// loc returns the location of a frame string, "FUNC FILE:LINE" as in the
// records, or a pseudo-frame such as "[chan_receive]".
func (b *profileBuilder) loc(frame string) *profile.Location {
	if l, ok := b.locs[frame]; ok {
		return l
	}
	f, _ := dump.ParseFrame(frame)
	fk := f.Func + "\x00" + f.File
	fn, ok := b.funcs[fk]
	if !ok {
		fn = &profile.Function{ID: uint64(len(b.p.Function) + 1), Name: f.Func, SystemName: f.Func, Filename: f.File}
		b.p.Function = append(b.p.Function, fn)
		b.funcs[fk] = fn
	}
	l := &profile.Location{ID: uint64(len(b.p.Location) + 1), Line: []profile.Line{{Function: fn, Line: int64(f.Line)}}}
	b.p.Location = append(b.p.Location, l)
	b.locs[frame] = l
	return l
}

func (b *profileBuilder) sample(frames []string, waker string, v0, v1 int64) {
	s := &profile.Sample{Value: []int64{v0, v1}, Label: map[string][]string{"waker": {waker}}}
	for _, f := range frames {
		s.Location = append(s.Location, b.loc(f))
	}
	b.p.Sample = append(b.p.Sample, s)
}

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

// PendingProfile writes the blocks as a gzipped pprof profile shaped like
// Go's block profile: sample types contentions/count and
// delay/nanoseconds, one sample per stack and waker, the wait reason as
// the leaf frame and the waker's name as the label "waker" ("none" for a
// block that no wake in the records ended). Call after Report.
func (a *Analyzer) PendingProfile(w io.Writer) error {
	b := newProfile("contentions", "count", "delay", "nanoseconds")
	type key struct {
		group int32
		waker string
	}
	var sums sampleSums[key]
	for _, bl := range a.blocks {
		k := key{bl.group, "none"}
		if bl.waker >= 0 {
			k.waker = a.fn(bl.waker)
		}
		sums.add(k, 1, bl.dur)
	}
	for _, k := range sums.order {
		b.sample(a.groupStack(k.group), k.waker, sums.m[k].n, sums.m[k].ns)
	}
	return b.p.Write(w)
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

// LatencyProfile writes the wake-to-run latencies as a gzipped pprof
// profile: sample types wakes/count and delay/nanoseconds, by the woken
// goroutine's stack (the block it was woken from, reason first, when the
// records have it; otherwise a frame naming the goroutine's entry), with
// the waker's name as the label "waker". Call after Report.
func (a *Analyzer) LatencyProfile(w io.Writer) error {
	b := newProfile("wakes", "count", "delay", "nanoseconds")
	type key struct {
		group int32
		woken string
		waker string
	}
	var sums sampleSums[key]
	for lk, la := range a.latSum {
		p := &a.pairL[lk.pair]
		k := key{group: lk.group, waker: a.fn(p.waker)}
		if lk.group < 0 {
			k.woken = a.fn(p.woken)
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
	for _, k := range order {
		var stk []string
		if k.group >= 0 {
			stk = a.groupStack(k.group)
		} else {
			stk = []string{"[woken] " + k.woken}
		}
		b.sample(stk, k.waker, sums.m[k].n, sums.m[k].ns)
	}
	return b.p.Write(w)
}
