// Package pprofdump reads the pprof protobuf form (debug=0) of goroutine
// profiles for package dump. Import it for its side effect:
//
//	import _ "github.com/wakeshim/wakeshim/dump/pprofdump"
//
// Its init registers the parser with dump.RegisterProto; dump.Parse,
// dump.ParseBytes and dump.ReadFile then read gzip'd and raw protobuf
// dumps.
//
// It is a package of its own, in the manner of image.RegisterFormat and
// database/sql drivers, because the parser needs
// github.com/google/pprof/profile, whose package initialisation alone
// makes over a thousand allocations (about 150 KB). Package dump is linked
// into every program that imports the shim (its sampler parses the debug=2
// text of runtime.Stack), and such a program must not allocate at init
// while the shim is off; only programs that read protobuf dumps, such as
// cmd/dumpdiff, import this package.
package pprofdump

import (
	"fmt"
	"time"

	"github.com/google/pprof/profile"
	"github.com/wakeshim/wakeshim/dump"
)

func init() { dump.RegisterProto(parseProto) }

func errorf(file string, line int, format string, args ...any) *dump.Error {
	return &dump.Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// parseProfile is profile.ParseData, with a panic of the library on
// malformed input turned into an error.
func parseProfile(data []byte) (p *profile.Profile, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("malformed profile (%v)", r)
		}
	}()
	return profile.ParseData(data)
}

// parseProto parses data, an uncompressed protobuf profile; name is for
// errors. It is the parser registered with dump.RegisterProto.
func parseProto(data []byte, name string) (*dump.Dump, error) {
	p, err := parseProfile(data)
	if err != nil {
		// The Msg dump.RegisterProto asks for: dump rewords it for raw input.
		return nil, &dump.Error{File: name, Msg: "not a pprof protobuf profile", Err: err}
	}
	if len(p.SampleType) == 0 || (p.SampleType[0].Type != "goroutine" && p.SampleType[0].Type != "goroutineleak") {
		typ := "(none)"
		if len(p.SampleType) > 0 {
			typ = fmt.Sprintf("%s/%s", p.SampleType[0].Type, p.SampleType[0].Unit)
		}
		return nil, errorf(name, 0, "a pprof profile of sample type %s, not a goroutine profile", typ)
	}
	d := &dump.Dump{Form: dump.FormProto, Profile: p.SampleType[0].Type}
	if p.TimeNanos != 0 {
		d.Time = time.Unix(0, p.TimeNanos).UTC()
	}
	for i, s := range p.Sample {
		if len(s.Value) == 0 {
			return nil, errorf(name, 0, "sample %d has no value", i)
		}
		n := s.Value[0]
		if n < 0 || n > 1<<40 {
			return nil, errorf(name, 0, "sample %d has goroutine count %d", i, n)
		}
		g := dump.Goroutine{Count: int(n)}
		for _, loc := range s.Location {
			if loc == nil {
				continue
			}
			// Line[0] is the innermost of the functions inlined at this
			// location, the last one the caller they were inlined into.
			for _, ln := range loc.Line {
				if ln.Function == nil || ln.Function.Name == "" {
					continue
				}
				g.Frames = append(g.Frames, dump.Frame{Func: ln.Function.Name, File: ln.Function.Filename, Line: int(ln.Line)})
			}
		}
		for k, v := range s.Label {
			if len(v) > 0 {
				if g.Labels == nil {
					g.Labels = make(map[string]string)
				}
				g.Labels[k] = v[0]
			}
		}
		d.Total += g.Count
		d.Goroutines = append(d.Goroutines, g)
	}
	return d, nil
}
