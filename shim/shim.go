// Package shim writes live wake and task-pending records (the v9 format of
// package format) from inside a running Go program.
//
// A Session holds the runtime/trace flight recorder (not the trace.Start
// slot, which stays free for the program and for /debug/pprof/trace),
// takes the new part of its window every Config.Interval, parses it
// in-process with golang.org/x/exp/trace and turns it into records with the
// same converter as cmd/convert (package convert), within a CPU budget. A
// goroutine-dump sampler finds goroutines blocked since before the trace
// could see them. Records go to rotating files DIR/PROGRAM-PID-SEQ.bin
// (and .jsonl) under a total size cap.
//
// Most programs use it through the blank import of shim/auto and the
// WAKESHIM environment variable; docs/shim.md has the design, loss bounds
// and overhead.
package shim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/internal/live"
	"github.com/wakeshim/wakeshim/internal/metrics"
	"github.com/wakeshim/wakeshim/internal/rotate"
	"github.com/wakeshim/wakeshim/shim/internal/budget"
)

// Errors of Start and Stop.
var (
	ErrRunning = errors.New("shim: a session is already running")
	ErrStopped = errors.New("shim: session already stopped")
)

var (
	activeMu sync.Mutex
	active   *Session
)

// Current returns the running session, or nil.
func Current() *Session {
	activeMu.Lock()
	defer activeMu.Unlock()
	return active
}

// Session is a running shim. Its methods are safe for concurrent use.
type Session struct {
	cfg   Config
	start time.Time
	// tracing reports that the flight recorder could be had at Start
	// (otherwise the session runs on the sampler alone).
	tracing bool

	chunks     chan chunk
	flushReq   chan chan struct{}
	stopc      chan struct{}
	pauseNow   chan struct{} // the worker asks for the tracer to pause
	snapDone   chan struct{}
	workerDone chan struct{}
	stopped    atomic.Bool

	ownMu sync.Mutex
	own   map[exptrace.GoID]bool

	reportMu sync.Mutex
	reported map[string]bool

	inDebt    atomic.Bool  // the worker spent its CPU budget: skip snapshots
	shipCost  atomic.Int64 // ns the shipper charged, not yet in the worker's account
	pauses    atomic.Int64 // times the tracer was paused for the budget
	tracerOff atomic.Int64 // nanoseconds the tracer was paused for the budget
	// samplerOnly is set while no flight recorder runs because one could
	// not be had again after a pause (the program took it): the worker
	// applies its dumps at once, as without a trace.
	samplerOnly   atomic.Bool
	samplerSpells atomic.Int64 // times the session fell back to the sampler alone
	samplerOff    atomic.Int64 // nanoseconds on the sampler alone (after a pause)
	snapErrs      atomic.Int64
	queueDrops    atomic.Int64 // generations dropped because the parser was behind
	evicted       atomic.Int64 // generations evicted from the ring before taken
	writeToNanos  atomic.Int64
	snapBytes     atomic.Int64
	snapshots     atomic.Int64

	// ship ships the closed files (Config.Ship); nil without.
	ship *shipper

	statsMu sync.Mutex
	stats   Stats
	err     error // the worker's final error

	// tracker counts the records for the metrics as the worker writes
	// them; metrics serves them (nil without Config.Metrics).
	tracker *metrics.Tracker
	metrics *metricsServer
}

// chunk is a run of consecutive complete generations of the trace, as the
// flight recorder wrote them (without the trace header).
type chunk struct {
	hdr         [traceHeaderLen]byte // the trace header
	data        []byte
	first, last uint64
	epoch       int           // the flight recorder it came from
	ack         chan struct{} // closed once the chunk is converted and flushed
}

// Stats counts what a session did.
type Stats struct {
	Tracing bool // the flight recorder could be had (false: sampler alone)
	// Pauses counts the times the tracer was stopped to keep within the
	// budget, and TracerOff the time it stayed off (up to the last restart).
	Pauses    int64
	TracerOff time.Duration
	// SamplerOnly counts the times a new flight recorder could not be had
	// after a pause (the program held one), and SamplerOnlyTime the time
	// the session then ran on the goroutine sampler alone (not part of
	// TracerOff).
	SamplerOnly     int64
	SamplerOnlyTime time.Duration

	Snapshots     int64         // FlightRecorder.WriteTo calls
	SnapshotBytes int64         // bytes WriteTo produced (the overlapping windows)
	WriteToTime   time.Duration // time spent in WriteTo
	TraceBytes    int64         // bytes of new generations taken
	Gens          int64         // generations converted
	// Generations of the trace recorded but not converted: GensLost is
	// the sum of those evicted from the recorder's ring before they were
	// taken, dropped because the worker was behind, skipped for the budget
	// (the tracer's pauses are not counted: nothing is recorded then), and
	// dropped after the conversion failed.
	GensEvicted, GensDropped, GensSkipped, GensFailed, GensLost int64
	ParseErrors                                                 int64 // generations the trace reader rejected
	// ParserFallbacks counts the trace readers started on x/exp's parser
	// because the fast decoder does not read the trace's format version.
	ParserFallbacks int64
	ParseTime       time.Duration // time the worker spent parsing and converting
	// TracerCostEst is the tracer's estimated cost in the program's
	// goroutines, charged to the budget with ParseTime.
	TracerCostEst time.Duration

	Samples    int64         // goroutine dumps taken
	SampleTime time.Duration // time spent taking and reading them (charged to the budget)
	// LeakProfiles counts the goroutineleak profiles taken
	// (Config.LeakProfile), LeakTime the time they took, each a full GC
	// (charged to the budget).
	LeakProfiles int64
	LeakTime     time.Duration
	// Refreshed counts the TaskPending records of blocks still in
	// progress: the age of each long block, written again as it grows.
	Refreshed int64

	Convert        convert.Stats // what the converter wrote
	BytesWritten   int64         // bytes written to files
	Files          int           // files opened: records files and the side files beside them (dumps, leak profiles)
	FilesRemoved   int           // files removed by the total cap
	RecordsDropped int64         // records lost to write errors
	WriteError     error         // the first write error, if any

	// With Config.Ship: ShipFiles counts the records files shipped (and
	// removed), ShipRecords their records, ShipFailures the rounds that
	// failed (ClickHouse unreachable or refusing), ShipDropped the
	// records files the cap removed before they could be shipped;
	// ShipOutage is set while the last round failed.
	ShipFiles, ShipRecords, ShipFailures, ShipDropped int64
	ShipOutage                                        bool
	// ShipTime is the time the successful loads took (reading the files
	// and the requests to ClickHouse). ShipCost is what the loads (failed
	// ones too) were charged to the CPU budget: their time less the waits
	// for ClickHouse's answers, connections and retries. ShipBudgetWaits
	// counts the rounds held because the budget was spent.
	ShipTime        time.Duration
	ShipCost        time.Duration
	ShipBudgetWaits int64
}

// Start starts a session. It fails if one is running, or on a bad Config.
// When the flight recorder cannot be had (the program runs its own
// runtime/trace.FlightRecorder), it says so once on Config.Stderr and the
// session runs on the goroutine sampler alone.
func Start(cfg Config) (*Session, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	activeMu.Lock()
	defer activeMu.Unlock()
	if active != nil {
		return nil, ErrRunning
	}
	out, err := rotate.New(cfg.Dir, rotate.ProgramName(os.Args[0]), os.Getpid(), cfg.JSONL, cfg.MaxFile, cfg.MaxTotal)
	if err != nil {
		if cfg.fromEnv {
			return nil, &KeyError{Key: "dir", Err: err}
		}
		return nil, fmt.Errorf("shim: Config.Dir (dir): %w", err)
	}
	out.LiveAge = max(rotate.DefaultLiveAge, 2*cfg.Interval)
	s := &Session{
		cfg:        cfg,
		start:      time.Now(),
		chunks:     make(chan chunk, 2),
		flushReq:   make(chan chan struct{}),
		stopc:      make(chan struct{}),
		pauseNow:   make(chan struct{}, 1),
		snapDone:   make(chan struct{}),
		workerDone: make(chan struct{}),
		own:        map[exptrace.GoID]bool{},
		reported:   map[string]bool{},
		tracker:    metrics.New(cfg.Interval), // (the converter's refresh step, worker.housekeep)
	}
	if cfg.Ship != "" {
		if s.ship, err = newShipper(s, out); err != nil {
			return nil, &KeyError{Key: "ship", Err: err}
		}
	}
	r := &recorder{s: s, start: newFlightRecorder(cfg.Interval), dutyCycle: !math.IsInf(cfg.Budget, 1), epoch: 1}
	if fr, err := r.start(); err != nil {
		if cfg.Sample < 0 {
			return nil, fmt.Errorf("shim: execution tracer unavailable (%v) and sampler off", err)
		}
		s.reportOnce("tracer", "execution tracer unavailable (%v); running on the goroutine sampler alone", err)
	} else {
		r.fr = fr
		s.tracing = true
	}
	ccfg := convert.Config{Threshold: cfg.Threshold, Ignore: s.ignore}
	if !s.tracing {
		ccfg.SampleInterval = -1 // no run queue to sample without the trace
	}
	var lv live.Ops
	ccfg.Live = &lv
	c, err := convert.New(ccfg, s.tracker.Wrap(out))
	if err != nil {
		r.close(time.Now())
		return nil, fmt.Errorf("shim: %w", err)
	}
	lv.SetTakeFull(out.Full) // (the worker rotates at the size limit)
	w := &worker{s: s, c: c, lv: lv, out: out, acct: budget.New(cfg.Budget, time.Now()), leak: newLeaker(s)}
	if d := startDebt.Load(); d > 0 {
		w.acct.Charge(w.acct.Allowance() + time.Duration(d))
	}
	// The labels show the shim's own CPU in the host's CPU profiles.
	go pprof.Do(context.Background(), pprof.Labels("wakeshim", "snapshot"), func(context.Context) { s.snapshotLoop(r) })
	go pprof.Do(context.Background(), pprof.Labels("wakeshim", "worker"), func(context.Context) { w.run() })
	if s.ship != nil {
		go pprof.Do(context.Background(), pprof.Labels("wakeshim", "ship"), func(context.Context) { s.ship.run() })
	}
	s.startMetrics()
	active = s
	return s, nil
}

// startDebt, if set, is the debt a session's budget starts with: all its
// allowance and this much more spent (tests: a first generation skipped
// for the budget).
var startDebt atomic.Int64

// stopTimeout is how long Stop waits for the session to end.
func (s *Session) stopTimeout() time.Duration {
	if s.cfg.StopTimeout <= 0 {
		return DefaultStopTime
	}
	return s.cfg.StopTimeout
}

// Stop takes a last snapshot, converts it, closes the files and ends the
// session. It reports on Config.Stderr, in one line, what was lost, if
// anything. It returns the first write error, if any, or the error that
// stopped the conversion (an internal panic included). It waits at most
// Config.StopTimeout for the last snapshot to be converted: past it, it
// reports what it abandoned and returns an error. A second Stop returns
// ErrStopped; Stop of a nil Session (Start failed) returns nil.
func (s *Session) Stop() error {
	if s == nil {
		return nil // nothing to stop
	}
	if !s.stopped.CompareAndSwap(false, true) {
		return ErrStopped
	}
	close(s.stopc)
	timeout := s.stopTimeout()
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	var abandoned []string
	for _, w := range []struct {
		done <-chan struct{}
		what string
	}{{s.snapDone, "the last snapshot"}, {s.workerDone, "the conversion of the last records and the closing of the files"}} {
		if len(abandoned) > 0 {
			// Out of time: what is left is not waited for.
			select {
			case <-w.done:
			default:
				abandoned = append(abandoned, w.what)
			}
			continue
		}
		select {
		case <-w.done:
		case <-tm.C:
			abandoned = append(abandoned, w.what)
		}
	}
	if s.ship != nil {
		// The last file, closed by the worker, is shipped if ClickHouse
		// answers, within what is left of StopTimeout; else it stays in
		// Dir for the next process.
		if s.ship.outage.Load() {
			s.ship.cancel() // ClickHouse is out: no try of the last file
		}
		if len(abandoned) == 0 {
			select {
			case <-s.ship.done:
			case <-tm.C:
				s.report("Stop: shipping to %s abandoned after %v; the files not shipped stay in %s for the next process", s.ship.c.URL(), timeout, s.cfg.Dir)
			}
		}
		s.ship.cancel()
	}
	activeMu.Lock()
	if active == s {
		active = nil
	}
	activeMu.Unlock()
	if s.metrics != nil {
		s.metrics.close()
	}
	if len(abandoned) > 0 {
		err := fmt.Errorf("shim: Stop gave up after %v: %s abandoned (the records not yet flushed may be lost)", timeout, strings.Join(abandoned, " and "))
		s.report("%v", err)
		s.statsMu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.statsMu.Unlock()
		return err
	}
	st := s.Stats()
	var parts []string
	if st.GensLost > 0 {
		parts = append(parts, fmt.Sprintf("%d trace generations not converted (%d skipped for the CPU budget, %d dropped with the converter behind, %d evicted before they were taken, %d after a failure)",
			st.GensLost, st.GensSkipped, st.GensDropped, st.GensEvicted, st.GensFailed))
	}
	if st.Pauses > 0 {
		parts = append(parts, fmt.Sprintf("tracer paused %d times (%.1fs in all) to keep within the CPU budget", st.Pauses, st.TracerOff.Seconds()))
	}
	if st.SamplerOnly > 0 {
		parts = append(parts, fmt.Sprintf("%.1fs on the goroutine sampler alone (%d times the execution tracer could not be had again after a pause, or failed)", st.SamplerOnlyTime.Seconds(), st.SamplerOnly))
	}
	if st.ParseErrors > 0 {
		parts = append(parts, fmt.Sprintf("%d generations rejected by the trace reader", st.ParseErrors))
	}
	if st.RecordsDropped > 0 {
		parts = append(parts, fmt.Sprintf("%d records dropped (%v)", st.RecordsDropped, st.WriteError))
	}
	if st.ShipDropped > 0 {
		parts = append(parts, fmt.Sprintf("%d records files removed by maxtotal before they could be shipped", st.ShipDropped))
	}
	if len(parts) > 0 {
		s.report("stopped: %s", strings.Join(parts, ", "))
	}
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.err != nil {
		return s.err
	}
	return st.WriteError
}

// Flush takes a snapshot of the trace now, converts it and writes every
// record so far to the files, and waits for that until ctx is done. It
// returns nil once done; ErrStopped after Stop (or once the session ended
// on an internal error), ctx.Err() when ctx is done first. Flush of a nil
// Session does nothing.
func (s *Session) Flush(ctx context.Context) error {
	if s == nil {
		return nil
	}
	ack := make(chan struct{})
	select {
	case s.flushReq <- ack:
	case <-s.snapDone:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-s.workerDone:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the counts so far (updated after each converted snapshot);
// zero for a nil Session.
func (s *Session) Stats() Stats {
	if s == nil {
		return Stats{}
	}
	s.statsMu.Lock()
	st := s.stats
	s.statsMu.Unlock()
	st.Snapshots = s.snapshots.Load()
	st.SnapshotBytes = s.snapBytes.Load()
	st.WriteToTime = time.Duration(s.writeToNanos.Load())
	st.Pauses = s.pauses.Load()
	st.TracerOff = time.Duration(s.tracerOff.Load())
	st.SamplerOnly = s.samplerSpells.Load()
	st.SamplerOnlyTime = time.Duration(s.samplerOff.Load())
	if sh := s.ship; sh != nil {
		st.ShipFiles = sh.files.Load()
		st.ShipRecords = sh.records.Load()
		st.ShipFailures = sh.failures.Load()
		st.ShipDropped = int64(sh.out.DroppedUnshipped())
		st.ShipOutage = sh.outage.Load()
		st.ShipTime = time.Duration(sh.shipNanos.Load())
		st.ShipCost = time.Duration(sh.costNanos.Load())
		st.ShipBudgetWaits = sh.budgetWaits.Load()
	}
	return st
}

// Config returns the session's configuration, defaults filled in.
func (s *Session) Config() Config {
	if s == nil {
		return Config{}
	}
	return s.cfg
}

func (s *Session) stderr() io.Writer {
	if s.cfg.Stderr != nil {
		return s.cfg.Stderr
	}
	return os.Stderr
}

func (s *Session) report(format string, args ...any) {
	fmt.Fprintf(s.stderr(), "wakeshim: "+format+"\n", args...)
}

// reportOnce reports once per key per session.
func (s *Session) reportOnce(key, format string, args ...any) {
	s.reportMu.Lock()
	done := s.reported[key]
	s.reported[key] = true
	s.reportMu.Unlock()
	if !done {
		s.report(format, args...)
	}
}

// recovered reports a panic of one of the shim's goroutines, once.
// Stop then returns an error.
func (s *Session) recovered(where string, r any) {
	s.reportOnce("panic", "internal error in %s: %v; the shim stops converting (please report)%s", where, r, debugStack())
	s.statsMu.Lock()
	if s.err == nil {
		s.err = fmt.Errorf("shim: internal error in %s: %v", where, r)
	}
	s.statsMu.Unlock()
}

// curGoID returns the calling goroutine's id, from the header line of its
// stack ("goroutine N [running]:").
func curGoID() exptrace.GoID {
	var b [64]byte
	n := runtime.Stack(b[:], false)
	f := strings.Fields(string(b[:n]))
	if len(f) < 2 {
		return exptrace.NoGoroutine
	}
	id, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return exptrace.NoGoroutine
	}
	return exptrace.GoID(id)
}

// registerSelf records the calling goroutine as the shim's own.
func (s *Session) registerSelf() {
	id := curGoID()
	s.ownMu.Lock()
	s.own[id] = true
	s.ownMu.Unlock()
}

func (s *Session) isOwn(id exptrace.GoID) bool {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	return s.own[id]
}

// shimPkg is the prefix of the functions of this package (and below).
const shimPkg = "github.com/wakeshim/wakeshim/shim."

// ignore is the converter's Config.Ignore: the shim's goroutines (by the
// ids they recorded, or by their start function) and the runtime's own, as
// cmd/convert leaves them out (convert.SystemGoroutine).
func (s *Session) ignore(id exptrace.GoID, stk convert.Stack) bool {
	if s.isOwn(id) {
		return true
	}
	if id == 1 {
		return false // the program's main goroutine, even while it starts the shim in an init
	}
	return strings.HasPrefix(convert.Outermost(stk), shimPkg) || convert.SystemGoroutine(id, stk)
}

// snapshotLoop takes the new part of the flight recorder's window every
// Interval and hands it to the worker without ever blocking on it (a full
// queue drops the chunk: the worker sees the gap in generation numbers).
// It also serves Flush and the final snapshot of Stop. The recorder decides
// when the tracer pauses for the budget and when it comes back.
func (s *Session) snapshotLoop(r *recorder) {
	var closeOnce sync.Once
	closeChunks := func() { closeOnce.Do(func() { close(s.chunks) }) }
	defer close(s.snapDone)
	defer func() { r.close(time.Now()) }()
	defer closeChunks()
	defer func() {
		if p := recover(); p != nil {
			s.recovered("snapshot loop", p)
		}
	}()
	s.registerSelf()
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		var ack chan struct{}
		final := false
		select {
		case <-t.C:
		case ack = <-s.flushReq:
		case <-s.stopc:
			final = true
		case <-s.workerDone:
			return
		case <-s.pauseNow:
			if s.inDebt.Load() {
				r.pause(time.Now())
			}
			continue
		}
		if final {
			ack = make(chan struct{}) // Stop's chunk is always converted
		}
		ch := r.snapshot(time.Now(), s.inDebt.Load, final)
		ch.ack = ack
		switch {
		case ack != nil:
			select {
			case s.chunks <- ch:
			case <-s.workerDone:
				return
			}
		case ch.data != nil:
			select {
			case s.chunks <- ch:
			default:
				s.queueDrops.Add(int64(ch.last - ch.first + 1))
			}
		}
		if final {
			return
		}
	}
}

func debugStack() string {
	if os.Getenv("WAKESHIM_DEBUG") != "" {
		return "\n" + string(debug.Stack())
	}
	return ""
}
