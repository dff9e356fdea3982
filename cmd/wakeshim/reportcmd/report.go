// Package reportcmd is the report command (`wakeshim report`): its flags,
// messages and exit codes. The records are read by package records,
// analysed by package analyze and rendered (text, JSON, pprof, HTML) by
// package report. See docs/report.md.
package reportcmd

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/convert"
	_ "github.com/wakeshim/wakeshim/dump/pprofdump" // goroutineleak profiles in pb.gz
	"github.com/wakeshim/wakeshim/internal/cliflags"
	"github.com/wakeshim/wakeshim/internal/progress"
	"github.com/wakeshim/wakeshim/records"
	"github.com/wakeshim/wakeshim/report"
)

const usage = `usage: %s [flags] INPUT...
       %[1]s -from URL -service NAME [-instance ID] [-since 1h] [-until TIME] [flags]

Reads wakeshim records and answers: where goroutines wait (blocks grouped by
wait reason and stack, with who woke them), who wakes whom, how long a woken
goroutine waits to run, how busy the Ps are, and findings worth a look.

INPUT is a v9 file, its JSONL rendering, a Go execution trace (converted on
the fly, nothing written), or a directory of the shim's files; several inputs
(the segments of one run, app.bin app.2.bin ...) are read as one time line,
in the order given. An INPUT that is a goroutineleak profile (the Go
runtime's proof of leaks: /debug/pprof/goroutineleak, in pb.gz or debug=1 or
debug=2 text), and such profiles in a directory (*.leak.txt, *.leak.pb.gz,
*goroutineleak*), prove the "leaked" verdicts of the goroutines still blocked
at the end.

With -from, the report is over the records shipped to ClickHouse (wakeshim
ship) by every instance of a service, or one instance; ClickHouse does the
grouping (docs/fleet.md). It has the totals, the wait groups (with on how many
instances each occurs), the wake edges and the latency; and, as the shipper's
analysis found them in each load's records, the verdicts, the findings, the
pauses, the wake chains (the roots of the groups' waits, the longest waits),
the Ps and the timeline (the loads' window with the most wakes, with its
instance; -window picks among those overlapping it); -pprof writes the
pending profile from the groups, the latency and root-cause profiles from
the loads' samples.

Text goes to standard output (100 columns; -wide for more); -json, -pprof and
-html write the other forms (docs/report.md documents every JSON field).
Exit status: 0 done, 1 bad input or failure, 2 usage error.

Flags:
`

// Usage is the command's help text, for `wakeshim help report`.
func Usage(name string) string { return fmt.Sprintf(usage, name) }

type options struct {
	jsonOut, pprofDir, htmlOut string
	wide, quiet, strict        bool
	top                        int
	chains                     int
	window                     string
	from, service, instance    string
	since, until               string
	cfg                        analyze.Config
	conv                       convert.Config
}

// Run runs the command, named name in messages; it returns the exit
// status.
func Run(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.jsonOut, "json", "", "write the JSON document to `FILE` (\"-\": standard output, instead of the text)")
	fs.StringVar(&o.pprofDir, "pprof", "", "write pending.pb.gz, latency.pb.gz and roots.pb.gz (pprof profiles) to `DIR`")
	fs.StringVar(&o.htmlOut, "html", "", "write a self-contained HTML page to `FILE`")
	fs.BoolVar(&o.wide, "wide", false, "text wider than 100 columns: full stacks and names")
	fs.IntVar(&o.top, "top", 10, "show the top `N` rows of each text table")
	fs.IntVar(&o.chains, "chains", 10, "keep the wake chains of the `N` longest waits (0: none; the groups' summaries and roots.pb.gz cover every wait)")
	fs.BoolVar(&o.quiet, "q", false, "no summary line on standard error")
	fs.BoolVar(&o.strict, "strict", false, "refuse a records file cut short (default: read it to its last whole record, with a warning)")
	fs.DurationVar(&o.cfg.Stuck, "stuck", time.Second, "verdicts: without a goroutineleak profile, a goroutine never woken since its creation, blocked at the end this long in a send or a lock, is a suspect warning")
	fs.IntVar(&o.cfg.HerdCount, "herd", 10, "finding: one goroutine waking at least `N` goroutines within -herd-window")
	fs.DurationVar(&o.cfg.HerdWindow, "herd-window", time.Millisecond, "the window of -herd")
	fs.DurationVar(&o.cfg.SlowWake, "slow-wake", time.Millisecond, "finding: a wake waiting this long to run while a P was parked")
	fs.IntVar(&o.cfg.QueueGoroutines, "queue", 5, "finding: at least `N` goroutines blocked at once on one wait reason + stack")
	fs.StringVar(&o.window, "window", "", "the timeline's window `START:END` on the time line (e.g. 1.2s:1.3s; default: the -window-len with the most wakes)")
	fs.DurationVar(&o.cfg.WindowLen, "window-len", 100*time.Millisecond, "length of the default timeline window")
	fs.DurationVar(&o.conv.Threshold, "threshold", convert.DefaultThreshold, "for trace inputs: shortest block reported as pending")
	fs.StringVar(&o.from, "from", "", "report over the records shipped to ClickHouse at `URL` (e.g. http://127.0.0.1:8123/?database=wakeshim) instead of INPUTs")
	fs.StringVar(&o.service, "service", "", "with -from: the service `NAME`")
	fs.StringVar(&o.instance, "instance", "", "with -from: only this instance `ID` (default: all)")
	fs.StringVar(&o.since, "since", "", "with -from: records since `WHEN`, a duration before now (1h) or an RFC 3339 time")
	fs.StringVar(&o.until, "until", "", "with -from: records until `WHEN`, a duration before now or an RFC 3339 time")
	if code, ok := cliflags.Parse(fs, Usage(name), args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		fmt.Fprintf(stderr, "usage: %s [flags] INPUT... (%s -h for help)\n", name, name)
		return 2
	}
	if o.window != "" {
		a, b, ok := strings.Cut(o.window, ":")
		s, err1 := time.ParseDuration(strings.TrimSpace(a))
		e, err2 := time.ParseDuration(strings.TrimSpace(b))
		if !ok || err1 != nil || err2 != nil || s < 0 || e <= s {
			return usageErr("-window %q: want START:END, two durations on the time line, START before END (e.g. 1.2s:1.3s)", o.window)
		}
		o.cfg.WindowStart, o.cfg.WindowEnd, o.cfg.WindowSet = s, e, true
	}
	if o.from != "" || o.service != "" || o.instance != "" || o.since != "" || o.until != "" {
		return runFrom(name, fs.Args(), &o, stdout, stderr, usageErr)
	}
	if fs.NArg() == 0 {
		return usageErr("no input")
	}
	for _, a := range fs.Args() {
		if len(a) > 1 && a[0] == '-' {
			return usageErr("flag %s after the inputs: flags come first", a)
		}
	}
	if o.top <= 0 {
		return usageErr("-top must be positive")
	}
	if o.chains < 0 {
		return usageErr("-chains must not be negative")
	}
	o.cfg.Chains = o.chains
	if o.chains == 0 {
		o.cfg.Chains = -1
	}
	if o.jsonOut == "-" && o.htmlOut == "-" {
		return usageErr("-json - and -html -: only one of them can go to standard output")
	}
	if o.conv.Threshold <= 0 {
		return usageErr("-threshold must be positive")
	}
	if o.cfg.Stuck <= 0 || o.cfg.HerdCount <= 0 || o.cfg.HerdWindow <= 0 || o.cfg.SlowWake <= 0 || o.cfg.QueueGoroutines <= 0 || o.cfg.WindowLen <= 0 {
		return usageErr("-stuck, -herd, -herd-window, -slow-wake, -queue and -window-len must be positive")
	}
	o.conv.Ignore = convert.SystemGoroutine
	if err := run(name, fs.Args(), &o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

func run(name string, inputs []string, o *options, stdout, stderr io.Writer) error {
	start := time.Now()
	inputs, leaks, err := analyze.SplitInputs(inputs)
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		return fmt.Errorf("no records or trace among the inputs, only goroutineleak profiles (%s)", strings.Join(leaks, ", "))
	}
	ins, err := records.Expand(inputs)
	if err != nil {
		return err
	}
	for _, l := range leaks {
		// The shim's profile PROG-PID-SEQ.goroutineleak.txt belongs to the
		// records of PROG-PID; any other, to the first process run.
		p, err := analyze.ReadLeakProfile(l, records.SideProcess(ins, l))
		if err != nil {
			return err
		}
		o.cfg.Leaks = append(o.cfg.Leaks, p)
	}
	var size int64
	for _, in := range ins {
		size += max(in.Bytes, 0)
	}
	prog := progress.New(stderr, size)
	run := records.NewRun(ins, records.Options{Strict: o.strict, Convert: o.conv, Progress: prog.Update})
	rep, an, err := analyze.Analyze(run, o.cfg)
	prog.Done()
	if err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", name, w)
	}
	data, err := writeJSONOut(rep, o, stdout)
	if err != nil {
		return err
	}
	if o.jsonOut != "-" {
		width := 100
		if o.wide {
			width = 0
		}
		var buf bytes.Buffer
		report.WriteText(&buf, rep, width, o.top)
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
		if err := writeOut(filepath.Join(o.pprofDir, "pending.pb.gz"), nil, func(w io.Writer) error { return report.WritePendingProfile(w, an.PendingSamples()) }); err != nil {
			return err
		}
		if err := writeOut(filepath.Join(o.pprofDir, "latency.pb.gz"), nil, func(w io.Writer) error { return report.WriteLatencyProfile(w, an.LatencySamples()) }); err != nil {
			return err
		}
		if err := writeOut(filepath.Join(o.pprofDir, "roots.pb.gz"), nil, func(w io.Writer) error { return report.WriteRootProfile(w, an.RootSamples()) }); err != nil {
			return err
		}
	}
	if o.htmlOut != "" {
		if err := writeOut(o.htmlOut, stdout, func(w io.Writer) error { return writeHTML(w, data) }); err != nil {
			return fmt.Errorf("-html %s: %w", o.htmlOut, err)
		}
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "%s: %d input(s) (%s), %d records, %s of time line: %d wakes, %d blocks in %d groups, %d finding(s), %v\n",
			name, len(ins), progress.Size(size), rep.Records, analyze.FmtNS(rep.SpanNS), rep.WakesTotal, rep.PendingTotal,
			len(rep.Pending), len(rep.Findings), time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// writeOut writes a file ("-": stdout) with fn, reporting errors with the
// file's name.
func writeOut(path string, stdout io.Writer, fn func(io.Writer) error) error {
	if path == "-" && stdout != nil {
		return fn(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// writeJSONOut writes the report's JSON document to -json, streamed, and
// returns it whole when -html needs it (the page embeds it), nil
// otherwise: the document (6.9 MB for a 5 MB trace) is held only for the
// page, and made once for both.
func writeJSONOut(rep *analyze.Report, o *options, stdout io.Writer) ([]byte, error) {
	var data []byte
	if o.htmlOut != "" {
		var err error
		if data, err = report.JSON(rep); err != nil {
			return nil, err
		}
	}
	if o.jsonOut != "" {
		if err := writeOut(o.jsonOut, stdout, func(w io.Writer) error {
			if data == nil {
				return report.WriteJSON(w, rep)
			}
			_, err := w.Write(data)
			return err
		}); err != nil {
			return nil, err
		}
	}
	return data, nil
}
