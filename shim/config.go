package shim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/fleet"
	"github.com/wakeshim/wakeshim/internal/bytesize"
)

// Config controls a Session. Its zero value means the documented defaults,
// except Dir, which is required.
type Config struct {
	// Dir is the directory the files go to; it is created if missing.
	Dir string

	// Ship is the URL of a ClickHouse server's HTTP interface
	// (http://127.0.0.1:8123/?database=wakeshim, as for wakeshim ship):
	// the shim ships each closed records file there itself, in a
	// goroutine of its own, and removes the file (with its JSONL, dump
	// and leak profile) once ClickHouse acknowledged it (docs/fleet.md,
	// "The shim ships by itself"). Empty: no shipping.
	Ship string
	// Service names the service in ClickHouse; required with Ship.
	Service string
	// Instance names the instance; empty means HOST-PID, the host's name
	// and the pid of the process that wrote the file.
	Instance string

	// Threshold is the shortest block reported as a TaskPending record.
	// Zero means 1ms.
	Threshold time.Duration

	// JSONL also writes the JSONL rendering of each file beside it
	// (NAME.jsonl next to NAME.bin).
	JSONL bool

	// Dumps keeps the goroutine dumps the sampler takes beside the records:
	// NAME.goroutines.txt next to NAME.bin, in the debug=2 form of
	// /debug/pprof/goroutine, the last dump taken while NAME.bin was being
	// written, for cmd/dumpdiff. It needs the sampler (Sample not negative).
	Dumps bool

	// LeakProfile is the interval of the goroutineleak profile, the Go
	// runtime's proof of leaks (pprof.Lookup("goroutineleak"): built in
	// from Go 1.27, behind GOEXPERIMENT=goroutineleakprofile in 1.26),
	// kept beside the records as NAME.goroutineleak.txt (debug=2 text,
	// the last one taken while NAME.bin was current), where wakeshim
	// report finds it. The first is taken after 10s (or LeakProfile if
	// shorter). Each profile runs a full GC cycle; its time is
	// charged to Budget, and the next waits at least 20 times as long
	// as the last took (docs/shim.md). One more is taken at Stop (best
	// effort: a process that ends in os.Exit keeps the last periodic
	// one). Zero means 1m; negative turns it off. Where the Go running
	// the program has no such profile, a LeakProfile set (not zero)
	// says so once on Stderr; the default steps aside silently.
	LeakProfile time.Duration

	// Parser is the trace parser of the worker: "fast" (the default), the
	// converter's own decoder of the trace format, or "exp",
	// golang.org/x/exp/trace's Reader (the reference, several times the
	// CPU per trace byte). Another value is an error.
	Parser string

	// Sample is the interval of the goroutine-dump sampler, which finds
	// goroutines blocked since before the trace could see them. Zero means
	// 1s; negative turns the sampler off. The dumps are charged to Budget,
	// and the sampler waits longer when they are expensive (very many
	// goroutines): after a dump that cost d, at least d/0.05, or
	// d/(Budget/2) if that is longer. A block older than Sample has its age
	// in the files, written again as it grows.
	Sample time.Duration

	// MaxFile is the size in bytes at which a file is closed and the next
	// one started. Zero means 64MB (64<<20).
	MaxFile int64

	// MaxTotal caps the bytes of all wakeshim files in Dir (of any program
	// and process): past it the oldest are removed. Zero means 1GB (1<<30).
	// It must be at least MaxFile (twice MaxFile with JSONL).
	MaxTotal int64

	// Budget is the share of one CPU the shim may cost the program,
	// averaged over a few seconds: the time it spends parsing and
	// converting the trace, plus an estimate of the execution tracer's own
	// cost (proportional to the trace it writes). When it is spent, the
	// tracer is paused until the debt is paid back, so the records come in
	// windows (docs/shim.md). Zero means 0.05 (5%); 1, +Inf or negative
	// means no limit: the tracer always runs and all of it is converted.
	// Above 1 is an error (a share, not a percentage).
	Budget float64

	// Interval is how often the trace is taken from the flight recorder and
	// converted, and the files flushed: the most a process that dies
	// without Stop loses is about this plus the time to convert it. Zero
	// means 500ms; it must not exceed 1s.
	Interval time.Duration

	// StopTimeout bounds how long Stop waits for the last snapshot to be
	// converted and the files closed; past it Stop returns an error and
	// leaves the shim's goroutines to finish on their own. Zero means 10s;
	// negative is an error.
	StopTimeout time.Duration

	// Metrics, when set, is the address (HOST:PORT, like 127.0.0.1:9464;
	// port 0 picks a free one, Session.MetricsAddr says which) where the
	// session serves its metrics at /metrics, in the Prometheus text format
	// (docs/fleet.md). A listener that cannot be had (the port in use) is
	// reported once on Stderr and the session runs on without it; Stop
	// closes it.
	Metrics string

	// Stderr receives the shim's one-line reports (tracer unavailable, drop
	// counts, an internal failure). Nil means os.Stderr.
	Stderr io.Writer

	// leakSet: LeakProfile was asked for (not the default), so its
	// absence is reported.
	leakSet bool

	// fromEnv is set by ParseEnv: Start then reports a Dir it cannot use
	// as a *KeyError naming dir.
	fromEnv bool
}

// Defaults of Config.
const (
	DefaultThreshold = time.Millisecond
	DefaultSample    = time.Second
	DefaultMaxFile   = 64 << 20
	DefaultMaxTotal  = 1 << 30
	DefaultBudget    = 0.05
	DefaultInterval  = 500 * time.Millisecond
	DefaultStopTime  = 10 * time.Second
	DefaultLeak      = time.Minute
)

func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("shim: Config.Dir (dir) is required")
	}
	if err := c.checkShip(); err != nil {
		return c, err
	}
	if c.Threshold < 0 {
		return c, fmt.Errorf("shim: negative Threshold (threshold) %v", c.Threshold)
	}
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold
	}
	if c.Sample == 0 {
		c.Sample = DefaultSample
	}
	c.leakSet = c.LeakProfile > 0
	if c.LeakProfile == 0 {
		c.LeakProfile = DefaultLeak
	}
	if c.LeakProfile > 0 && c.LeakProfile < time.Second {
		return c, fmt.Errorf("shim: LeakProfile (leakprofile) %v below 1s: each profile runs a full GC", c.LeakProfile)
	}
	if c.MaxFile < 0 || c.MaxTotal < 0 {
		return c, errors.New("shim: negative MaxFile (maxfile) or MaxTotal (maxtotal)")
	}
	if c.MaxFile == 0 {
		c.MaxFile = DefaultMaxFile
	}
	if c.MaxTotal == 0 {
		c.MaxTotal = DefaultMaxTotal
	}
	if c.MaxFile < 4096 {
		return c, fmt.Errorf("shim: MaxFile (maxfile) %d below 4096 bytes", c.MaxFile)
	}
	perFile := c.MaxFile
	if c.JSONL {
		perFile *= 2
	}
	if c.MaxTotal < perFile {
		return c, fmt.Errorf("shim: MaxTotal (maxtotal) %d below MaxFile (maxfile) %d, x2 with JSONL", c.MaxTotal, c.MaxFile)
	}
	switch c.Parser {
	case "":
		c.Parser = "fast"
	case "fast", "exp":
	default:
		return c, fmt.Errorf("shim: Parser (parser) %q: want fast or exp", c.Parser)
	}
	if c.Dumps && c.Sample < 0 {
		return c, errors.New("shim: Dumps (dumps) needs the sampler (sample)")
	}
	if math.IsNaN(c.Budget) {
		return c, errors.New("shim: Budget (budget) is NaN")
	}
	if c.Budget == 0 {
		c.Budget = DefaultBudget
	}
	if c.Budget > 1 && !math.IsInf(c.Budget, 1) {
		return c, fmt.Errorf("shim: Budget (budget) %v above 1: it is a share of one CPU (0.05 is 5%%); 1, +Inf or negative for no limit", c.Budget)
	}
	if c.Budget < 0 || c.Budget >= 1 {
		c.Budget = math.Inf(1)
	}
	if c.Interval < 0 || c.Interval > time.Second {
		return c, fmt.Errorf("shim: Interval (interval) %v outside (0, 1s]", c.Interval)
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Interval < 10*time.Millisecond {
		c.Interval = 10 * time.Millisecond
	}
	if c.StopTimeout < 0 {
		return c, fmt.Errorf("shim: negative StopTimeout %v", c.StopTimeout)
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = DefaultStopTime
	}
	if c.Metrics != "" {
		if err := checkAddr(c.Metrics); err != nil {
			return c, fmt.Errorf("shim: Metrics (metrics) %q: %v", c.Metrics, err)
		}
	}
	return c, nil
}

// KeyError is an invalid WAKESHIM setting: the key and what is wrong.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return "WAKESHIM: " + e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// ParseEnv parses the value of the WAKESHIM environment variable, a
// comma-separated list of key=value settings in the style of GODEBUG:
//
//	dir=PATH        Dir (required)
//	ship=URL        Ship (ClickHouse's HTTP interface; needs service=)
//	service=NAME    Service
//	instance=ID     Instance (default HOST-PID)
//	threshold=1ms   Threshold (a Go duration)
//	jsonl=1         JSONL (1/0, true/false, on/off)
//	dumps=1         Dumps (1/0, true/false, on/off)
//	leakprofile=1m  LeakProfile (a Go duration of 1s or more; off: none)
//	parser=exp      Parser (fast or exp)
//	sample=1s       Sample (0 or off: no sampler)
//	maxfile=64MB    MaxFile (bytes; B, KB/MB/GB = 1024^n, KiB/MiB/GiB too)
//	maxtotal=1GB    MaxTotal
//	budget=5%       Budget (a percentage, 5%, or a fraction below 1, 0.05;
//	                off or 100%: no limit; a bare number of 1 or more is an error)
//	interval=500ms  Interval
//	stoptimeout=10s StopTimeout
//	metrics=ADDR    Metrics (HOST:PORT: serve Prometheus metrics at /metrics)
//
// Empty items are skipped; an unknown key, a repeated key or a bad value is
// a *KeyError naming the key. The result has not been checked for
// consistency: Start does that.
func ParseEnv(s string) (Config, error) {
	var c Config
	seen := map[string]bool{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok {
			return Config{}, &KeyError{Key: key, Err: errors.New("missing =value")}
		}
		if seen[key] {
			return Config{}, &KeyError{Key: key, Err: errors.New("given twice")}
		}
		seen[key] = true
		var err error
		switch key {
		case "dir":
			if val == "" {
				err = errors.New("empty path")
			}
			c.Dir = val
		case "ship":
			c.Ship = val
			if _, err = fleet.NewClient(val); err != nil {
				err = errors.New(strings.TrimPrefix(err.Error(), "clickhouse "))
			}
		case "service":
			c.Service = val
			if val == "" {
				err = errors.New("empty name")
			}
		case "instance":
			c.Instance = val
			if val == "" {
				err = errors.New("empty name")
			}
		case "threshold":
			c.Threshold, err = parseDuration(val, false)
			if err == nil && c.Threshold == 0 {
				err = errors.New("must be positive")
			}
		case "jsonl":
			c.JSONL, err = parseBool(val)
		case "dumps":
			c.Dumps, err = parseBool(val)
		case "leakprofile":
			if val == "off" || val == "0" {
				c.LeakProfile = -1
				break
			}
			c.LeakProfile, err = parseDuration(val, false)
			if err == nil && c.LeakProfile < time.Second {
				err = errors.New("must be 1s or more (each profile runs a full GC), or off")
			}
		case "parser":
			if val != "fast" && val != "exp" {
				err = errors.New("want fast or exp")
			}
			c.Parser = val
		case "sample":
			if val == "off" {
				val = "0"
			}
			c.Sample, err = parseDuration(val, true)
			if err == nil && c.Sample == 0 {
				c.Sample = -1
			}
		case "maxfile":
			c.MaxFile, err = bytesize.Parse(val)
		case "maxtotal":
			c.MaxTotal, err = bytesize.Parse(val)
		case "budget":
			c.Budget, err = parseBudget(val)
		case "interval":
			c.Interval, err = parseDuration(val, false)
			if err == nil && (c.Interval <= 0 || c.Interval > time.Second) {
				err = errors.New("must be in (0, 1s]")
			}
		case "stoptimeout":
			c.StopTimeout, err = parseDuration(val, false)
			if err == nil && c.StopTimeout <= 0 {
				err = errors.New("must be positive")
			}
		case "metrics":
			err = checkAddr(val)
			c.Metrics = val
		default:
			err = errors.New("unknown key")
		}
		if err != nil {
			return Config{}, &KeyError{Key: key, Err: err}
		}
	}
	c.fromEnv = true
	if c.Dir == "" {
		return Config{}, &KeyError{Key: "dir", Err: errors.New("required")}
	}
	if c.Ship != "" && c.Service == "" {
		return Config{}, &KeyError{Key: "service", Err: errors.New("required with ship=")}
	}
	if c.Ship == "" && (c.Service != "" || c.Instance != "") {
		key := "service"
		if c.Service == "" {
			key = "instance"
		}
		return Config{}, &KeyError{Key: key, Err: errors.New("needs ship=URL")}
	}
	return c, nil
}

// checkShip checks the shipping settings (Ship, Service, Instance).
func (c Config) checkShip() error {
	if c.Ship == "" {
		if c.Service != "" || c.Instance != "" {
			return errors.New("shim: Config.Service (service) and Instance (instance) need Ship (ship)")
		}
		return nil
	}
	if _, err := fleet.NewClient(c.Ship); err != nil {
		return fmt.Errorf("shim: Config.Ship (ship): %w", err)
	}
	if c.Service == "" {
		return errors.New("shim: Config.Service (service) is required with Ship (ship)")
	}
	return nil
}

// checkAddr checks a listen address: HOST:PORT, HOST optional (all
// interfaces), PORT a number (0: any free one).
func checkAddr(s string) error {
	if s == "" {
		return errors.New("empty address (want HOST:PORT, like 127.0.0.1:9464)")
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("bad address %q (want HOST:PORT, like 127.0.0.1:9464)", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("bad port %q in %q (want a number up to 65535)", port, s)
	}
	return nil
}

func parseDuration(s string, zeroOK bool) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "t", "true", "on", "yes", "y":
		return true, nil
	case "0", "f", "false", "off", "no", "n":
		return false, nil
	}
	return false, fmt.Errorf("bad boolean %q", s)
}

// parseBudget parses a CPU budget: a percentage ("5%", "0.5%"), a fraction
// of one CPU below 1 ("0.05"), or off/none (no limit, as 100% is). A bare
// number of 1 or more is refused: "budget=5" is surely meant as 5%, and
// read as a fraction it would mean no limit at all.
func parseBudget(s string) (float64, error) {
	switch strings.ToLower(s) {
	case "off", "none":
		return -1, nil
	}
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, fmt.Errorf("bad budget %q (want a percentage like 5%%, a fraction below 1 like 0.05, or off)", s)
	}
	if pct {
		if v > 100 {
			return 0, fmt.Errorf("budget %q above 100%%", s)
		}
		v /= 100
	} else if v >= 1 {
		return 0, fmt.Errorf("bad budget %q: a fraction must be below 1 (write %s%% for a percentage, or off for no limit)", s, s)
	}
	if v >= 1 {
		return -1, nil
	}
	return v, nil
}
