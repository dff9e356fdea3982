// Package attach takes wake and task-pending records from a running Go
// program that serves net/http/pprof, with no change to the program: it
// asks /debug/pprof/trace for one window of execution trace after another
// and converts each as it arrives (the same converter as cmd/convert and
// the shim, one for the whole run) into v9 files exactly like the shim's.
//
// Between windows nothing is traced; a goroutine blocked across windows is
// one block, from its start (convert's Gap), and the summary says how much
// of the time the windows covered. docs/attach.md has the design, the
// errors and the cost on the target.
package attach

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/internal/metrics"
	"github.com/wakeshim/wakeshim/internal/rotate"
)

// Config controls an attach run. Its zero value, with URL and Dir set,
// means the documented defaults.
type Config struct {
	// URL is the target's address: its base (http://host:port, or
	// host:port) or the full prefix of its pprof handlers
	// (http://host:port/debug/pprof/, or a prefix of one's own ending in
	// /debug/pprof). Required.
	URL string
	// Dir is where the files go (created if missing). Required.
	Dir string
	// Name is the first part of the file names, DIR/NAME-PORT-SEQ.bin.
	// Empty means the URL's host (made safe for a file name: "localhost",
	// "10.0.0.7", "__1" for [::1]). PORT is the URL's port (80 or 443 by
	// default), so that targets on one host do not share files.
	Name string

	// Window is the trace time asked for per request
	// (/debug/pprof/trace?seconds=...). Zero means 5s; less than
	// MinWindow is an error.
	Window time.Duration
	// Every starts a window this often (from the start of one to the start
	// of the next). Zero means back to back; a value below Window is an
	// error.
	Every time.Duration
	// For is how long to attach in all; the last window is shortened to
	// end in time (one shorter than MinWindow is not taken). Zero means
	// until the context is done. Negative is an error.
	For time.Duration

	// Threshold is the shortest block reported as a TaskPending. Zero
	// means 1ms.
	Threshold time.Duration
	// Dumps also fetches /debug/pprof/goroutine?debug=2 right before each
	// window, keeps it beside the records (NAME-PORT-SEQ.goroutines.txt,
	// the last one of each file, for cmd/dumpdiff) and gives its stacks
	// and lower-bound ages to the goroutines blocked since before the
	// window (see ApplyDump in convert).
	Dumps bool
	// LeakProfile fetches the target's goroutineleak profile
	// (/debug/pprof/goroutineleak?debug=2: Go 1.27, or 1.26 built with
	// GOEXPERIMENT=goroutineleakprofile) after a window, at most this
	// often, and keeps it beside the records (NAME-PORT-SEQ.goroutineleak
	// .txt, the last one of each file), where wakeshim report finds the
	// proof of leaks. Each one runs a full GC in the target. Zero means
	// 1m; negative turns it off. A target that does not serve it (404) is
	// noted once in Log and not asked again.
	LeakProfile time.Duration
	// Header is added to every request (an authorization header).
	Header http.Header
	// Timeout bounds each request beyond the trace time it asks for: a
	// window must be complete within Window+Timeout of its request, a dump
	// within Timeout. Zero means 10s.
	Timeout time.Duration

	// JSONL also writes the JSONL rendering beside each binary file.
	JSONL bool
	// MaxFile starts a new file at this size. Zero means 64MB.
	MaxFile int64
	// MaxTotal caps all wakeshim files in Dir (the oldest are removed
	// first, as the shim does). Zero means 1GB.
	MaxTotal int64

	// Retries is how many times in a row a transient failure (a timeout,
	// a 5xx, a trace already running in the target, a body cut short, a
	// refused connection after a window succeeded) is retried before the
	// run gives up. The waits double from Backoff up to 30s. Zero means 5;
	// negative means none.
	Retries int
	// Backoff is the first wait after a failure. Zero means 1s.
	Backoff time.Duration

	// Cut, when closed, cuts the window in progress: the records of what
	// was received are kept, and Run returns. (Cancelling Run's context
	// only stops new windows; the one in progress is finished.)
	Cut <-chan struct{}
	// Log receives one line for each failure, retry and notice (no
	// newline). Nil: discarded.
	Log func(msg string)
	// Progress, if set, is called from Run's goroutine as a window
	// streams in (about every 250ms) and after each window, with the
	// counts so far.
	Progress func(Summary)
	// Metrics, when set, is the address (HOST:PORT; port 0: any free one)
	// where Run serves the run's metrics at /metrics while it runs, in the
	// Prometheus exposition format (promhttp): the shim's metrics for the
	// target, from the records (docs/fleet.md). Run says where on Log; a
	// listener that cannot be had is an error before any window.
	Metrics string
	// Client makes the requests. Nil means a client of Run's own (no
	// timeout of its own: Run sets the deadlines).
	Client *http.Client
}

// Defaults and limits of Config.
const (
	DefaultWindow   = 5 * time.Second
	DefaultTimeout  = 10 * time.Second
	DefaultMaxFile  = 64 << 20
	DefaultMaxTotal = 1 << 30
	DefaultRetries  = 5
	DefaultBackoff  = time.Second
	DefaultLeak     = time.Minute
	// MinWindow is the shortest window asked for.
	MinWindow = 100 * time.Millisecond
	// maxBackoff caps the waits between retries.
	maxBackoff = 30 * time.Second
	// maxDump bounds a goroutine dump read from the target.
	maxDump = 256 << 20
	// RefreshStep is the step of convert's Refresh between windows: a
	// block in progress at a window's end that has lasted at least the
	// window is written again, with its age, once it has grown by an
	// eighth or by this much.
	RefreshStep = 500 * time.Millisecond
)

// target is a parsed Config.URL.
type target struct {
	prefix string // ends with "/": prefix + "trace?seconds=..."
	host   string
	port   int
}

func parseURL(s string) (target, error) {
	if s == "" {
		return target{}, errors.New("attach: no URL")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return target{}, fmt.Errorf("attach: URL %q: %v", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return target{}, fmt.Errorf("attach: URL %q: scheme %q, want http or https", s, u.Scheme)
	}
	if u.Host == "" {
		return target{}, fmt.Errorf("attach: URL %q: no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return target{}, fmt.Errorf("attach: URL %q: a query or fragment has no place in the base address", s)
	}
	t := target{host: u.Hostname()}
	switch p := u.Port(); {
	case p != "":
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return target{}, fmt.Errorf("attach: URL %q: bad port %q", s, p)
		}
		t.port = n
	case u.Scheme == "https":
		t.port = 443
	default:
		t.port = 80
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if !strings.HasSuffix(path, "/debug/pprof") {
		path += "/debug/pprof"
	}
	t.prefix = u.Scheme + "://" + u.Host + path + "/"
	return t, nil
}

func (c Config) withDefaults() (Config, target, error) {
	t, err := parseURL(c.URL)
	if err != nil {
		return c, t, err
	}
	if c.Dir == "" {
		return c, t, errors.New("attach: no Dir")
	}
	if c.Name == "" {
		c.Name = t.host
	}
	c.Name = rotate.SafeName(c.Name)
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	switch {
	case c.Window < MinWindow:
		return c, t, fmt.Errorf("attach: Window %v shorter than %v", c.Window, MinWindow)
	case c.Every != 0 && c.Every < c.Window:
		return c, t, fmt.Errorf("attach: Every %v shorter than Window %v", c.Every, c.Window)
	case c.For < 0:
		return c, t, fmt.Errorf("attach: negative For %v", c.For)
	case c.Threshold < 0:
		return c, t, fmt.Errorf("attach: negative Threshold %v", c.Threshold)
	case c.Timeout < 0:
		return c, t, fmt.Errorf("attach: negative Timeout %v", c.Timeout)
	case c.MaxFile < 0 || c.MaxTotal < 0:
		return c, t, errors.New("attach: negative MaxFile or MaxTotal")
	case c.Backoff < 0:
		return c, t, fmt.Errorf("attach: negative Backoff %v", c.Backoff)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.LeakProfile == 0 {
		c.LeakProfile = DefaultLeak
	}
	if c.MaxFile == 0 {
		c.MaxFile = DefaultMaxFile
	}
	if c.MaxTotal == 0 {
		c.MaxTotal = DefaultMaxTotal
	}
	if c.MaxTotal < c.MaxFile {
		return c, t, fmt.Errorf("attach: MaxTotal %d below MaxFile %d", c.MaxTotal, c.MaxFile)
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.Log == nil {
		c.Log = func(string) {}
	}
	for k := range c.Header {
		if !validHeaderName(k) {
			return c, t, fmt.Errorf("attach: bad header name %q", k)
		}
	}
	return c, t, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// Summary counts what a run did.
type Summary struct {
	URL   string // the trace endpoint's prefix (…/debug/pprof/)
	Start time.Time
	// Wall is the time from the start of the run to now (to its end, in
	// the result of Run).
	Wall time.Duration
	// Windows counts the windows with at least one event converted;
	// Complete those received whole, Cut those cut short (their complete
	// generations kept).
	Windows, Complete, Cut int
	// Traced is the sum of the windows' trace spans (first to last event
	// of each): Traced/Wall is the share of the time the records cover.
	Traced time.Duration
	// Failures counts failed requests (each one reported to Log); Retried
	// those retried.
	Failures, Retried int
	TraceBytes        int64 // bytes of trace received
	Dumps             int   // goroutine dumps applied
	DumpBytes         int64
	// LeakProfiles counts the goroutineleak profiles kept (LeakProfile).
	LeakProfiles   int
	Events         int64 // trace events converted
	Records        int64 // records written
	Wakes, Pending int64
	Refreshed      int64 // TaskPending records of blocks still in progress between windows
	// Restarts counts new converters started because the target seemed to
	// have restarted (see docs/attach.md).
	Restarts int
	// ParserFallbacks counts windows in a trace format version the
	// converter's own decoder does not read, parsed by x/exp's instead.
	ParserFallbacks int
	// Window is the window in progress (0 if none): its number, the
	// bytes received so far and when it was asked for.
	Window      int
	WindowBytes int64
	WindowStart time.Time
	WindowLen   time.Duration
	// Files opened, removed by the cap, bytes written; RecordsDropped by
	// write errors.
	Files, FilesRemoved int
	BytesWritten        int64
	RecordsDropped      int64
	FirstFile, LastFile string
}

// Coverage is Traced/Wall: the share of the run's time the windows
// covered (0 if none).
func (s Summary) Coverage() float64 {
	if s.Wall <= 0 {
		return 0
	}
	return min(1, float64(s.Traced)/float64(s.Wall))
}

// Error is a failed request: the URL, what happened, and whether it is
// worth retrying.
type Error struct {
	URL string
	// Status is the HTTP status (0 if none came).
	Status int
	// What says what happened, in words ("connection refused", "404 Not
	// Found: no net/http/pprof here", ...).
	What string
	// Transient failures are retried (Config.Retries); the others end the
	// run.
	Transient bool
	Err       error // the underlying error, if any
}

func (e *Error) Error() string { return e.URL + ": " + e.What }
func (e *Error) Unwrap() error { return e.Err }

// Sentinels for errors.Is on a Run error.
var (
	// ErrNotPprof: the server answered 404 (no net/http/pprof at URL).
	ErrNotPprof = errors.New("attach: no net/http/pprof at this URL")
	// ErrTraceBusy: the target is already being traced by someone else.
	ErrTraceBusy = errors.New("attach: a trace is already running in the target")
	// ErrGaveUp wraps the last failure when Retries ran out.
	ErrGaveUp = errors.New("attach: gave up")
)

// isRefused reports a connection error: nothing listening, no route, no
// such host.
func isRefused(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	return errors.As(err, &dnsErr) || errors.As(err, &opErr) && opErr.Op == "dial"
}

// Run attaches to cfg.URL until cfg.For has passed, ctx is done (the
// window in progress is finished first; cfg.Cut cuts it) or a permanent
// failure. It returns the counts, and an error for a bad Config, a
// permanent failure (an *Error: refused before any window, 404, 401/403,
// not a trace), retries run out (wrapping ErrGaveUp) or the output
// failing. The records of every window, complete or cut, are written and
// the files closed whatever the outcome.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	cfg, tgt, err := cfg.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	out, err := rotate.New(cfg.Dir, cfg.Name, tgt.port, cfg.JSONL, cfg.MaxFile, cfg.MaxTotal)
	if err != nil {
		return Summary{}, fmt.Errorf("attach: Dir: %w", err)
	}
	r := &run{cfg: cfg, tgt: tgt, out: out, client: cfg.Client, tr: metrics.New(RefreshStep)}
	if cfg.Metrics != "" {
		stop, err := serveMetrics(cfg.Metrics, r.tr, cfg.Log)
		if err != nil {
			out.Close()
			return Summary{}, err
		}
		defer stop()
	}
	r.sum.URL = tgt.prefix
	r.sum.Start = time.Now()
	if r.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		r.client = &http.Client{Transport: tr}
	}
	if err := r.newConverter(); err != nil {
		return Summary{}, err
	}
	err = r.loop(ctx)
	if cerr := r.c.Close(); cerr != nil && err == nil && !errors.Is(cerr, convert.ErrClosed) {
		err = fmt.Errorf("attach: writing the records: %w", cerr)
	}
	if werr := out.Close(); werr != nil && err == nil {
		err = fmt.Errorf("attach: writing the records: %w", werr)
	}
	r.tr.Publish()
	r.update()
	return r.sum, err
}
