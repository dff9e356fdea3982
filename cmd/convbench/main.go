// Command convbench measures the converter against a bare x/exp/trace read
// of the same trace, in one run: wall time and peak memory (max RSS) of each,
// each measured in a fresh subprocess, alternating, and reports the ratios.
//
//	go run ./cmd/convbench [-n 3] TRACE
//
// The Makefile's bench target makes a large busy trace with
// testdata/progs/busy and runs this on it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/cmd/wakeshim/reportcmd"
	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/tracewire"
)

const usage = `usage: convbench [-n N] TRACE

Runs, N times each and alternating, a bare golang.org/x/exp/trace read of
TRACE ("parse"), a bare read by the converter's own decoder ("decode"), its
conversion to v9 binary ("convert"; "convert-exp" with x/exp's parser) and
to v9 binary plus JSONL ("convert+jsonl", "convert+jsonl-exp"), and
wakeshim report on it ("report": converted on the fly, text and JSON
written), each in a fresh subprocess, and prints the median wall time, CPU
time and peak RSS of each, their ratios to "parse", and report's to
convert. -modes runs some of them (parse is always run: the ratios are to
it).

Flags:
`

func main() {
	n := flag.Int("n", 3, "runs of each mode")
	only := flag.String("modes", "", "comma-separated `MODES` to run (default all)")
	mode := flag.String("mode", "", "run one mode in this process (used by the driver)")
	cpuprofile := flag.String("cpuprofile", "", "with -mode, write a CPU profile to `FILE`")
	memprofile := flag.String("memprofile", "", "with -mode, write a heap profile (allocations since the start) to `FILE` at the end")
	repeat := flag.Int("repeat", 1, "with -mode, run it `N` times (a profile for PGO: make pgo)")
	outDir := flag.String("out", "", "with -mode, write the outputs into `DIR` and leave them there (default: a temporary directory, removed)")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage)
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 && *mode == "" {
		if err := driveCorpus(flag.Args(), *n); err != nil {
			fmt.Fprintln(os.Stderr, "convbench:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	in := flag.Arg(0)
	if *mode != "" {
		if *cpuprofile != "" {
			pf, err := os.Create(*cpuprofile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "convbench:", err)
				os.Exit(1)
			}
			pprof.StartCPUProfile(pf)
			defer pprof.StopCPUProfile()
		}
		if *memprofile != "" {
			runtime.MemProfileRate = 64 << 10
		}
		for range *repeat {
			if err := runMode(*mode, in, *outDir); err != nil {
				fmt.Fprintln(os.Stderr, "convbench:", err)
				pprof.StopCPUProfile()
				os.Exit(1)
			}
		}
		if *memprofile != "" {
			mf, err := os.Create(*memprofile)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(mf, 0)
				mf.Close()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "convbench:", err)
				os.Exit(1)
			}
		}
		return
	}
	if *only != "" {
		keep := []string{"parse"}
		for m := range strings.SplitSeq(*only, ",") {
			if !slices.Contains(modes, m) {
				fmt.Fprintf(os.Stderr, "convbench: unknown mode %q (modes: %s)\n", m, strings.Join(modes, ","))
				os.Exit(2)
			}
			if m != "parse" {
				keep = append(keep, m)
			}
		}
		modes = keep
	}
	if err := drive(in, *n); err != nil {
		fmt.Fprintln(os.Stderr, "convbench:", err)
		os.Exit(1)
	}
}

var modes = []string{"parse", "decode", "convert-exp", "convert", "convert+jsonl-exp", "convert+jsonl", "report"}

type sample struct {
	wall time.Duration
	cpu  time.Duration // user + system
	rss  int64         // KiB
}

func drive(in string, n int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fi, err := os.Stat(in)
	if err != nil {
		return err
	}
	res := map[string][]sample{}
	for i := 0; i < n; i++ {
		for _, m := range modes {
			// The outputs are removed after the run, outside its
			// measure, as convert -o and report -json leave theirs
			// (deleting 80 MB of output costs 2% of a conversion).
			out, err := os.MkdirTemp("", "convbench-")
			if err != nil {
				return err
			}
			cmd := exec.Command(self, "-mode", m, "-out", out, in)
			cmd.Stderr = os.Stderr
			start := time.Now()
			err = cmd.Run()
			wall := time.Since(start)
			os.RemoveAll(out)
			if err != nil {
				return fmt.Errorf("mode %s: %v", m, err)
			}
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			res[m] = append(res[m], sample{wall, cpu, ru.Maxrss})
		}
	}
	fmt.Printf("trace %s: %.1f MB, %d runs of each mode\n", in, float64(fi.Size())/(1<<20), n)
	base := median(res["parse"])
	fmt.Printf("%-14s %10s %10s %10s %8s %8s %8s\n", "mode", "wall", "cpu", "peak RSS", "wall x", "cpu x", "mem x")
	for _, m := range modes {
		s := median(res[m])
		fmt.Printf("%-14s %10v %10v %8.1fMB %8.2f %8.2f %8.2f\n", m, s.wall.Round(time.Millisecond), s.cpu.Round(time.Millisecond),
			float64(s.rss)/1024, float64(s.wall)/float64(base.wall), float64(s.cpu)/float64(base.cpu), float64(s.rss)/float64(base.rss))
	}
	ratio := func(a, b, goal string) {
		if len(res[a]) == 0 || len(res[b]) == 0 {
			return
		}
		x, y := median(res[a]), median(res[b])
		fmt.Printf("%s / %s: wall %.2fx, cpu %.2fx, peak RSS %.2fx%s\n", a, b,
			float64(x.wall)/float64(y.wall), float64(x.cpu)/float64(y.cpu), float64(x.rss)/float64(y.rss), goal)
	}
	ratio("convert", "parse", " (goal: cpu at most 0.33x)")
	ratio("convert", "convert-exp", " (goal: peak RSS at most 1x)")
	ratio("convert+jsonl", "convert+jsonl-exp", " (goal: wall at most 1x)")
	ratio("report", "convert", " (goal: at most 1.5x)")
	return nil
}

// The goals of issue 20, on every trace of the corpus.
const (
	goalConvertCPU = 0.25 // convert CPU / bare x/exp parse CPU
	goalReportWall = 1.5  // report wall / convert wall
	goalReportRSS  = 2.0  // report peak RSS / convert peak RSS
)

// driveCorpus runs parse, convert and report on every trace, n rounds,
// each round every trace's three modes one after the other (so that the
// ratios of a trace are of runs minutes apart at most, under the same
// load), and prints the minimum of each measure's runs as ratios.
func driveCorpus(traces []string, n int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmodes := []string{"parse", "convert", "report"}
	res := make([]map[string][]sample, len(traces))
	for i := range res {
		res[i] = map[string][]sample{}
	}
	for round := range n {
		for i, in := range traces {
			for _, m := range cmodes {
				s, err := runOnce(self, m, in)
				if err != nil {
					return fmt.Errorf("%s: %v", in, err)
				}
				res[i][m] = append(res[i][m], s)
			}
		}
		fmt.Fprintf(os.Stderr, "convbench: round %d of %d done\n", round+1, n)
	}
	fmt.Printf("%d traces, minimum of %d runs of each mode (CPU: user+system from wait4; RSS: peak)\n", len(traces), n)
	fmt.Printf("%-16s %7s %9s %9s %9s %9s %7s %7s %8s | %8s %8s %8s\n", "trace", "MB", "parse", "convert", "convert", "report", "convert", "report", "conv/prs", "rep/conv", "rep/conv", "rep/conv")
	fmt.Printf("%-16s %7s %9s %9s %9s %9s %7s %7s %8s | %8s %8s %8s\n", "", "", "cpu", "cpu", "wall", "wall", "RSS MB", "RSS MB", "cpu", "wall", "cpu", "RSS")
	worst, worstRatio := "", 0.0
	var missed []string
	for i, in := range traces {
		fi, err := os.Stat(in)
		if err != nil {
			return err
		}
		p, c, r := minimum(res[i]["parse"]), minimum(res[i]["convert"]), minimum(res[i]["report"])
		cp := float64(c.cpu) / float64(p.cpu)
		rw := float64(r.wall) / float64(c.wall)
		rc := float64(r.cpu) / float64(c.cpu)
		rm := float64(r.rss) / float64(c.rss)
		name := strings.TrimSuffix(filepath.Base(in), ".trace")
		fmt.Printf("%-16s %7.1f %9v %9v %9v %9v %7.1f %7.1f %8.2f | %8.2f %8.2f %8.2f\n", name, float64(fi.Size())/(1<<20),
			p.cpu.Round(time.Millisecond), c.cpu.Round(time.Millisecond), c.wall.Round(time.Millisecond), r.wall.Round(time.Millisecond),
			float64(c.rss)/1024, float64(r.rss)/1024, cp, rw, rc, rm)
		if cp > worstRatio {
			worst, worstRatio = name, cp
		}
		if rw > goalReportWall {
			missed = append(missed, fmt.Sprintf("%s: report wall %.2fx convert's (goal %.2gx)", name, rw, goalReportWall))
		}
		if rm > goalReportRSS {
			missed = append(missed, fmt.Sprintf("%s: report peak RSS %.2fx convert's (goal %.2gx)", name, rm, goalReportRSS))
		}
	}
	fmt.Printf("worst trace: %s, convert CPU %.2fx the bare parse's (goal %.2gx)\n", worst, worstRatio, goalConvertCPU)
	if worstRatio > goalConvertCPU {
		missed = append([]string{fmt.Sprintf("%s: convert CPU %.2fx the bare parse's (goal %.2gx)", worst, worstRatio, goalConvertCPU)}, missed...)
	}
	if len(missed) == 0 {
		fmt.Println("every goal met on every trace")
	}
	for _, m := range missed {
		fmt.Println("goal missed:", m)
	}
	return nil
}

// runOnce runs mode on in in a fresh subprocess and measures it; its
// outputs are removed after the run, outside its measure.
func runOnce(self, mode, in string) (sample, error) {
	out, err := os.MkdirTemp("", "convbench-")
	if err != nil {
		return sample{}, err
	}
	defer os.RemoveAll(out)
	cmd := exec.Command(self, "-mode", mode, "-out", out, in)
	cmd.Stderr = os.Stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("mode %s: %v", mode, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return sample{wall, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss}, nil
}

// minimum takes the minimum of each measure separately.
func minimum(ss []sample) sample {
	m := ss[0]
	for _, s := range ss[1:] {
		m.wall, m.cpu, m.rss = min(m.wall, s.wall), min(m.cpu, s.cpu), min(m.rss, s.rss)
	}
	return m
}

// median takes the median of each measure separately.
func median(ss []sample) sample {
	w := make([]time.Duration, len(ss))
	c := make([]time.Duration, len(ss))
	r := make([]int64, len(ss))
	for i, s := range ss {
		w[i], c[i], r[i] = s.wall, s.cpu, s.rss
	}
	slices.Sort(w)
	slices.Sort(c)
	slices.Sort(r)
	return sample{w[len(w)/2], c[len(c)/2], r[len(r)/2]}
}

type discardSegments struct{ format.HotWriter }

func (discardSegments) NextSegment() error { return nil }

// BinaryWriter makes discardSegments a convert.BinaryOutput, as the
// convert command's files are, when it writes the binary format alone.
func (d discardSegments) BinaryWriter() *format.Writer {
	w, _ := d.HotWriter.(*format.Writer)
	return w
}

func runMode(mode, in, outDir string) error {
	if outDir == "" {
		dir, err := os.MkdirTemp("", "convbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		outDir = dir
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	if mode == "report" {
		// wakeshim report on the trace, converted on the fly, with the
		// text and the JSON document written.
		js := filepath.Join(outDir, "report.json")
		if code := reportcmd.Run("report", []string{"-q", "-json", js, in}, io.Discard, os.Stderr); code != 0 {
			return fmt.Errorf("report exited %d", code)
		}
		return nil
	}
	if mode == "decode" {
		// (From the file, as convert reads it.)
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		d, err := tracewire.NewFileDecoder(f, fi.Size())
		if err != nil {
			return err
		}
		for {
			if _, err := d.Next(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	if mode == "parse" {
		r, err := exptrace.NewReader(br)
		if err != nil {
			return err
		}
		for {
			if _, err := r.ReadEvent(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	out, err := os.Create(filepath.Join(outDir, "out.bin"))
	if err != nil {
		return err
	}
	defer out.Close()
	bw := bufio.NewWriterSize(out, 256<<10)
	w, err := format.NewWriter(bw)
	if err != nil {
		return err
	}
	var rw format.HotWriter = w
	if mode == "convert+jsonl" || mode == "convert+jsonl-exp" {
		jf, err := os.Create(filepath.Join(outDir, "out.jsonl"))
		if err != nil {
			return err
		}
		defer jf.Close()
		jbw := bufio.NewWriterSize(jf, 256<<10)
		defer jbw.Flush()
		rw = format.HotOf(format.MultiWriter(w, format.NewJSONLWriter(jbw)))
	}
	cfg := convert.Config{Ignore: convert.TracerGoroutine}
	if strings.HasSuffix(mode, "-exp") {
		cfg.Parser = convert.ParserExp
	}
	// (The file itself, as the convert command gives it: Convert buffers
	// what it needs.)
	if _, err := convert.Convert(f, cfg, discardSegments{rw}, nil); err != nil {
		return err
	}
	return bw.Flush()
}
