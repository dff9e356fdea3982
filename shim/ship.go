package shim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wakeshim/wakeshim/fleet"
	"github.com/wakeshim/wakeshim/internal/rotate"
)

// The shipper's waits: after a failure, shipBackoffMin doubling up to
// shipBackoffMax; with nothing to ship, shipPoll between looks at the
// directory (the files of a process that ended; a closed file of this
// one is shipped at once, on the files' OnClose).
const (
	shipBackoffMin = time.Second
	shipBackoffMax = 30 * time.Second
	shipPoll       = 5 * time.Second
)

// beforeShip, if set, is called with a group's files before each attempt
// to ship them (the tests keep a link to each file, to compare with what
// ClickHouse holds once the shim removed them).
var beforeShip atomic.Pointer[func(files []string)]

// shipCharge, if set, gives the cost charged for a load from the one
// measured (the tests charge a known cost).
var shipCharge atomic.Pointer[func(measured time.Duration) time.Duration]

// errBudget ends a round held for the CPU budget: not a failure, the
// files wait on disk.
var errBudget = errors.New("shipping held for the CPU budget")

// shipper ships the closed records files to ClickHouse (Config.Ship) in
// its own goroutine, one file a load, oldest first, and removes each once
// ClickHouse acknowledged its load. It never blocks the worker (which
// only pokes it) nor the program; in an outage the files stay on disk
// under the cap, and the shipper tries again with backoff.
type shipper struct {
	s      *Session
	out    *rotate.Files
	c      *fleet.Client
	host   string
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// bad are files that cannot be read as records (reported once,
	// left to the cap).
	bad map[string]bool

	files, records, failures atomic.Int64
	shipNanos                atomic.Int64 // time in fleet.Ship, successful loads
	outage                   atomic.Bool

	// The CPU budget: costNanos is what the loads were charged (wall
	// time less the waits, see shipBatch), budgetWaits the rounds held
	// for the budget; held is set while the shipper is about to wait for
	// the worker to say the debt is paid (worker.housekeep pokes it).
	// waitNanos sums the waits of the loads (the answers of ClickHouse,
	// connecting, the client's backoff), written by net/http's goroutines.
	costNanos, budgetWaits atomic.Int64
	held                   atomic.Bool
	waitMu                 sync.Mutex
	waitNanos              int64
	wroteAt, connAt, dnsAt time.Time
}

func newShipper(s *Session, out *rotate.Files) (*shipper, error) {
	c, err := fleet.NewClient(s.cfg.Ship)
	if err != nil {
		return nil, err
	}
	// Few retries inside a load: the shipper's own backoff takes over.
	c.Retries, c.Backoff = 2, 200*time.Millisecond
	var sh *shipper
	c.OnRetry = func(_ error, wait time.Duration) { sh.waited(wait) }
	// One idle connection, closed soon: the transport's goroutines
	// (net/http's, not the shim's) live while the shipper ships.
	c.SetTransport(&http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConns: 1, IdleConnTimeout: 5 * time.Second})
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	ctx, cancel := context.WithCancel(context.Background())
	sh = &shipper{s: s, out: out, c: c, host: host, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), bad: map[string]bool{}}
	out.HoldForShip(processAlive)
	out.OnClose = sh.poke
	return sh, nil
}

// poke tells the shipper a file was closed (never blocks).
func (sh *shipper) poke() {
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

func (sh *shipper) instance(pid int) string {
	if sh.s.cfg.Instance != "" {
		return sh.s.cfg.Instance
	}
	return fmt.Sprintf("%s-%d", sh.host, pid)
}

func (sh *shipper) run() {
	s := sh.s
	defer close(sh.done)
	defer func() {
		if r := recover(); r != nil {
			s.recovered("shipper", r)
		}
	}()
	s.registerSelf()
	backoff := shipBackoffMin
	var since time.Time
	dropsSeen, dropWarned := 0, false
	final := false
	for {
		err := sh.round()
		switch {
		case err != nil && sh.ctx.Err() != nil:
			return // Stop gave up waiting
		case errors.Is(err, errBudget):
			// Not a failure: the worker pokes the shipper once the
			// debt is paid.
		case err != nil:
			sh.failures.Add(1)
			if !sh.outage.Load() {
				sh.outage.Store(true)
				since = time.Now()
				s.report("shipping to %s failed: %v; the files stay in %s (within maxtotal) and are shipped when it answers (retrying with backoff up to %v)",
					sh.c.URL(), err, s.cfg.Dir, shipBackoffMax)
			}
		case sh.outage.Load():
			sh.outage.Store(false)
			dropWarned = false
			backoff = shipBackoffMin
			s.report("shipping to %s again after %.1fs", sh.c.URL(), time.Since(since).Seconds())
		}
		if d := sh.out.DroppedUnshipped(); d > dropsSeen {
			if !dropWarned {
				dropWarned = true
				s.report("maxtotal (%d bytes) reached with files not shipped: the oldest are removed unshipped (%d so far; Stats().ShipDropped counts them)",
					s.cfg.MaxTotal, d)
			}
			dropsSeen = d
		}
		if final {
			return
		}
		wait, wake := shipPoll, sh.wake
		if sh.outage.Load() {
			wait, wake = backoff, nil // a new file does not cut the backoff short
			backoff = min(2*backoff, shipBackoffMax)
		}
		tm := time.NewTimer(wait)
		select {
		case <-wake:
		case <-tm.C:
		case <-s.workerDone:
			// The last file is closed: ship it, unless ClickHouse is
			// out (the files stay for the next process).
			if sh.outage.Load() {
				tm.Stop()
				return
			}
			final = true
		case <-sh.ctx.Done():
			tm.Stop()
			return
		}
		tm.Stop()
	}
}

// A load is up to shipBatchFiles consecutive files of one process, of
// shipBatchBytes in all (one file at least): fewer requests per file (a
// load costs some 15, and one part per table in ClickHouse), with what
// the load holds in memory bounded (fleet.Ship keeps a load's wakes
// until its end).
const (
	shipBatchFiles = 16
	shipBatchBytes = 8 << 20
)

// round ships every closed group, oldest first, up to the first failure
// of ClickHouse, or until the CPU budget is spent (errBudget).
func (sh *shipper) round() error {
	groups, err := sh.out.Unshipped()
	if err != nil {
		return err
	}
	groups = slices.DeleteFunc(groups, func(g rotate.Group) bool { return sh.bad[g.Records] })
	for len(groups) > 0 {
		if sh.holdForBudget() {
			sh.budgetWaits.Add(1)
			return errBudget
		}
		n, size := 0, int64(0)
		for n < len(groups) && n < shipBatchFiles && groups[n].PID == groups[0].PID {
			if fi, err := os.Stat(groups[n].Records); err == nil {
				if n > 0 && size+fi.Size() > shipBatchBytes {
					break
				}
				size += fi.Size()
			}
			n++
		}
		batch := groups[:n]
		groups = groups[n:]
		if err := sh.shipBatch(batch); err != nil {
			if sh.serverError(err) {
				return err
			}
			// A file that cannot be read: find it, ship the others.
			for _, g := range batch {
				if err := sh.shipBatch([]rotate.Group{g}); err != nil {
					if sh.serverError(err) {
						return err
					}
					if _, serr := os.Stat(g.Records); serr == nil {
						sh.bad[g.Records] = true
						sh.s.report("not shipped: %v (the file is left in place, to the cap)", err)
					}
				}
			}
		}
	}
	return nil
}

// shipBatch ships groups (of one process) as one load and removes them.
func (sh *shipper) shipBatch(groups []rotate.Group) error {
	if err := sh.ctx.Err(); err != nil {
		return err
	}
	// Locked while shipped: another process of the program shipping the
	// files of one that ended skips them meanwhile, and finds them
	// gone (or in ClickHouse already) after.
	locked := groups[:0:0]
	for _, g := range groups {
		if unlock, ok := lockShip(g.Records); ok {
			defer unlock()
			locked = append(locked, g)
		}
	}
	if groups = locked; len(groups) == 0 {
		return nil
	}
	paths := make([]string, 0, len(groups))
	for _, g := range groups {
		if f := beforeShip.Load(); f != nil {
			(*f)(g.Files)
		}
		paths = append(paths, g.Records)
	}
	// The goroutineleak profiles beside them prove the verdicts the
	// load ships (read, not shipped; removed with their records file).
	for _, g := range groups {
		for _, f := range g.Files {
			if strings.HasSuffix(f, "."+rotate.LeakExt) {
				paths = append(paths, f)
			}
		}
	}
	t0 := time.Now()
	w0 := sh.waitTotal()
	res, err := fleet.Ship(httptrace.WithClientTrace(sh.ctx, sh.trace()), sh.c, paths, fleet.ShipOptions{
		Service: sh.s.cfg.Service, Instance: sh.instance(groups[0].PID)})
	sh.charge(time.Since(t0) - (sh.waitTotal() - w0))
	if err != nil {
		for _, g := range groups {
			if _, serr := os.Stat(g.Records); errors.Is(serr, os.ErrNotExist) {
				// The cap removed one meanwhile (counted there): the
				// next round lists what is left.
				return nil
			}
		}
		return err
	}
	for _, g := range groups {
		if err := sh.out.Shipped(g); err != nil {
			sh.s.reportOnce("shipremove", "removing a shipped file: %v", err)
		}
	}
	sh.shipNanos.Add(int64(time.Since(t0)))
	sh.files.Add(int64(len(groups))) // shipped now or before (skipped: in ClickHouse already)
	sh.records.Add(res.Records)
	return nil
}

// serverError tells a failure of ClickHouse or of the way to it (worth
// a retry later) from a file that cannot be read as records: every error
// of the client names its server, or is ClickHouse's answer.
func (sh *shipper) serverError(err error) bool {
	var ce *fleet.Error
	return errors.As(err, &ce) || strings.Contains(err.Error(), "clickhouse "+sh.c.URL()) || sh.ctx.Err() != nil ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// The CPU budget (Config.Budget) pays for the shipping as it pays for the
// conversion, the dumps and the goroutineleak profiles: a load's cost is
// charged to the worker's account, and while the account is in debt the
// shipper ships nothing (the files wait on disk, within maxtotal, as in
// an outage), so that a backlog cannot take the shim over its budget.
// The cost of a load is its wall time, as for a profile, less what is
// not the shim's work: waiting for ClickHouse's answers (from the
// request written to the first byte of the answer), for a connection or
// a name, and the client's backoff between retries. What is left is
// reading the files, encoding the rows and net/http's side of the
// requests.

// charge charges a load's cost: the worker takes it into its account at
// its next housekeeping (worker.housekeep), the account being the
// worker's alone.
func (sh *shipper) charge(cost time.Duration) {
	if f := shipCharge.Load(); f != nil {
		cost = (*f)(cost)
	}
	cost = max(cost, 0)
	sh.costNanos.Add(int64(cost))
	sh.s.shipCost.Add(int64(cost))
}

// holdForBudget reports whether the next load is to wait for the budget:
// the account is in debt, or a charge is not yet in it (the worker's next
// housekeeping, within an Interval, settles it and pokes the shipper if
// the account is in credit). Without a budget, or once the worker is done
// (Stop ships the last files whatever the budget, as it converts the
// last window), nothing waits.
func (sh *shipper) holdForBudget() bool {
	s := sh.s
	if s.cfg.Budget >= 1 {
		return false
	}
	select {
	case <-s.workerDone:
		return false
	default:
	}
	sh.held.Store(true) // (before the look: a settlement after it pokes)
	if s.inDebt.Load() || s.shipCost.Load() > 0 {
		return true
	}
	sh.held.Store(false)
	return false
}

// budgetSettled is the worker's word that the shipper's charges are in
// the account and the account is in credit: a held shipper ships again.
func (sh *shipper) budgetSettled() {
	if sh.held.Swap(false) {
		sh.poke()
	}
}

func (sh *shipper) waited(d time.Duration) {
	sh.waitMu.Lock()
	sh.waitNanos += int64(d)
	sh.waitMu.Unlock()
}

func (sh *shipper) waitTotal() time.Duration {
	sh.waitMu.Lock()
	defer sh.waitMu.Unlock()
	return time.Duration(sh.waitNanos)
}

// trace times the waits of a load's requests (net/http calls it from its
// own goroutines; the requests of a load are one at a time).
func (sh *shipper) trace() *httptrace.ClientTrace {
	mark := func(at *time.Time) {
		sh.waitMu.Lock()
		*at = time.Now()
		sh.waitMu.Unlock()
	}
	since := func(at *time.Time) {
		sh.waitMu.Lock()
		if !at.IsZero() {
			sh.waitNanos += int64(time.Since(*at))
			*at = time.Time{}
		}
		sh.waitMu.Unlock()
	}
	return &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { mark(&sh.dnsAt) },
		DNSDone:              func(httptrace.DNSDoneInfo) { since(&sh.dnsAt) },
		ConnectStart:         func(string, string) { mark(&sh.connAt) },
		ConnectDone:          func(string, string, error) { since(&sh.connAt) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { mark(&sh.wroteAt) },
		GotFirstResponseByte: func() { since(&sh.wroteAt) },
	}
}
