// Package dumpdiffcli is the dumpdiff command (cmd/dumpdiff, and
// `wakeshim dumpdiff`). It compares wakeshim records with a goroutine dump of the
// same time: which blocked stacks the records explain (how long those
// goroutines were pending, who woke them, when), which blocked goroutines
// of the dump the records never saw pending, and which pending stacks no
// longer appear in the dump.
//
//	dumpdiff [flags] RECORDS... DUMP
//
// RECORDS are v9 files (the segments of one run, in order) or their JSONL
// rendering; DUMP is a goroutine profile as net/http/pprof serves it at
// /debug/pprof/goroutine (debug=0 protobuf, debug=1 or debug=2 text; a
// panic or SIGQUIT traceback works as debug=2). See docs/dumpdiff.md.
//
// Exit status: 0 when the comparison ran, 1 on bad input or another
// error, 2 on a usage error, 3 when -fail-on matched a group.
package dumpdiffcli

// The test data (see docs/dumpdiff.md): records and dumps of
// testdata/prog, then the golden files, which also cover
// testdata/traces/preblocked.*.
//
//go:generate go run -trimpath ./testdata/prog -o testdata
//go:generate go test -run Golden -update .

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/dump"
	_ "github.com/wakeshim/wakeshim/dump/pprofdump" // DUMP may be debug=0 protobuf
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/cliflags"
)

const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	exitFail  = 3
)

const usageText = `usage: %s [flags] RECORDS... DUMP

Compares the TaskPending records of a wakeshim run with a goroutine dump of
the same time, stack by stack: which blocked stacks the records explain (how
long they were pending, who woke them, when), which blocked goroutines of the
dump the records never saw pending ("dump only"), and which pending stacks no
longer appear in the dump ("records only").

RECORDS are v9 files, the segments of one run in order, or their JSONL
rendering. DUMP is a goroutine profile from /debug/pprof/goroutine: debug=0
(protobuf), debug=1 or debug=2 text, or a panic/SIGQUIT traceback. The form is
detected from the content.

Stacks are compared by function, after dropping the runtime-internal frames
at the top. With a debug=2 dump goroutine ids are matched as well, which also
places the pendings the records have no stack for (goroutines blocked before
the records began). -json prints the same as a JSON document.

Exit status: 0 when the comparison ran, 1 on bad input, 2 on a usage error,
3 when a group matched -fail-on.

Flags:
`

// options are the command-line settings.
type options struct {
	width   int // of the table; 0: no limit (-wide)
	verbose bool
	json    bool
	lines   bool
	system  bool
	depth   int
	wakers  int
	window  window
	failOn  map[string]bool
}

// window is a time range on the records clock, in µs. A bound is relative
// to the start of the records, or to their end when negative (fromEnd).
type window struct {
	set              bool
	from, to         int64
	hasFrom, hasTo   bool
	fromEnd, toEnd   bool
	fromText, toText string
}

// parseWindow parses "FROM:TO", each a Go duration (or empty for an open
// end); a negative duration counts back from the end of the records.
func parseWindow(s string) (window, error) {
	w := window{set: true}
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

func (w window) needsEnd() bool { return w.fromEnd || w.toEnd }

// resolve returns the window as absolute bounds on the records clock,
// given its end.
func (w window) resolve(end int64) window {
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

func (w window) String() string {
	if !w.set {
		return "all"
	}
	return w.fromText + ":" + w.toText
}

// failOnValues are the marks -fail-on accepts.
var failOnValues = map[string]string{
	"dump-only":    markDumpOnly,
	"records-only": markRecordsOnly,
	"both":         markBoth,
}

// Usage is the command's help text, for `wakeshim help dumpdiff`.
func Usage(name string) string { return fmt.Sprintf(usageText, name) }

func run(args []string, stdout, stderr io.Writer) int { return Run("dumpdiff", args, stdout, stderr) }

// Run is the command, named name in messages; it returns the exit status.
func Run(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	opt := &options{}
	var wide bool
	fs.BoolVar(&wide, "wide", false, "let the table be wider than 100 columns (whole wakers and stacks)")
	fs.BoolVar(&opt.verbose, "v", false, "after the table, show each group in full: stack, goroutine ids, created-by locations")
	fs.BoolVar(&opt.json, "json", false, "print a JSON document instead of the table (fields: docs/dumpdiff.md)")
	fs.BoolVar(&opt.lines, "lines", false, "compare frames by file:line too, not only by function")
	fs.BoolVar(&opt.system, "system", false, "include goroutines whose stack is all runtime frames (GC workers, ...)")
	fs.IntVar(&opt.depth, "depth", 32, "compare the innermost `N` frames of the normalised stacks (0: all)")
	fs.IntVar(&opt.wakers, "wakers", 3, "show the top `N` wakers of each group")
	var windowFlag, failFlag string
	fs.StringVar(&windowFlag, "window", "", "only records pending within `FROM:TO` (durations on the records clock; negative: from the end, e.g. -30s:)")
	fs.StringVar(&failFlag, "fail-on", "", "exit 3 if a group is `MARKS`: comma-separated dump-only, records-only, both")
	if code, ok := cliflags.Parse(fs, Usage(name), args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		fmt.Fprintf(stderr, "usage: %s [flags] RECORDS... DUMP (%s -h for help)\n", name, name)
		return exitUsage
	}
	opt.width = 100
	if wide {
		opt.width = 0
	}
	if fs.NArg() < 2 {
		return usageErr("need at least one records file and a dump, got %d argument(s)", fs.NArg())
	}
	if opt.depth < 0 {
		return usageErr("-depth must be >= 0")
	}
	if opt.wakers < 0 {
		return usageErr("-wakers must be >= 0")
	}
	if windowFlag != "" {
		w, err := parseWindow(windowFlag)
		if err != nil {
			return usageErr("-window %q: %v", windowFlag, err)
		}
		opt.window = w
	}
	opt.failOn = map[string]bool{}
	if failFlag != "" {
		for _, v := range strings.Split(failFlag, ",") {
			m, ok := failOnValues[strings.TrimSpace(v)]
			if !ok {
				return usageErr("-fail-on %q: want dump-only, records-only or both", v)
			}
			opt.failOn[m] = true
		}
	}

	for _, a := range fs.Args() {
		if len(a) > 1 && a[0] == '-' {
			return usageErr("flag %s after the file arguments: flags come first", a)
		}
	}
	files := fs.Args()[:fs.NArg()-1]
	dumpFile := fs.Arg(fs.NArg() - 1)
	d, err := dump.ReadFile(dumpFile)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		if hint := notDumpHint(dumpFile); hint != "" {
			fmt.Fprintf(stderr, "%s: %s\n", name, hint)
		}
		return exitError
	}
	rs, err := readRecords(files, opt)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitError
	}
	for _, w := range rs.warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", name, w)
	}
	c := compare(rs, d, opt)
	rep := buildReport(rs, d, dumpFile, c, opt)
	if opt.json {
		err = writeJSON(stdout, rep)
	} else {
		err = writeTable(stdout, rep, opt)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitError
	}
	for _, g := range rep.Groups {
		if opt.failOn[g.Mark] {
			fmt.Fprintf(stderr, "%s: -fail-on: %d group(s) %s\n", name, rep.Summary[g.Mark], g.Mark)
			return exitFail
		}
	}
	return exitOK
}

// notDumpHint says what the file given as the dump is when it is one of
// the other inputs: records (the dump must come last) or an execution
// trace.
func notDumpHint(name string) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte(format.Magic)),
		bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte(`{"event"`)):
		return name + " is a records file: the goroutine dump must be the last argument"
	case bytes.HasPrefix(head, []byte("go 1.")):
		return name + " is a Go execution trace: the goroutine dump must be the last argument, and a trace must be converted to records first (cmd/convert)"
	}
	return ""
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
