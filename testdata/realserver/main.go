// Command realserver tests the shim on a real server nobody here wrote:
// nats-server, built from the module proxy's source with the one-line
// blank import of shim/auto added beside its main.go.
//
//	cd testdata/realserver && go run . [flags]     # make realserver
//
// It builds the server, starts it on a random loopback port with
// WAKESHIM=dir=TMP[,OPTIONS], opens one raw client connection that says
// CONNECT and PING, reads PONG and then stays silent; after -quiet it
// drives the server for -load with nats.go clients (pub/sub and
// request/reply, bounded in time and count) and closes them; once the
// silent connection is -silent old it ends the server with SIGTERM:
// nats-server's handler calls os.Exit, so the shim's Stop never runs and
// only what is on disk counts. It then decodes every file the shim left
// (package format) and checks:
//
//   - the silent connection's reader goroutine is reported with at least
//     -min-age (75%) of its true age, the time from the PONG to the
//     SIGTERM, in its largest TaskPending. Its reader is the goroutine
//     blocked in a network read under server.(*client).readLoop that has
//     either a block longer than any load connection lived, or a record
//     from a time when no load connection was open (identify); a run where
//     no record shows it fails;
//   - no PollStart names a spawn location its file does not define, and at
//     least -min-spawn (90%) of the PollStarts name a non-zero location
//     defined in their own file (overall, and in every file with 100 or more);
//   - no TaskPending (of 2ms or more) claims a block during which its own
//     file shows the goroutine start running (a PollStart inside the block).
//
// Last, unless -rounds 0, it measures the shim's overhead on the same load:
// servers with WAKESHIM unset and set, alternating, -phase each, and prints
// the throughput ratio on/off, the server's CPU per message and the share
// of the load's time the records cover.
//
// Exit status: 0 all criteria met, or SKIP (module proxy unreachable);
// 1 a criterion failed (each is listed) or the run could not be made;
// 2 bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/wakeshim/wakeshim/format"
)

// The nats-server code the reader goroutines run (a substring of the
// function in the frames).
const readerFunc = "server.(*client).readLoop"

type options struct {
	repo         string
	module       string
	version      string
	silent       time.Duration
	quiet        time.Duration
	load         time.Duration
	wakeshim     string
	rounds       int
	phase        time.Duration
	minAge       float64
	minSpawn     float64
	timeout      time.Duration
	buildTimeout time.Duration
	keep         bool
	jsonOut      string
}

func main() {
	var o options
	flag.StringVar(&o.repo, "repo", "../..", "the wakeshim repository the server is built against")
	flag.StringVar(&o.module, "module", "github.com/nats-io/nats-server/v2", "the server's module")
	flag.StringVar(&o.version, "version", "v2.15.2", "the server module's version")
	flag.DurationVar(&o.silent, "silent", 12*time.Second, "how long the silent connection is held before SIGTERM")
	flag.DurationVar(&o.quiet, "quiet", 3*time.Second, "time between the silent connection's PONG and the load, when it is the only connection")
	flag.DurationVar(&o.load, "load", 7*time.Second, "how long the nats.go load runs (at most 0.7 x -silent, and -quiet + -load at most -silent - 1s)")
	flag.StringVar(&o.wakeshim, "wakeshim", "maxfile=256KB", "WAKESHIM options added after dir=TMP (e.g. jsonl=1,budget=off); the small maxfile makes the shim rotate files")
	flag.IntVar(&o.rounds, "rounds", 4, "overhead rounds (one server without the shim, one with, each); 0: no overhead measurement")
	flag.DurationVar(&o.phase, "phase", 5*time.Second, "load time of each overhead phase")
	flag.Float64Var(&o.minAge, "min-age", 0.75, "the silent reader's largest TaskPending must be at least this share of its true age")
	flag.Float64Var(&o.minSpawn, "min-spawn", 0.90, "share of PollStarts that must name a spawn location defined in their file")
	flag.DurationVar(&o.timeout, "timeout", 170*time.Second, "bound on everything after the build")
	flag.DurationVar(&o.buildTimeout, "build-timeout", 5*time.Minute, "bound on downloading and building the server (about 80s with an empty build cache, 2s with a warm one)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (server source, binary, logs, the shim's files)")
	flag.StringVar(&o.jsonOut, "json", "", "also write the facts of the run to this file as JSON")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run . [flags]   (in testdata/realserver; or make realserver)\n\n")
		fmt.Fprintf(flag.CommandLine.Output(), "Builds nats-server with wakeshim's shim/auto, holds a client connection silent, ends the\nserver with SIGTERM (os.Exit) and checks what the shim's files say about it.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "realserver: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	if err := o.check(); err != nil {
		fmt.Fprintf(os.Stderr, "realserver: %v\n", err)
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(o))
}

func (o *options) check() error {
	if o.silent < 2*time.Second {
		return errors.New("-silent must be at least 2s")
	}
	if o.load <= 0 || float64(o.load) > 0.7*float64(o.silent) {
		// The load's connections must not live long enough to be mistaken
		// for the silent one: every reader block of at least -min-age of
		// the silent age is then the silent connection's.
		return fmt.Errorf("-load %v must be positive and at most 0.7 x -silent (%v)", o.load, time.Duration(0.7*float64(o.silent)))
	}
	if o.quiet < 0 || o.quiet+o.load > o.silent-time.Second {
		return fmt.Errorf("-quiet %v + -load %v must be at most -silent - 1s", o.quiet, o.load)
	}
	if o.rounds < 0 || o.phase <= 0 {
		return errors.New("-rounds must be >= 0 and -phase positive")
	}
	if strings.Contains(o.wakeshim, "dir=") {
		return errors.New("-wakeshim must not set dir (the driver does)")
	}
	repo, err := filepath.Abs(o.repo)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(repo, "shim", "auto")); err != nil {
		return fmt.Errorf("-repo %s is not the wakeshim repository: %v", repo, err)
	}
	o.repo = repo
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "realserver: "+format+"\n", args...)
}

var defaultLoad = loadConfig{Publishers: 2, Subscribers: 2, Requesters: 4, Payload: 128, MaxMsgs: 50_000_000}

// facts is the run's outcome, printed and written with -json.
type facts struct {
	Server              string         `json:"server"`
	Wakeshim            string         `json:"wakeshim"`
	Build               string         `json:"build"`
	Load                string         `json:"load"`
	TrueAgeS            float64        `json:"silent_true_age_s"`
	ExitS               float64        `json:"sigterm_to_exit_s"`
	Files               int            `json:"files"`
	Bytes               int64          `json:"bytes"`
	Records             map[string]int `json:"records"`
	Reader              *readerFacts   `json:"silent_reader,omitempty"`
	SpawnShare          float64        `json:"pollstart_spawn_defined_share"`
	SpawnPerFile        []spawnFacts   `json:"pollstart_spawn_per_file"`
	CoverLoad           float64        `json:"coverage_load"`
	PendingChecked      int            `json:"pending_checked"`
	PendingContradicted int            `json:"pending_contradicted"`
	CoverRun            float64        `json:"coverage_run"`
	Overhead            *overheadFacts `json:"overhead,omitempty"`
	ShimLines           []string       `json:"shim_stderr"`
	Prometheus          *promFacts     `json:"prometheus,omitempty"`
	Failures            []string       `json:"failures"`
}

type readerFacts struct {
	Task       uint32  `json:"task"`
	MaxS       float64 `json:"largest_pending_s"`
	MaxAtS     float64 `json:"largest_at_s"`
	NewestS    float64 `json:"newest_pending_s"`
	Records    int     `json:"records"`
	Share      float64 `json:"share_of_true_age"`
	Stack      string  `json:"stack"`
	Candidates int     `json:"reader_goroutines"`
}

type spawnFacts struct {
	File         string  `json:"file"`
	PollStarts   int     `json:"pollstarts"`
	DefinedHere  int     `json:"defined_here"`
	ZeroLoc      int     `json:"zero_loc"`
	Undefined    int     `json:"undefined"`
	DefinedLater int     `json:"defined_after_use"`
	Share        float64 `json:"share"`
}

func run(o options) int {
	t0 := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tmp, err := os.MkdirTemp("", "wakeshim-realserver-")
	if err != nil {
		progress("ERROR: %v", err)
		return 1
	}
	if o.keep {
		progress("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	// Build.
	bctx, bcancel := context.WithTimeout(ctx, o.buildTimeout)
	var bin string
	buildTime, err := timed(func() error {
		src, err := moduleSource(bctx, tmp, o.module, o.version)
		if err != nil {
			return err
		}
		progress("building %s@%s with shim/auto (source %s)", o.module, o.version, src)
		bin, err = buildServer(bctx, src, o.repo, tmp, "nats-server")
		return err
	})
	bcancel()
	if errors.Is(err, errUnreachable) {
		fmt.Printf("SKIP: realserver: %v\n", err)
		return 0
	}
	if err != nil {
		progress("ERROR: build: %v", err)
		return 1
	}
	progress("built in %.1fs", buildTime.Seconds())

	rctx, rcancel := context.WithTimeout(ctx, o.timeout)
	defer rcancel()
	f := &facts{
		Server:   o.module + "@" + o.version,
		Build:    fmt.Sprintf("%.1fs", buildTime.Seconds()),
		Records:  map[string]int{},
		Failures: []string{},
	}
	if err := mainRun(rctx, o, bin, tmp, f); err != nil {
		progress("ERROR: %v", err)
		return 1
	}
	if o.rounds > 0 {
		oh, err := measureOverhead(rctx, o, bin, tmp)
		if err != nil {
			progress("ERROR: overhead: %v", err)
			return 1
		}
		f.Overhead = oh
		printOverhead(oh)
	}
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(f, "", "  ")
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			progress("ERROR: %v", err)
			return 1
		}
	}
	fmt.Println()
	if len(f.Failures) > 0 {
		fmt.Printf("FAIL: realserver (%.0fs): %d criteria failed:\n", time.Since(t0).Seconds(), len(f.Failures))
		for _, s := range f.Failures {
			fmt.Printf("  - %s\n", s)
		}
		return 1
	}
	fmt.Printf("PASS: realserver (%.0fs): silent reader reported with %.0f%% of its age; %.1f%% of PollStarts name a spawn location defined in their file\n",
		time.Since(t0).Seconds(), 100*f.Reader.Share, 100*f.SpawnShare)
	return 0
}

// mainRun is the silent-connection run: start, silent client, load,
// SIGTERM, and the checks on the files.
func mainRun(ctx context.Context, o options, bin, tmp string, f *facts) error {
	dir := filepath.Join(tmp, "records")
	env := "dir=" + dir
	if o.wakeshim != "" {
		env += "," + o.wakeshim
	}
	// With Debian's Prometheus at hand, the shim also serves its metrics
	// and Prometheus scrapes them during the load (docs/fleet.md).
	promBin, _ := exec.LookPath("prometheus")
	var metricsAddr string
	if promBin != "" {
		var err error
		if metricsAddr, err = freeAddr(); err != nil {
			return err
		}
		env += ",metrics=" + metricsAddr
	} else {
		progress("no prometheus on PATH (Debian package prometheus): the metrics are not checked")
	}
	f.Wakeshim = env
	progress("run: WAKESHIM=%s", env)
	srv, err := startServer(ctx, bin, env, filepath.Join(tmp, "server.log"), 60*time.Second)
	if err != nil {
		return err
	}
	defer srv.kill()
	var promDone chan struct{}
	if promBin != "" {
		pr, err := startPrometheus(promBin, metricsAddr, filepath.Join(tmp, "prometheus"))
		if err != nil {
			return fmt.Errorf("prometheus: %w", err)
		}
		defer pr.stop()
		promDone = make(chan struct{})
		// Watched from now to the end of the load, and a little more.
		deadline := time.Now().Add(o.quiet + o.load + 20*time.Second)
		go func() {
			defer close(promDone)
			pf, err := pr.watch(ctx, deadline)
			f.Prometheus = &pf
			if out, err := exec.Command(promBin, "--version").Output(); err == nil {
				pf.Version, _, _ = strings.Cut(string(out), "\n")
			}
			if err != nil {
				f.Failures = append(f.Failures, err.Error())
			}
		}()
	}
	sc, err := openSilent(srv.Addr, 30*time.Second)
	if err != nil {
		return err
	}
	defer sc.Close()
	pongAt := sc.Pong.Sub(srv.Start)
	progress("server on %s; silent connection's PONG at +%.2fs; load in %v for %v", srv.Addr, pongAt.Seconds(), o.quiet, o.load)
	// The quiet time, the load and the hold below are the scenario's
	// timeline, not waits for readiness.
	quiet := time.NewTimer(o.quiet)
	select {
	case <-quiet.C:
	case <-ctx.Done():
		quiet.Stop()
		return ctx.Err()
	}

	loadStart := time.Since(srv.Start)
	lr, err := runLoad(ctx, "nats://"+srv.Addr, defaultLoad, o.load)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	loadEnd := time.Since(srv.Start)
	f.Load = lr.String()
	progress("load: %s", lr)
	if promDone != nil {
		<-promDone // (its deadline bounds it)
		if pf := f.Prometheus; pf != nil {
			progress("prometheus: wakeshim_wakes_total %v; wait reasons %v; %d blocked entries; p99 wake latency %.2fms",
				pf.Wakes, pf.Reasons, pf.Blocked, 1000*pf.P99S)
		}
	}

	// Hold the silent connection until it is -silent old.
	hold := time.NewTimer(time.Until(sc.Pong.Add(o.silent)))
	select {
	case <-hold.C:
	case <-ctx.Done():
		hold.Stop()
		return ctx.Err()
	}
	sigterm := time.Now()
	trueAge := sigterm.Sub(sc.Pong)
	if err := srv.terminate(30 * time.Second); err != nil {
		return err
	}
	f.TrueAgeS = trueAge.Seconds()
	f.ExitS = srv.Exited.Sub(sigterm).Seconds()
	f.ShimLines = srv.shimLines()
	progress("SIGTERM at +%.2fs (silent for %.2fs); exited %.0fms later", sigterm.Sub(srv.Start).Seconds(), trueAge.Seconds(), 1000*f.ExitS)

	a, err := analyze(dir, readerMatch{Func: readerFunc})
	if err != nil {
		return err
	}
	report(o, a, f, reportTimes{
		pong: pongAt, loadStart: loadStart, loadEnd: loadEnd,
		sigterm: sigterm.Sub(srv.Start), trueAge: trueAge,
	})
	return nil
}

type reportTimes struct {
	pong, loadStart, loadEnd, sigterm, trueAge time.Duration
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// report prints the facts of the silent run and records the failed criteria.
func report(o options, a *analysis, f *facts, t reportTimes) {
	fail := func(format string, args ...any) { f.Failures = append(f.Failures, fmt.Sprintf(format, args...)) }
	fmt.Printf("== %s with shim/auto, WAKESHIM=%s\n", f.Server, f.Wakeshim)
	fmt.Printf("timeline (server time): silent PONG +%.2fs, load +%.2fs..+%.2fs, SIGTERM +%.2fs (exit %.0fms later)\n",
		t.pong.Seconds(), t.loadStart.Seconds(), t.loadEnd.Seconds(), t.sigterm.Seconds(), 1000*f.ExitS)
	fmt.Printf("load: %s\n", f.Load)
	for _, l := range f.ShimLines {
		fmt.Printf("server stderr: %s\n", l)
	}

	f.Files, f.Bytes = len(a.Files), a.Bytes
	for c, n := range a.Records {
		if n > 0 {
			f.Records[format.Code(c).String()] = n
		}
	}
	fmt.Printf("files: %d .bin, %d bytes; records %s\n", len(a.Files), a.Bytes, recordCounts(a.Records))
	if len(a.Files) == 0 {
		fail("no .bin file in the shim's directory")
		return
	}

	// Per file: spawn locations.
	fmt.Printf("%-32s %9s %8s %10s %12s %9s %9s %11s %7s\n", "file", "bytes", "records", "PollStart", "loc defined", "loc 0", "undefined", "after use", "share")
	for _, ff := range a.Files {
		n := 0
		for _, c := range ff.Records {
			n += c
		}
		fmt.Printf("%-32s %9d %8d %10d %12d %9d %9d %11d %7s\n", ff.Name, ff.Bytes, n, ff.PollStarts, ff.DefinedHere, ff.ZeroLoc, ff.Undefined, ff.DefinedLater, pct(ff.DefinedShare()))
		f.SpawnPerFile = append(f.SpawnPerFile, spawnFacts{ff.Name, ff.PollStarts, ff.DefinedHere, ff.ZeroLoc, ff.Undefined, ff.DefinedLater, ff.DefinedShare()})
		if ff.Err != nil {
			fail("decode error: %v", ff.Err)
		}
		if ff.Tail != "" {
			fmt.Printf("  %s ends in a cut record (expected after os.Exit): %s\n", ff.Name, ff.Tail)
		}
	}
	tot := a.spawnTotals()
	f.SpawnShare = tot.DefinedShare()
	fmt.Printf("spawn locations: %s of %d PollStarts name a location defined in their file (%d with none, %d naming one their file does not define)\n",
		pct(tot.DefinedShare()), tot.PollStarts, tot.ZeroLoc, tot.Undefined)
	if tot.Undefined > 0 {
		var where []string
		for _, ff := range a.Files {
			if ff.Undefined > 0 {
				where = append(where, fmt.Sprintf("%s: %d", ff.Name, ff.Undefined))
			}
		}
		fail("spawn locations: %d PollStarts name a location not defined in their file (%s)", tot.Undefined, strings.Join(where, ", "))
	}
	if tot.DefinedShare() < o.minSpawn {
		fail("spawn locations: %s of PollStarts name a location defined in their file, want >= %s", pct(tot.DefinedShare()), pct(o.minSpawn))
	}
	for _, ff := range a.Files {
		if ff.PollStarts >= 100 && ff.DefinedShare() < o.minSpawn {
			fail("spawn locations: %s: %s of %d PollStarts defined in the file, want >= %s", ff.Name, pct(ff.DefinedShare()), ff.PollStarts, pct(o.minSpawn))
		}
	}

	// Blocks that were not there.
	var checked, contra int
	var examples []string
	for _, ff := range a.Files {
		checked += ff.Checked
		contra += ff.Contradicted
		examples = append(examples, ff.Examples...)
	}
	f.PendingChecked, f.PendingContradicted = checked, contra
	fmt.Printf("pending consistency: %d of %d TaskPendings of %v or more claim a block during which their file shows the goroutine start running\n", contra, checked, minCheck)
	for _, e := range examples[:min(len(examples), 3)] {
		fmt.Printf("  e.g. %s\n", e)
	}
	if contra > 0 {
		fail("pending consistency: %d of %d TaskPendings claim a block during which the goroutine ran (PollStart inside the block, same file)", contra, checked)
	}

	// Coverage.
	f.CoverLoad = a.coverage(t.loadStart, t.loadEnd)
	f.CoverRun = a.coverage(0, t.sigterm)
	fmt.Printf("records span +0.00s..+%.2fs of the server's time (estimate; SIGTERM at +%.2fs)\n", a.End().Seconds(), t.sigterm.Seconds())
	fmt.Printf("coverage (estimate: share of %v bins holding a scheduling or wake record, file clocks chained from the server's start): %s of the load, %s of the whole run\n",
		binWidth, pct(f.CoverLoad), pct(f.CoverRun))

	// The silent reader.
	rs := a.readers()
	var longest []string
	for _, r := range rs[:min(len(rs), 4)] {
		longest = append(longest, fmt.Sprintf("goroutine %d %.3fs at about +%.2fs", r.Task, r.Max.Duration.Seconds(), r.Max.At.Seconds()))
	}
	// Every load connection is opened at the load's start and closed at
	// its end, so it lives at most -load (plus the time to connect and
	// close); -load is at most 0.7 x -silent, so no other reader can pass
	// the -min-age criterion.
	const margin = 300 * time.Millisecond // the clock estimate's error, and connecting and closing
	from, to := t.loadStart-margin, t.loadEnd+margin
	i, why := identify(rs, o.load+2*margin, from, to)
	if i < 0 {
		fmt.Printf("silent reader: not in the records: no reader block longer than the load's connections lived, no reader record while none of them was open; %d reader goroutines, longest blocks: %s\n",
			len(rs), strings.Join(longest, ", "))
		fail("silent reader: no record of it (no block reading the network under %s longer than %v, none before +%.2fs or after +%.2fs); true age %.2fs",
			readerFunc, o.load+2*margin, from.Seconds(), to.Seconds(), t.trueAge.Seconds())
		return
	}
	r := rs[i]
	share := float64(r.Max.Duration) / float64(t.trueAge)
	f.Reader = &readerFacts{
		Task: r.Task, MaxS: r.Max.Duration.Seconds(), MaxAtS: r.Max.At.Seconds(), NewestS: r.Newest.Duration.Seconds(),
		Records: len(r.Records), Share: share, Stack: r.Max.Top, Candidates: len(rs),
	}
	fmt.Printf("silent reader: goroutine %d (%s)\n", r.Task, why)
	fmt.Printf("  %d TaskPending records; largest %.3fs at about +%.2fs (block began about +%.2fs; PONG at +%.2fs), newest %.3fs\n",
		len(r.Records), r.Max.Duration.Seconds(), r.Max.At.Seconds(), (r.Max.At - r.Max.Duration).Seconds(), t.pong.Seconds(), r.Newest.Duration.Seconds())
	fmt.Printf("  stack: %s\n", r.Max.Top)
	fmt.Printf("  true age %.2fs: reported %s of it (want >= %s)\n", t.trueAge.Seconds(), pct(share), pct(o.minAge))
	recs := r.Records
	if len(recs) > 8 {
		recs = recs[len(recs)-8:]
		fmt.Printf("  last 8 of its records:\n")
	} else {
		fmt.Printf("  its records:\n")
	}
	for _, p := range recs {
		kind := "reader stack"
		if !p.Reader {
			kind = "no stack"
		}
		fmt.Printf("    %-28s ts %9.3fs (about +%.2fs)  duration %8.3fs  %s\n", p.File, float64(p.TS)/1e6, p.At.Seconds(), p.Duration.Seconds(), kind)
	}
	fmt.Printf("  reader goroutines: %d, longest blocks: %s\n", len(rs), strings.Join(longest, ", "))
	// A record cannot be older than the connection: the block began when
	// the server went back to reading after the PONG, a moment before the
	// client read it. Past a tolerance for the clocks, it is over-reported.
	if tol := max(500*time.Millisecond, t.trueAge/20); r.Max.Duration > t.trueAge+tol {
		fail("silent reader: largest TaskPending %.3fs is longer than the connection's silent age %.2fs (over-reported)", r.Max.Duration.Seconds(), t.trueAge.Seconds())
	}
	if share < o.minAge {
		fail("silent reader: largest TaskPending %.3fs is %s of its true age %.2fs, want >= %s", r.Max.Duration.Seconds(), pct(share), t.trueAge.Seconds(), pct(o.minAge))
	}
}

// overheadFacts is the outcome of the overhead rounds.
type overheadFacts struct {
	Phase        string    `json:"phase"`
	Off          []float64 `json:"off_msgs_per_s"`
	On           []float64 `json:"on_msgs_per_s"`
	OffReq       []float64 `json:"off_req_per_s"`
	OnReq        []float64 `json:"on_req_per_s"`
	Ratios       []float64 `json:"round_ratios_msgs"`
	MedianRatio  float64   `json:"median_ratio_msgs"`
	MeansRatio   float64   `json:"means_ratio_msgs"`
	ReqRatio     float64   `json:"median_ratio_req"`
	CPUPerMsgOff float64   `json:"cpu_us_per_msg_off"`
	CPUPerMsgOn  float64   `json:"cpu_us_per_msg_on"`
	Coverage     []float64 `json:"coverage_on"`
	BytesPerSec  float64   `json:"bytes_per_s_on"`
	RecordsPerS  float64   `json:"records_per_s_on"`
}

// measureOverhead alternates servers without and with the shim under the
// same load; rounds alternate which goes first.
func measureOverhead(ctx context.Context, o options, bin, tmp string) (*overheadFacts, error) {
	oh := &overheadFacts{Phase: o.phase.String()}
	var cpuOff, cpuOn time.Duration
	var msgsOff, msgsOn, recs int64
	var bytes int64
	var onTime time.Duration
	for round := range o.rounds {
		modes := []bool{false, true}
		if round%2 == 1 {
			modes = []bool{true, false}
		}
		var off, on loadResult
		for _, shimOn := range modes {
			name := "off"
			env := ""
			dir := filepath.Join(tmp, fmt.Sprintf("overhead-%d", round))
			if shimOn {
				name = "on"
				env = "dir=" + dir
				if o.wakeshim != "" {
					env += "," + o.wakeshim
				}
			}
			srv, err := startServer(ctx, bin, env, filepath.Join(tmp, fmt.Sprintf("overhead-%d-%s.log", round, name)), 60*time.Second)
			if err != nil {
				return nil, err
			}
			loadStart := time.Since(srv.Start)
			lr, err := runLoad(ctx, "nats://"+srv.Addr, defaultLoad, o.phase)
			loadEnd := time.Since(srv.Start)
			if err != nil {
				srv.kill()
				return nil, err
			}
			if err := srv.terminate(30 * time.Second); err != nil {
				return nil, err
			}
			msgs := lr.Delivered + lr.Requests
			progress("overhead round %d, shim %s: %s; server CPU %.2fs", round+1, name, lr, srv.cpu().Seconds())
			if shimOn {
				on = lr
				cpuOn += srv.cpu()
				msgsOn += msgs
				a, err := analyze(dir, readerMatch{Func: readerFunc})
				if err != nil {
					return nil, err
				}
				oh.Coverage = append(oh.Coverage, a.coverage(loadStart, loadEnd))
				bytes += a.Bytes
				for _, n := range a.Records {
					recs += int64(n)
				}
				onTime += srv.Exited.Sub(srv.Start)
			} else {
				off = lr
				cpuOff += srv.cpu()
				msgsOff += msgs
			}
		}
		oh.Off = append(oh.Off, off.MsgsPerSec())
		oh.On = append(oh.On, on.MsgsPerSec())
		oh.OffReq = append(oh.OffReq, off.ReqPerSec())
		oh.OnReq = append(oh.OnReq, on.ReqPerSec())
		oh.Ratios = append(oh.Ratios, on.MsgsPerSec()/off.MsgsPerSec())
	}
	oh.MedianRatio = median(oh.Ratios)
	oh.MeansRatio = mean(oh.On) / mean(oh.Off)
	var reqRatios []float64
	for i := range oh.On {
		reqRatios = append(reqRatios, oh.OnReq[i]/oh.OffReq[i])
	}
	oh.ReqRatio = median(reqRatios)
	oh.CPUPerMsgOff = float64(cpuOff.Microseconds()) / float64(msgsOff)
	oh.CPUPerMsgOn = float64(cpuOn.Microseconds()) / float64(msgsOn)
	oh.BytesPerSec = float64(bytes) / onTime.Seconds()
	oh.RecordsPerS = float64(recs) / onTime.Seconds()
	return oh, nil
}

func printOverhead(oh *overheadFacts) {
	fmt.Printf("== overhead (%d rounds of %s, shim off and on alternating)\n", len(oh.Ratios), oh.Phase)
	var rs []string
	for _, r := range oh.Ratios {
		rs = append(rs, fmt.Sprintf("%.3f", r))
	}
	fmt.Printf("pub/sub msgs/s on/off: median of rounds %.3f (rounds %s), of the means %.3f (off %.0f, on %.0f msgs/s)\n",
		oh.MedianRatio, strings.Join(rs, " "), oh.MeansRatio, mean(oh.Off), mean(oh.On))
	fmt.Printf("request/reply req/s on/off: median of rounds %.3f (off %.0f, on %.0f req/s)\n", oh.ReqRatio, mean(oh.OffReq), mean(oh.OnReq))
	fmt.Printf("server CPU per message (pub/sub deliveries + requests): off %.2fµs, on %.2fµs (%+.1f%%)\n",
		oh.CPUPerMsgOff, oh.CPUPerMsgOn, 100*(oh.CPUPerMsgOn/oh.CPUPerMsgOff-1))
	var cs []string
	for _, c := range oh.Coverage {
		cs = append(cs, pct(c))
	}
	fmt.Printf("shim on: %.0f bytes/s and %.0f records/s written; records cover %s of each load phase (estimate, as above)\n",
		oh.BytesPerSec, oh.RecordsPerS, strings.Join(cs, ", "))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}
