// Package dumpdiffcmd is the dumpdiff command (`wakeshim dumpdiff`, and
// cmd/dumpdiff): its flags, messages and exit codes. The comparison is
// package dumpdiff's; see docs/dumpdiff.md.
//
//	dumpdiff [flags] RECORDS... DUMP
//
// Exit status: 0 when the comparison ran, 1 on bad input or another
// error, 2 on a usage error, 3 when -fail-on matched a group.
package dumpdiffcmd

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
	"strings"

	"github.com/wakeshim/wakeshim/dump"
	_ "github.com/wakeshim/wakeshim/dump/pprofdump" // DUMP may be debug=0 protobuf
	"github.com/wakeshim/wakeshim/dumpdiff"
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

// options are the command-line settings: the comparison's and the
// command's own.
type options struct {
	dumpdiff.Options
	json   bool
	failOn map[string]bool
}

// failOnValues are the marks -fail-on accepts.
var failOnValues = map[string]string{
	"dump-only":    dumpdiff.MarkDumpOnly,
	"records-only": dumpdiff.MarkRecordsOnly,
	"both":         dumpdiff.MarkBoth,
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
	fs.BoolVar(&opt.Verbose, "v", false, "after the table, show each group in full: stack, goroutine ids, created-by locations")
	fs.BoolVar(&opt.json, "json", false, "print a JSON document instead of the table (fields: docs/dumpdiff.md)")
	fs.BoolVar(&opt.Lines, "lines", false, "compare frames by file:line too, not only by function")
	fs.BoolVar(&opt.System, "system", false, "include goroutines whose stack is all runtime frames (GC workers, ...)")
	fs.IntVar(&opt.Depth, "depth", 32, "compare the innermost `N` frames of the normalised stacks (0: all)")
	fs.IntVar(&opt.Wakers, "wakers", 3, "show the top `N` wakers of each group")
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
	opt.Width = 100
	if wide {
		opt.Width = 0
	}
	if fs.NArg() < 2 {
		return usageErr("need at least one records file and a dump, got %d argument(s)", fs.NArg())
	}
	if opt.Depth < 0 {
		return usageErr("-depth must be >= 0")
	}
	if opt.Wakers < 0 {
		return usageErr("-wakers must be >= 0")
	}
	if windowFlag != "" {
		w, err := dumpdiff.ParseWindow(windowFlag)
		if err != nil {
			return usageErr("-window %q: %v", windowFlag, err)
		}
		opt.Window = w
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
	rep, warnings, err := dumpdiff.Compare(files, d, dumpFile, opt.Options)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitError
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", name, w)
	}
	if opt.json {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout, opt.Options)
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
