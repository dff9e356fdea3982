// Package shipcmd is the ship command (`wakeshim ship`): its flags,
// messages and exit codes. The records are read by package records and
// loaded into ClickHouse by package fleet. See docs/fleet.md.
package shipcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/convert"
	_ "github.com/wakeshim/wakeshim/dump/pprofdump" // goroutineleak profiles in pb.gz
	"github.com/wakeshim/wakeshim/fleet"
	"github.com/wakeshim/wakeshim/internal/cliflags"
	"github.com/wakeshim/wakeshim/records"
)

const usage = `usage: %s -to URL -service NAME [-instance ID] [flags] INPUT...

Loads wakeshim records into ClickHouse, for reports over every instance of a
service (wakeshim report -from URL -service NAME).

URL is ClickHouse's HTTP interface with the database, e.g.
http://127.0.0.1:8123/?database=wakeshim (the database and the tables are
created if missing; docs/fleet.md gives the schema). INPUT is a v9 file, its
JSONL rendering, a Go execution trace (converted on the fly) or a directory
of the shim's files; the inputs are read as one time line, like wakeshim
report's. A file already shipped for the same service and instance (same
content) is skipped, so shipping a directory again loads only its new files.
The goroutines still blocked at the end of the records are judged (leaked,
deadlocked, idle, suspect) as wakeshim report judges them, and shipped with
their verdicts; goroutineleak profiles among the inputs or in a directory
(*.leak.txt, *.leak.pb.gz, *goroutineleak*) prove the leaks, as for wakeshim
report (they are read, not shipped).

A summary line goes to standard error. Exit status: 0 done, 1 bad input or
failure (nothing of the failed load is visible: ship again), 2 usage error.

Flags:
`

// Usage is the command's help text, for `wakeshim help ship`.
func Usage(name string) string { return fmt.Sprintf(usage, name) }

// Run runs the command, named name in messages; it returns the exit
// status.
func Run(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		to, service, instance, start string
		batch, retries               int
		quiet, strict                bool
		conv                         convert.Config
	)
	host, _ := os.Hostname()
	fs.StringVar(&to, "to", "", "ClickHouse's HTTP interface `URL`, e.g. http://127.0.0.1:8123/?database=wakeshim")
	fs.StringVar(&service, "service", "", "the service `NAME` the records are of")
	fs.StringVar(&instance, "instance", host, "the instance `ID` (default: this host's name)")
	fs.StringVar(&start, "start", "", "wall-clock `TIME` (RFC 3339) of the start of the records' time line (default: the last input's modification time minus the time line's length)")
	fs.IntVar(&batch, "batch", 100000, "rows per INSERT")
	fs.IntVar(&retries, "retries", 6, "retries of a failed request (connection errors, 5xx), with exponential backoff")
	fs.BoolVar(&quiet, "q", false, "no summary line on standard error")
	fs.BoolVar(&strict, "strict", false, "refuse a records file cut short (default: read it to its last whole record, with a warning)")
	fs.DurationVar(&conv.Threshold, "threshold", convert.DefaultThreshold, "for trace inputs: shortest block reported as pending")
	if code, ok := cliflags.Parse(fs, Usage(name), args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		fmt.Fprintf(stderr, "usage: %s -to URL -service NAME [-instance ID] [flags] INPUT... (%s -h for help)\n", name, name)
		return 2
	}
	if to == "" {
		return usageErr("no -to URL")
	}
	if service == "" {
		return usageErr("no -service NAME")
	}
	if instance == "" {
		return usageErr("no -instance ID (and no host name to default to)")
	}
	if fs.NArg() == 0 {
		return usageErr("no input")
	}
	for _, a := range fs.Args() {
		if len(a) > 1 && a[0] == '-' {
			return usageErr("flag %s after the inputs: flags come first", a)
		}
	}
	if batch <= 0 || retries < 0 || conv.Threshold <= 0 {
		return usageErr("-batch and -threshold must be positive, -retries not negative")
	}
	opt := fleet.ShipOptions{Service: service, Instance: instance, BatchRows: batch,
		Records: records.Options{Strict: strict, Convert: conv}}
	opt.Records.Convert.Ignore = convert.SystemGoroutine
	if start != "" {
		t, err := time.Parse(time.RFC3339Nano, start)
		if err != nil {
			return usageErr("-start %q: want an RFC 3339 time, e.g. 2026-12-07T01:00:00Z", start)
		}
		opt.Start = t
	}
	c, err := fleet.NewClient(to)
	if err != nil {
		return usageErr("-to: %v", err)
	}
	c.Retries = retries
	if !quiet {
		c.OnRetry = func(err error, wait time.Duration) {
			fmt.Fprintf(stderr, "%s: %v; retrying in %v\n", name, err, wait)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := fleet.Ship(ctx, c, fs.Args(), opt)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", name, w)
	}
	if !quiet {
		fmt.Fprintf(stderr, "%s: %s\n", name, Summary(res, c.URL()+" database "+c.Database, service, instance))
	}
	return 0
}

// Summary is the command's one line about a load.
func Summary(res *fleet.ShipResult, where, service, instance string) string {
	rows := res.RowsTotal()
	rate := 0.0
	if s := res.Elapsed.Seconds(); s > 0 {
		rate = float64(rows) / s
	}
	var parts []string
	for _, t := range []string{"wakes", "pending", "spawns", "queue", "stacks", "verdicts", "findings", "pauses", "chain_roots", "chains", "workers", "timelines", "profiles"} {
		parts = append(parts, fmt.Sprintf("%d %s", res.Rows[t], t))
	}
	return fmt.Sprintf("%s/%s: %d file(s) shipped, %d skipped (shipped before), %d records read, %d rows (%s) in %v, %.0f rows/s, to %s",
		service, instance, len(res.Files), len(res.Skipped), res.Records, rows, strings.Join(parts, ", "),
		res.Elapsed.Round(time.Millisecond), rate, where)
}
