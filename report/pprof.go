package report

import (
	"io"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/dump"
)

// WritePendingProfile writes the analysis' blocks (Analyzer.PendingSamples)
// as a gzipped pprof profile shaped like Go's block profile: sample types
// contentions/count and delay/nanoseconds, one sample per stack and waker,
// the wait reason as the leaf frame and the waker's name as the label
// "waker" ("none" for a block that no wake in the records ended). A
// fleet's samples have the label "instance" too.
func WritePendingProfile(w io.Writer, samples []analyze.ProfileSample) error {
	return writeProfile(w, samples, "contentions", "count", "delay", "nanoseconds")
}

// WriteLatencyProfile writes the wake-to-run latencies
// (Analyzer.LatencySamples) as a gzipped pprof profile: sample types
// wakes/count and delay/nanoseconds, by the woken goroutine's stack, with
// the waker's name as the label "waker" (and a fleet's, "instance").
func WriteLatencyProfile(w io.Writer, samples []analyze.ProfileSample) error {
	return writeProfile(w, samples, "wakes", "count", "delay", "nanoseconds")
}

func writeProfile(w io.Writer, samples []analyze.ProfileSample, t0, u0, t1, u1 string) error {
	b := newProfile(t0, u0, t1, u1)
	for _, s := range samples {
		b.sample(s.Stack, s.Waker, s.Instance, s.Count, s.NS)
	}
	return b.p.Write(w)
}

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
	if strings.HasPrefix(frame, "[") {
		// A pseudo-frame is a name, whole: "[cpu] main.main.func1 created
		// at main.go:84" is not a frame at main.go:84.
		f = dump.Frame{Func: frame}
	}
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

func (b *profileBuilder) sample(frames []string, waker, instance string, v0, v1 int64) {
	s := &profile.Sample{Value: []int64{v0, v1}, Label: map[string][]string{"waker": {waker}}}
	if instance != "" {
		s.Label["instance"] = []string{instance}
	}
	for _, f := range frames {
		s.Location = append(s.Location, b.loc(f))
	}
	b.p.Sample = append(b.p.Sample, s)
}
