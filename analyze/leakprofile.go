package analyze

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/wakeshim/wakeshim/dump"
)

// LeakProfile is one goroutineleak profile of the program the records
// come from: the Go runtime's proof of leaks. To take it the runtime runs
// a full GC cycle that marks from the live roots only, not from the
// stacks of blocked goroutines; a goroutine blocked on a channel or sync
// object that nothing reachable refers to can never be woken, and is
// reported leaked (docs/report.md, "Verdicts").
type LeakProfile struct {
	Path string
	Dump *dump.Dump
	// Process is the records' process run the profile belongs to (0 for
	// the first; see records.Event.Process).
	Process int
}

// leakState is the suffix a debug=2 dump prints after the wait reason of
// a goroutine that the leak-detecting GC found leaked.
const leakState = " (leaked)"

// NewLeakProfile checks that d can be a goroutineleak profile and returns
// it: a debug=0 or debug=1 dump must say it is one (a plain goroutine
// profile would call every goroutine leaked); a debug=2 dump looks the
// same either way and is taken as given.
func NewLeakProfile(path string, d *dump.Dump, process int) (*LeakProfile, error) {
	if d.Form != dump.FormDebug2 && d.Profile != "goroutineleak" {
		kind := d.Profile
		if kind == "" {
			kind = "unnamed"
		}
		return nil, fmt.Errorf("%s: a %s profile (%s), not a goroutineleak profile: only the goroutineleak profile (/debug/pprof/goroutineleak, pprof.Lookup(\"goroutineleak\")) proves leaks", path, kind, d.Form)
	}
	return &LeakProfile{Path: path, Dump: d, Process: process}, nil
}

// ReadLeakProfile reads a goroutineleak profile in any form package dump
// reads (pb.gz with package dump/pprofdump linked, debug=1, debug=2).
func ReadLeakProfile(path string, process int) (*LeakProfile, error) {
	d, err := dump.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return NewLeakProfile(path, d, process)
}

// stackKey is what a blocked stack is matched on between the records and
// a dump: the functions of its normalised frames (dump.Normalize), which
// both sources agree on. Lines are left out: the tracer reports the call's
// return address for outer frames, which may fall on another line.
func stackKey(frames []dump.Frame) string {
	var b strings.Builder
	for i, f := range dump.Normalize(frames) {
		if i > 0 {
			b.WriteByte('<')
		}
		b.WriteString(f.Func)
	}
	return b.String()
}

// recordStackKey is stackKey of a group's frames ("FUNC FILE:LINE").
func recordStackKey(frames []string) string {
	fs := make([]dump.Frame, 0, len(frames))
	for _, s := range frames {
		f, _ := dump.ParseFrame(s)
		fs = append(fs, f)
	}
	return stackKey(fs)
}

// leakIndex is what the profiles name: leaked goroutines by id (debug=2)
// and leaked stacks with their counts (debug=0, debug=1).
type leakIndex struct {
	byID    map[[2]uint64]leakEntry // process, goroutine id
	byStack map[[2]string]*stackLeaks
	ids     map[[2]uint64]bool // every goroutine a debug=2 profile lists
	files   []string
	named   int // leaked goroutines named in all
}

type leakEntry struct {
	file, form, state, key string
}

type stackLeaks struct {
	file, form string
	count      int
	used       int
}

func newLeakIndex(profiles []*LeakProfile) *leakIndex {
	ix := &leakIndex{byID: map[[2]uint64]leakEntry{}, byStack: map[[2]string]*stackLeaks{}, ids: map[[2]uint64]bool{}}
	for _, p := range profiles {
		ix.files = append(ix.files, p.Path)
		for _, g := range p.Dump.Goroutines {
			key := stackKey(g.Frames)
			if g.HasID {
				ix.ids[[2]uint64{uint64(p.Process), g.ID}] = true
				if !strings.HasSuffix(g.State, leakState) {
					continue
				}
				k := [2]uint64{uint64(p.Process), g.ID}
				if _, dup := ix.byID[k]; !dup {
					ix.named++
				}
				ix.byID[k] = leakEntry{file: p.Path, form: p.Dump.Form.String(), state: strings.TrimSuffix(g.State, leakState), key: key}
				continue
			}
			k := [2]string{fmt.Sprint(p.Process), key}
			s := ix.byStack[k]
			if s == nil {
				s = &stackLeaks{file: p.Path, form: p.Dump.Form.String()}
				ix.byStack[k] = s
			}
			// Several profiles of one process name the same leaked
			// goroutines again: a leak is forever, so the most any one
			// profile names is how many there are.
			if s.file != p.Path {
				s.count = max(s.count, g.Count)
				continue
			}
			s.count += g.Count
		}
	}
	for _, s := range ix.byStack {
		ix.named += s.count
	}
	return ix
}

// IsLeakProfileName reports whether a file in a directory of records is a
// goroutineleak profile by its name: NAME.leak.txt, NAME.leak.pb.gz, or
// any name with "goroutineleak" in it (the shim's and attach's files,
// docs/shim.md).
func IsLeakProfileName(name string) bool {
	return strings.HasSuffix(name, ".leak.txt") || strings.HasSuffix(name, ".leak.pb.gz") || strings.Contains(name, "goroutineleak")
}

// looksLikeDump reports whether the start of a file is a goroutine dump
// rather than records or a trace: gzip (records and traces never are),
// a "... profile: total N" header, or a debug=2 "goroutine N [" line first.
func looksLikeDump(head []byte) bool {
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		return true
	}
	s := strings.TrimLeft(string(head), " \t\r\n")
	if strings.HasPrefix(s, "goroutineleak profile:") || strings.HasPrefix(s, "goroutine profile:") {
		return true
	}
	if rest, ok := strings.CutPrefix(s, "goroutine "); ok {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		return i > 0 && i < len(rest) && rest[i] == ' '
	}
	return false
}

// SplitInputs separates goroutineleak profiles from the records inputs of
// `wakeshim report INPUT...`: a file whose content is a goroutine dump is
// a profile; a directory stays a records input and the profiles in it
// (IsLeakProfileName) are added.
func SplitInputs(paths []string) (inputs, leaks []string, err error) {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if fi.IsDir() {
			inputs = append(inputs, p)
			ents, err := os.ReadDir(p)
			if err != nil {
				return nil, nil, err
			}
			for _, e := range ents {
				if e.Type().IsRegular() && IsLeakProfileName(e.Name()) {
					leaks = append(leaks, filepath.Join(p, e.Name()))
				}
			}
			continue
		}
		head, err := readHead(p, 64)
		if err != nil {
			return nil, nil, err
		}
		if looksLikeDump(head) {
			leaks = append(leaks, p)
		} else {
			inputs = append(inputs, p)
		}
	}
	return inputs, leaks, nil
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return buf[:m], nil
}
