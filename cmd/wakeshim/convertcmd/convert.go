// Package convertcmd is the convert command (cmd/convert, and `wakeshim
// convert`): it turns a Go execution trace into wakeshim's v9 records,
// binary and JSONL, and renders v9 files as JSONL (and JSONL back as v9).
// The conversion itself is package convert; this is flags, files and the
// summary line.
//
// Usage:
//
//	convert [flags] TRACE
//
// TRACE is a runtime execution trace (go test -trace, runtime/trace.Start,
// /debug/pprof/trace, a flight-recorder snapshot), a v9 file, or the JSONL
// rendering of one; "-" reads standard input. The kind of input is told by
// its first bytes, not its name.
package convertcmd

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/cliflags"
	"github.com/wakeshim/wakeshim/internal/countio"
	"github.com/wakeshim/wakeshim/internal/progress"
)

const usage = `usage: %s [flags] TRACE

Converts a Go execution trace to wakeshim v9 records: wakes (who woke which
goroutine, on which P) and task-pending records (goroutines blocked at least
-threshold, with the stack where they blocked).

TRACE may be a runtime execution trace, a v9 file (rendered as JSONL), or v9
JSONL (encoded back to binary); "-" reads standard input. With neither -o nor
-jsonl, both outputs are written beside the input (NAME.bin, NAME.jsonl; for
standard input, trace.bin and trace.jsonl in the current directory). A trace
that needs more than one output segment continues in NAME.2.bin, NAME.3.bin...
-codes keeps only some record codes, e.g. -codes 0-7 for dial9's v9-era viewer.

Flags:
`

type options struct {
	name       string // the command's name in messages
	codes      *[format.NumCodes]bool
	out, jsonl string
	cfg        convert.Config
	runtime    bool
	quiet      bool
	verbose    bool
}

// Usage is the command's help text, for `wakeshim help convert`.
func Usage(name string) string { return fmt.Sprintf(usage, name) }

func run(args []string, stdin io.Reader, stderr io.Writer) int {
	return Run("convert", args, stdin, stderr)
}

// Run runs the command, named name in messages, and returns its exit
// status: 0 done, 1 failure, 2 usage error. Standard output is only
// written by -jsonl -.
func Run(name string, args []string, stdin io.Reader, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{name: name}
	var codes string
	fs.StringVar(&o.out, "o", "", "write the v9 binary to `FILE`")
	fs.StringVar(&o.jsonl, "jsonl", "", "write the JSONL rendering to `FILE` (\"-\" for standard output)")
	fs.DurationVar(&o.cfg.Threshold, "threshold", convert.DefaultThreshold, "report blocks lasting at least this long as TaskPending")
	fs.DurationVar(&o.cfg.SampleInterval, "sample", convert.DefaultSampleInterval, "trace time between QueueSample records (negative: none)")
	fs.DurationVar(&o.cfg.SegmentDuration, "segment", 0, "longest trace time per output segment (0: the format's limit, about 71.6m)")
	fs.BoolVar(&o.runtime, "runtime", false, "keep the runtime's own goroutines (the tracer's, the GC's...) in the records")
	fs.BoolVar(&o.quiet, "q", false, "no summary line")
	fs.BoolVar(&o.verbose, "v", false, "on a bad trace, the parser's whole message (x/exp's includes its internal state)")
	parser := fs.String("parser", string(convert.ParserFast), "trace `PARSER`: fast (the converter's own decoder) or exp (golang.org/x/exp/trace, the reference)")
	fs.StringVar(&codes, "codes", "", "keep only the records of these `CODES` (e.g. 0-7, or 0,1,7-9; see docs/format.md)")
	if code, ok := cliflags.Parse(fs, Usage(name), args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	switch p := convert.Parser(*parser); p {
	case convert.ParserFast, convert.ParserExp:
		o.cfg.Parser = p
	default:
		fmt.Fprintf(stderr, "%s: -parser %q: want fast or exp\n", name, *parser)
		return 2
	}
	if o.cfg.Threshold <= 0 {
		fmt.Fprintf(stderr, "%s: -threshold must be positive\n", name)
		return 2
	}
	if codes != "" {
		keep, err := parseCodes(codes)
		if err != nil {
			fmt.Fprintf(stderr, "%s: -codes %q: %v\n", name, codes, err)
			return 2
		}
		o.codes = keep
	}
	if !o.runtime {
		o.cfg.Ignore = convert.SystemGoroutine
	}
	if err := convertFile(fs.Arg(0), stdin, stderr, &o); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		var te *convert.TraceError
		if o.verbose && errors.As(err, &te) {
			fmt.Fprintf(stderr, "%s: the parser said: %s\n", name, te.Detail())
		}
		return 1
	}
	return 0
}

// kind of input, by its first bytes.
type inputKind int

const (
	kindTrace inputKind = iota
	kindV9
	kindJSONL
)

func sniff(br *bufio.Reader) (inputKind, error) {
	head, _ := br.Peek(16)
	switch {
	case bytes.HasPrefix(head, []byte("go 1.")):
		return kindTrace, nil
	case bytes.HasPrefix(head, []byte(format.Magic)):
		return kindV9, nil
	case len(bytes.TrimLeft(head, " \t\r\n")) > 0 && bytes.TrimLeft(head, " \t\r\n")[0] == '{':
		return kindJSONL, nil
	case len(head) == 0:
		return 0, errors.New("empty input")
	}
	return 0, fmt.Errorf("not a Go execution trace, v9 file or v9 JSONL (starts with %q)", head)
}

func convertFile(name string, stdin io.Reader, stderr io.Writer, o *options) error {
	start := time.Now()
	var in io.Reader = stdin
	var size int64 = -1
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	}
	cr := &countio.Reader{R: in}
	br := bufio.NewReaderSize(cr, 1<<20)
	kind, err := sniff(br)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}

	base := "trace"
	if name != "-" {
		base = strings.TrimSuffix(name, filepath.Ext(name))
	}
	binName, jsonlName := o.out, o.jsonl
	if binName == "" && jsonlName == "" {
		switch kind {
		case kindTrace:
			binName, jsonlName = base+".bin", base+".jsonl"
		case kindV9:
			jsonlName = base + ".jsonl"
		case kindJSONL:
			binName = base + ".bin"
		}
	}
	if kind == kindV9 && jsonlName == "" {
		return fmt.Errorf("%s: a v9 file converts only to JSONL: give -jsonl", name)
	}
	if kind == kindJSONL && binName == "" {
		return fmt.Errorf("%s: JSONL converts only to v9 binary: give -o", name)
	}

	for _, o := range []string{binName, jsonlName} {
		if sameFile(name, o) {
			return fmt.Errorf("%s: output would overwrite the input", o)
		}
	}
	out := &segmentFiles{bin: binName, jsonl: jsonlName}
	if err := out.open(); err != nil {
		return err
	}
	prog := progress.New(stderr, size)
	fileRead := int64(-1) // the file's bytes Convert read, when given the file
	var st convert.Stats
	var sink convert.Output = out
	var filter *codeFilter
	if o.codes != nil {
		filter = &codeFilter{Output: out, keep: o.codes}
		sink = filter
	}
	switch kind {
	case kindTrace:
		// Convert buffers what it needs: given br, each byte of the
		// trace would be copied once more, from br's buffer into the
		// decoder's batch memory (3% of a conversion's CPU).
		held, _ := br.Peek(br.Buffered())
		src := io.MultiReader(bytes.NewReader(held), cr)
		if f, ok := in.(*os.File); ok && size >= 0 {
			// A regular file, from its start: Convert reads it where it
			// lies (see there), and reports how far it read.
			if _, err := f.Seek(0, io.SeekStart); err == nil {
				src, fileRead = f, 0
			}
		}
		st, err = convert.Convert(src, o.cfg, sink, func(n int64) {
			if fileRead >= 0 {
				fileRead = n
			}
			prog.Update(n)
		})
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
	default:
		st.Segments = 1
		st.Records, err = recode(name, br, kind, sink)
	}
	sum, records := summary(&st), st.TotalRecords()
	if filter != nil {
		sum += fmt.Sprintf(", %d left out by -codes", filter.dropped)
		records -= filter.dropped
	}
	prog.Done()
	read := cr.N
	if fileRead > 0 {
		read = fileRead
	}
	if cerr := out.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil && records == 0 {
		out.remove() // nothing good came before the error: leave no empty files
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "%s (%s) -> %s: %s, %v\n", name, progress.Size(read), out.describe(), sum, time.Since(start).Round(time.Millisecond))
	}
	return err
}

// recode copies the records of a v9 file or JSONL rendering to out.
func recode(name string, br *bufio.Reader, kind inputKind, out format.RecordWriter) ([format.NumCodes]int64, error) {
	var n [format.NumCodes]int64
	var next func() (format.Record, error)
	if kind == kindV9 {
		r, err := format.NewReader(br)
		if err != nil {
			return n, fmt.Errorf("%s: %w", name, err)
		}
		next = r.Next
	} else {
		next = format.NewJSONLReader(br).Next
	}
	for {
		rec, err := next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", name, err)
		}
		if err := out.WriteRecord(&rec); err != nil {
			return n, err
		}
		n[rec.Code]++
	}
}

func summary(st *convert.Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d records (", st.TotalRecords())
	sep := ""
	for code, n := range st.Records {
		if n > 0 {
			fmt.Fprintf(&b, "%s%s %d", sep, format.Code(code), n)
			sep = ", "
		}
	}
	fmt.Fprintf(&b, "), %d wakes, %d pending", st.Wakes(), st.Pending())
	if st.Segments > 1 {
		fmt.Fprintf(&b, ", %d segments", st.Segments)
	}
	if st.Parser != "" {
		fmt.Fprintf(&b, ", parser %s", st.Parser)
	}
	if st.Fallbacks > 0 {
		fmt.Fprintf(&b, " (%d fallback: a format the fast decoder does not read)", st.Fallbacks)
	}
	return b.String()
}

// sameFile reports whether output path o names the input file in.
func sameFile(in, o string) bool {
	if in == "-" || o == "" || o == "-" {
		return false
	}
	fi, err1 := os.Stat(in)
	fo, err2 := os.Stat(o)
	return err1 == nil && err2 == nil && os.SameFile(fi, fo)
}

// parseCodes parses a list of record codes and ranges: "0-7", "0,1,5-9".
// Keeping a record that refers to a definition (TaskPending to FrameDef,
// PollStart and TaskSpawn to SpawnLocationDef) without the definition is an
// error: the file would not decode into meaningful records.
func parseCodes(s string) (*[format.NumCodes]bool, error) {
	var keep [format.NumCodes]bool
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("%q is not a code or a range of codes", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				return nil, fmt.Errorf("%q is not a code or a range of codes", part)
			}
		}
		if a < 0 || b >= format.NumCodes || a > b {
			return nil, fmt.Errorf("%q: codes are 0 to %d", part, format.NumCodes-1)
		}
		for c := a; c <= b; c++ {
			keep[c] = true
		}
	}
	if keep[format.CodeTaskPending] && !keep[format.CodeFrameDef] {
		return nil, fmt.Errorf("TaskPending (%d) refers to FrameDef (%d): keep both", format.CodeTaskPending, format.CodeFrameDef)
	}
	if (keep[format.CodePollStart] || keep[format.CodeTaskSpawn]) && !keep[format.CodeSpawnLocationDef] {
		return nil, fmt.Errorf("PollStart (%d) and TaskSpawn (%d) refer to SpawnLocationDef (%d): keep it too",
			format.CodePollStart, format.CodeTaskSpawn, format.CodeSpawnLocationDef)
	}
	return &keep, nil
}

// codeFilter passes on only the records of the kept codes.
type codeFilter struct {
	convert.Output
	keep    *[format.NumCodes]bool
	dropped int64
}

func (f *codeFilter) WriteRecord(r *format.Record) error {
	if !r.Code.Valid() || !f.keep[r.Code] {
		f.dropped++
		return nil
	}
	return f.Output.WriteRecord(r)
}
