// Package dumpdiff compares wakeshim records with a goroutine dump of the
// same time: which blocked stacks the records explain (how long those
// goroutines were pending, who woke them, when), which blocked goroutines
// of the dump the records never saw pending, and which pending stacks no
// longer appear in the dump. The command is `wakeshim dumpdiff`
// (cmd/wakeshim/dumpdiffcmd: flags and exit codes); docs/dumpdiff.md
// describes the comparison and its JSON.
//
// RECORDS are v9 files (the segments of one run, in order) or their JSONL
// rendering; the dump is any form package dump parses (debug=0 protobuf
// through dump/pprofdump, debug=1 or debug=2 text, a panic traceback).
package dumpdiff

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/dump"
)

// Options are the settings of a comparison. The zero value compares whole
// stacks by function, leaves out runtime-only goroutines, shows no wakers
// and has no window.
type Options struct {
	// Width is the width of the table (WriteText); 0: no limit.
	Width int
	// Verbose adds each group in full after the table: stack, goroutine
	// ids, created-by locations.
	Verbose bool
	// Lines compares frames by file:line too, not only by function.
	Lines bool
	// System keeps goroutines whose stack is all runtime frames.
	System bool
	// Depth compares the innermost Depth frames of the normalised stacks
	// (0: all).
	Depth int
	// Wakers is how many of each group's top wakers are shown.
	Wakers int
	// Window, if set (ParseWindow), keeps only the records pending within
	// it.
	Window Window
}

// Window is a time range on the records clock, in µs. A bound is relative
// to the start of the records, or to their end when negative (fromEnd).
type Window struct {
	set              bool
	from, to         int64
	hasFrom, hasTo   bool
	fromEnd, toEnd   bool
	fromText, toText string
}

// ParseWindow parses "FROM:TO", each a Go duration (or empty for an open
// end); a negative duration counts back from the end of the records.
func ParseWindow(s string) (Window, error) {
	w := Window{set: true}
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return w, fmt.Errorf("want FROM:TO, e.g. 2s:5s, -30s: or :1m")
	}
	parse := func(s string) (int64, bool, bool, error) {
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, false, false, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, false, false, err
		}
		return d.Microseconds(), true, strings.HasPrefix(s, "-"), nil
	}
	var err error
	if w.from, w.hasFrom, w.fromEnd, err = parse(a); err != nil {
		return w, err
	}
	if w.to, w.hasTo, w.toEnd, err = parse(b); err != nil {
		return w, err
	}
	w.fromText, w.toText = strings.TrimSpace(a), strings.TrimSpace(b)
	if !w.hasFrom && !w.hasTo {
		return w, fmt.Errorf("want at least one of FROM and TO")
	}
	if w.fromEnd == w.toEnd && w.hasFrom && w.hasTo && w.from > w.to {
		return w, fmt.Errorf("FROM is after TO")
	}
	return w, nil
}

func (w Window) needsEnd() bool { return w.fromEnd || w.toEnd }

// resolve returns the window as absolute bounds on the records clock,
// given its end.
func (w Window) resolve(end int64) Window {
	r := w
	if !w.hasFrom {
		r.from = -1 << 62
	} else if w.fromEnd {
		r.from = end + w.from
	}
	if !w.hasTo {
		r.to = 1 << 62
	} else if w.toEnd {
		r.to = end + w.to
	}
	return r
}

func (w Window) String() string {
	if !w.set {
		return "all"
	}
	return w.fromText + ":" + w.toText
}

// Compare reads the records files (in order, as one run) and compares
// them with the dump d, read from dumpName (the name the report gives it).
// The warnings are about the records (a file cut short, ...): the
// comparison still ran.
func Compare(files []string, d *dump.Dump, dumpName string, opt Options) (rep *Report, warnings []string, err error) {
	rs, err := readRecords(files, &opt)
	if err != nil {
		return nil, nil, err
	}
	c := compare(rs, d, &opt)
	return buildReport(rs, d, dumpName, c, &opt), rs.warnings, nil
}

// fmtUS formats microseconds compactly, with about three significant
// digits: 850µs, 12.3ms, 1.52s, 2m3s.
func fmtUS(us int64) string {
	d := time.Duration(us) * time.Microsecond
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(us, 10) + "µs"
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(us)/1e3, 'f', 2, 64) + "ms"
	case d < 100*time.Millisecond:
		return strconv.FormatFloat(float64(us)/1e3, 'f', 1, 64) + "ms"
	case d < time.Second:
		return strconv.FormatFloat(float64(us)/1e3, 'f', 0, 64) + "ms"
	case d < 10*time.Second:
		return strconv.FormatFloat(float64(us)/1e6, 'f', 2, 64) + "s"
	case d < time.Minute:
		return strconv.FormatFloat(float64(us)/1e6, 'f', 1, 64) + "s"
	}
	return d.Round(time.Second).String()
}
