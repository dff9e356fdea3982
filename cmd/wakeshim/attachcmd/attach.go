// Package attachcmd is the command line of wakeshim attach: flags, signals,
// progress and the summary line; the work is package attach's. A
// subcommand table calls Run and Usage.
package attachcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/wakeshim/wakeshim/attach"
	"github.com/wakeshim/wakeshim/internal/bytesize"
	"github.com/wakeshim/wakeshim/internal/cliflags"
	progressbar "github.com/wakeshim/wakeshim/internal/progress"
)

// Usage returns the usage message of the subcommand called name (e.g.
// "wakeshim attach").
func Usage(name string) string {
	return fmt.Sprintf(`usage: %s -dir DIR [flags] URL

Takes wake and task-pending records from a running Go program that serves
net/http/pprof, without rebuilding it: asks URL's /debug/pprof/trace for one
window of execution trace after another (-window each, -every apart, back
to back by default) and converts each as it arrives into v9 files like the
shim's: DIR/NAME-PORT-SEQ.bin (and .jsonl with -jsonl), rotated at -maxfile,
all wakeshim files in DIR capped at -maxtotal. NAME is the URL's host (or
-name). Nothing is recorded between windows; the summary says how much of
the time the windows covered.

URL is the program's address (http://localhost:6060, localhost:6060) or
its pprof prefix (http://localhost:6060/debug/pprof/).

Runs until -for has passed or it is interrupted: the first interrupt
(Ctrl-C) finishes the window in progress, a second one cuts it (what was
received is kept); SIGTERM cuts at once. Transient failures (a timeout, a
5xx, a trace already running in the target, a body cut short) are retried
with back-off; a refused connection or a server without pprof (404) ends
the run with exit status 1. See docs/attach.md.

Flags:
`, name)
}

type headers struct{ h http.Header }

func (h *headers) String() string { return "" }
func (h *headers) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if !ok || k == "" {
		return errors.New("want K:V")
	}
	if h.h == nil {
		h.h = http.Header{}
	}
	h.h.Add(k, v)
	return nil
}

type size struct{ n *int64 }

func (s size) String() string {
	if s.n == nil {
		return ""
	}
	return progressbar.Size(*s.n)
}
func (s size) Set(v string) error {
	n, err := bytesize.Parse(v)
	if err != nil {
		return err
	}
	*s.n = n
	return nil
}

// Run runs the subcommand called name with args (after the subcommand's
// name); it returns the exit status: 0 done, 1 failed, 2 bad usage.
func Run(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := attach.Config{MaxFile: attach.DefaultMaxFile, MaxTotal: attach.DefaultMaxTotal}
	var hdr headers
	var quiet bool
	fs.StringVar(&cfg.Dir, "dir", "", "write the files to `DIR` (required; created if missing)")
	fs.StringVar(&cfg.Name, "name", "", "first part of the file names (default: the URL's host)")
	fs.DurationVar(&cfg.Window, "window", attach.DefaultWindow, "trace time per request")
	fs.DurationVar(&cfg.Every, "every", 0, "start a window this often (0: back to back)")
	fs.DurationVar(&cfg.For, "for", 0, "attach this long in all (0: until interrupted)")
	fs.DurationVar(&cfg.Threshold, "threshold", time.Millisecond, "shortest block reported as a TaskPending")
	fs.BoolVar(&cfg.Dumps, "dumps", false, "also fetch /debug/pprof/goroutine?debug=2 before each window: stacks and ages of goroutines blocked since before it, kept beside the records for dumpdiff")
	fs.DurationVar(&cfg.LeakProfile, "leakprofile", attach.DefaultLeak, "fetch /debug/pprof/goroutineleak?debug=2 after a window at most this often (a full GC in the target each time; 0: never), kept beside the records: wakeshim report's proof of leaks")
	fs.Var(&hdr, "header", "add header `K:V` to every request (repeatable)")
	fs.DurationVar(&cfg.Timeout, "timeout", attach.DefaultTimeout, "longest a request may take beyond its window")
	fs.BoolVar(&cfg.JSONL, "jsonl", false, "also write the JSONL rendering beside each binary file")
	fs.Var(size{&cfg.MaxFile}, "maxfile", "start a new file at this `size`")
	fs.Var(size{&cfg.MaxTotal}, "maxtotal", "cap on all wakeshim files in DIR (`size`; the oldest are removed first)")
	fs.StringVar(&cfg.Metrics, "metrics", "", "serve Prometheus metrics of the target (the shim's: waits by reason, wake latency, wakes, blocked goroutines) at http://`ADDR`/metrics while attached, e.g. 127.0.0.1:9464")
	fs.IntVar(&cfg.Retries, "retries", attach.DefaultRetries, "transient failures in a row retried before giving up (0: none)")
	fs.BoolVar(&quiet, "q", false, "no progress, no summary line")
	if code, ok := cliflags.Parse(fs, Usage(name), args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s\n", name, fmt.Sprintf(format, a...))
		fmt.Fprintf(stderr, "run '%s -h' for usage\n", name)
		return 2
	}
	switch {
	case fs.NArg() != 1:
		return usageErr("want one URL, got %d arguments", fs.NArg())
	case cfg.Dir == "":
		return usageErr("-dir is required")
	case cfg.Threshold <= 0:
		return usageErr("-threshold must be positive")
	case cfg.Window < attach.MinWindow:
		return usageErr("-window must be at least %v", attach.MinWindow)
	case cfg.Every != 0 && cfg.Every < cfg.Window:
		return usageErr("-every %v is shorter than -window %v", cfg.Every, cfg.Window)
	case cfg.For < 0 || cfg.Timeout <= 0:
		return usageErr("-for must not be negative, -timeout must be positive")
	case cfg.Retries < 0:
		return usageErr("-retries must not be negative")
	case cfg.LeakProfile < 0:
		return usageErr("-leakprofile must not be negative (0: never)")
	}
	if cfg.Metrics != "" {
		if _, port, err := net.SplitHostPort(cfg.Metrics); err != nil || port == "" {
			return usageErr("-metrics %q: want HOST:PORT, like 127.0.0.1:9464", cfg.Metrics)
		}
	}
	if cfg.Retries == 0 {
		cfg.Retries = -1 // none
	}
	if cfg.LeakProfile == 0 {
		cfg.LeakProfile = -1 // never
	}
	cfg.URL = fs.Arg(0)
	cfg.Header = hdr.h

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	cut := make(chan struct{})
	cfg.Cut = cut
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	p := newProgress(stderr, quiet)
	cfg.Log = func(msg string) { p.line(name + ": " + msg) }
	cfg.Progress = p.update
	done := make(chan struct{})
	defer close(done)
	go func() {
		var once sync.Once
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				if s == os.Interrupt && ctx.Err() == nil {
					stop()
					p.line(name + ": interrupted: finishing the window in progress (interrupt again to cut it)")
					continue
				}
				once.Do(func() { close(cut) })
			}
		}
	}()
	go p.tick(done)

	sum, err := attach.Run(ctx, cfg)
	p.clear()
	if !quiet {
		fmt.Fprintln(stderr, summaryLine(name, sum))
	}
	if err != nil {
		var e *attach.Error
		if errors.As(err, &e) && !errors.Is(err, attach.ErrGaveUp) {
			fmt.Fprintf(stderr, "%s: %s\n", name, e)
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
		}
		return 1
	}
	return 0
}

// summaryLine is the one line at the end of a run.
func summaryLine(name string, s attach.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s for %v: %d windows (%d cut short), %s of trace", name, s.URL, s.Wall.Round(time.Millisecond),
		s.Windows, s.Cut, progressbar.Size(s.TraceBytes))
	if s.Dumps > 0 {
		fmt.Fprintf(&b, ", %d dumps (%s)", s.Dumps, progressbar.Size(s.DumpBytes))
	}
	if s.LeakProfiles > 0 {
		fmt.Fprintf(&b, ", %d goroutineleak profiles", s.LeakProfiles)
	}
	fmt.Fprintf(&b, " -> %d records (%d wakes, %d pending) in %d files", s.Records, s.Wakes, s.Pending, s.Files)
	if s.Files > 0 {
		dir := filepath.Dir(s.LastFile)
		if s.Files == 1 {
			fmt.Fprintf(&b, " (%s)", s.LastFile)
		} else {
			fmt.Fprintf(&b, " (%s/%s .. %s)", dir, filepath.Base(s.FirstFile), filepath.Base(s.LastFile))
		}
	}
	fmt.Fprintf(&b, ", %s; coverage %.1f%% (%v traced)", progressbar.Size(s.BytesWritten), 100*s.Coverage(), s.Traced.Round(time.Millisecond))
	if s.Failures > 0 {
		fmt.Fprintf(&b, ", %d failed requests", s.Failures)
	}
	if s.ParserFallbacks > 0 {
		fmt.Fprintf(&b, ", %d windows parsed by x/exp (another trace format version)", s.ParserFallbacks)
	}
	if s.Restarts > 0 {
		fmt.Fprintf(&b, ", %d target restarts", s.Restarts)
	}
	if s.FilesRemoved > 0 {
		fmt.Fprintf(&b, ", %d old files removed by -maxtotal", s.FilesRemoved)
	}
	if s.RecordsDropped > 0 {
		fmt.Fprintf(&b, ", %d records dropped by write errors", s.RecordsDropped)
	}
	return b.String()
}

// progress draws a status line on stderr when it is a terminal: the window
// in progress (a bar of its trace time) and the counts so far. Messages go
// above it.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	show  bool
	sum   attach.Summary
	drawn bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		p.show = true
	}
	return p
}

func (p *progress) update(s attach.Summary) {
	p.mu.Lock()
	p.sum = s
	p.mu.Unlock()
}

func (p *progress) line(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintln(p.w, msg)
}

func (p *progress) tick(done <-chan struct{}) {
	p.mu.Lock()
	show := p.show
	p.mu.Unlock()
	if !show {
		return
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		p.mu.Lock()
		if !p.show {
			p.mu.Unlock()
			return
		}
		s := p.sum
		var bar string
		if s.Window > 0 && s.WindowLen > 0 {
			const width = 20
			el := time.Since(s.WindowStart)
			frac := min(float64(el)/float64(s.WindowLen), 1)
			fill := int(frac * width)
			bar = fmt.Sprintf("window %d [%s%s] %s ", s.Window, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), progressbar.Size(s.WindowBytes))
		}
		wall := time.Since(s.Start)
		cov := 0.0
		if wall > 0 && !s.Start.IsZero() {
			cov = min(1, float64(s.Traced)/float64(wall))
		}
		fmt.Fprintf(p.w, "\r\033[K%s| %d windows, %d records, %d wakes, %d pending, coverage %.0f%%", bar, s.Windows, s.Records, s.Wakes, s.Pending, 100*cov)
		p.drawn = true
		p.mu.Unlock()
	}
}

func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	p.show = false
}
