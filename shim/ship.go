package shim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
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
}

func newShipper(s *Session, out *rotate.Files) (*shipper, error) {
	c, err := fleet.NewClient(s.cfg.Ship)
	if err != nil {
		return nil, err
	}
	// Few retries inside a load: the shipper's own backoff takes over.
	c.Retries, c.Backoff = 2, 200*time.Millisecond
	// One idle connection, closed soon: the transport's goroutines
	// (net/http's, not the shim's) live while the shipper ships.
	c.SetTransport(&http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConns: 1, IdleConnTimeout: 5 * time.Second})
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	ctx, cancel := context.WithCancel(context.Background())
	sh := &shipper{s: s, out: out, c: c, host: host, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
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
// of ClickHouse.
func (sh *shipper) round() error {
	groups, err := sh.out.Unshipped()
	if err != nil {
		return err
	}
	groups = slices.DeleteFunc(groups, func(g rotate.Group) bool { return sh.bad[g.Records] })
	for len(groups) > 0 {
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
	res, err := fleet.Ship(sh.ctx, sh.c, paths, fleet.ShipOptions{
		Service: sh.s.cfg.Service, Instance: sh.instance(groups[0].PID)})
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
