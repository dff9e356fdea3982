package main

import (
	"context"
	"sync"
)

func init() {
	register(&scenario{Name: "cockroach13197", Issue: "https://github.com/cockroachdb/cockroach/pull/13197",
		Leaks: []leak{{"main.(*tx13197).awaitDone", 1, "chan receive"}}, run: cockroach13197})
	register(&scenario{Name: "cockroach13755", Issue: "https://github.com/cockroachdb/cockroach/pull/13755",
		Leaks: []leak{{"main.(*rows13755).awaitDone", 1, "chan receive"}}, run: cockroach13755})
	register(&scenario{Name: "cockroach24808", Issue: "https://github.com/cockroachdb/cockroach/pull/24808",
		Leaks: []leak{{"main.cockroach24808.func1", 1, "chan send"}}, run: cockroach24808})
	register(&scenario{Name: "cockroach25456", Issue: "https://github.com/cockroachdb/cockroach/pull/25456",
		Leaks: []leak{{"main.cockroach25456.func1", 1, "chan receive"}}, run: cockroach25456})
	register(&scenario{Name: "cockroach35073", Issue: "https://github.com/cockroachdb/cockroach/pull/35073",
		Leaks: []leak{{"main.cockroach35073.func1", 1, "chan send"}, {"main.cockroach35073.func1.1", 1, "chan send"}}, run: cockroach35073})
	register(&scenario{Name: "cockroach7504", Issue: "https://github.com/cockroachdb/cockroach/pull/7504", Deadlock: true,
		Leaks: []leak{{"main.(*leaseState7504).acquire", 1, "sync.Mutex.Lock"}, {"main.(*tableState7504).release", 1, "sync.Mutex.Lock"}}, run: cockroach7504})
	register(&scenario{Name: "cockroach10214", Issue: "https://github.com/cockroachdb/cockroach/pull/10214", Deadlock: true,
		Leaks: []leak{{"main.(*store10214).sendQueuedHeartbeats", 1, "sync.Mutex.Lock"}, {"main.(*replica10214).tick", 1, "sync.Mutex.Lock"}}, run: cockroach10214})
}

// cockroach#13197: (*Tx).begin starts awaitDone, which waits for the
// transaction's context to be cancelled; a transaction that is neither
// committed nor rolled back never cancels it (a forgotten cancel).
type tx13197 struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (t *tx13197) awaitDone() { <-t.ctx.Done() }

func begin13197(ctx context.Context) *tx13197 {
	ctx, cancel := context.WithCancel(ctx)
	t := &tx13197{ctx: ctx, cancel: cancel}
	go t.awaitDone()
	return t
}

func cockroach13197() {
	_ = begin13197(context.Background()) // never t.cancel(): Rollback forgotten
}

// cockroach#13755: sql.Rows starts awaitDone on the query's context; rows
// that are read to the end but never closed never cancel it.
type rows13755 struct {
	ctx    context.Context
	cancel context.CancelFunc
	n      int
}

func (r *rows13755) awaitDone() {
	<-r.ctx.Done()
	r.n = -1
}

func (r *rows13755) Next() bool { r.n--; return r.n > 0 }

func query13755() *rows13755 {
	ctx, cancel := context.WithCancel(context.Background())
	r := &rows13755{ctx: ctx, cancel: cancel, n: 3}
	go r.awaitDone()
	return r
}

func cockroach13755() {
	r := query13755()
	for r.Next() {
	}
	// The fix: defer r.Close(), which cancels.
}

// cockroach#24808: the compactor's Start signals its own channel (buffer
// 1) before the worker that drains it runs; when the channel already holds
// a signal, Start blocks on the send for good.
type compactor24808 struct{ ch chan struct{} }

func (c *compactor24808) Start(stop <-chan struct{}, wg *sync.WaitGroup) {
	c.ch <- struct{}{} // blocks: the buffer is full and nothing drains it yet
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-c.ch:
			}
		}
	}()
}

func cockroach24808() {
	go func() {
		stop := make(chan struct{})
		defer close(stop)
		var wg sync.WaitGroup
		c := &compactor24808{ch: make(chan struct{}, 1)}
		c.ch <- struct{}{} // a suggestion queued before Start
		c.Start(stop, &wg)
	}()
}

// cockroach#25456: the consistency queue's process waits for the store's
// stopper to quiesce; the test context built the store with a stopper that
// it never stops.
type stopper25456 struct{ quiesce chan struct{} }

func (s *stopper25456) ShouldQuiesce() <-chan struct{} { return s.quiesce }

type store25456 struct{ stopper *stopper25456 }

func (s *store25456) process() { <-s.stopper.ShouldQuiesce() }

func cockroach25456() {
	go func() {
		s := &store25456{stopper: &stopper25456{quiesce: make(chan struct{})}}
		for range 2 {
			s.process()
		}
	}()
}

// cockroach#35073: the outbox's row channel (buffer 16) is full; a pusher
// blocks on it and so does the test goroutine's own last Push, since the
// consumer that would drain it has already finished.
type rowChannel35073 struct{ data chan int }

func (rc *rowChannel35073) Push() { rc.data <- 0 }

func cockroach35073() {
	go func() {
		rc := &rowChannel35073{data: make(chan int, 16)}
		for range 16 {
			rc.Push()
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc.Push()
		}()
		var consumer sync.WaitGroup
		consumer.Add(1)
		go func() { consumer.Done() }() // the outbox's run: it reads nothing
		consumer.Wait()
		rc.Push()
		wg.Wait()
	}()
}

// cockroach#7504: the lease manager's acquire locks the lease state, then
// the table state; release locks them in the other order (a lock-order
// inversion between two goroutines).
type tableState7504 struct {
	mu    sync.Mutex
	lease *leaseState7504
}

type leaseState7504 struct {
	mu    sync.Mutex
	table *tableState7504
}

func (l *leaseState7504) acquire(locked, other hook) {
	l.mu.Lock()
	locked.done()
	other.wait()
	l.table.mu.Lock() // held by release
	l.table.mu.Unlock()
	l.mu.Unlock()
}

func (t *tableState7504) release(locked, other hook) {
	t.mu.Lock()
	locked.done()
	other.wait()
	t.lease.mu.Lock() // held by acquire
	t.lease.mu.Unlock()
	t.mu.Unlock()
}

func cockroach7504() {
	t := &tableState7504{}
	l := &leaseState7504{table: t}
	t.lease = l
	h1, h2 := newHook(), newHook()
	go l.acquire(h1, h2)
	go t.release(h2, h1)
}

// cockroach#10214: the store's sendQueuedHeartbeats holds coalescedMu and
// then takes a replica's raftMu, while the replica's tick holds raftMu and
// takes coalescedMu to queue a heartbeat.
type store10214 struct {
	coalescedMu sync.Mutex
	replica     *replica10214
}

type replica10214 struct {
	raftMu sync.Mutex
	store  *store10214
}

func (s *store10214) sendQueuedHeartbeats(locked, other hook) {
	s.coalescedMu.Lock()
	defer s.coalescedMu.Unlock()
	locked.done()
	other.wait()
	s.replica.raftMu.Lock()
	s.replica.raftMu.Unlock()
}

func (r *replica10214) tick(locked, other hook) {
	r.raftMu.Lock()
	defer r.raftMu.Unlock()
	locked.done()
	other.wait()
	r.store.coalescedMu.Lock() // coalesceBeat
	r.store.coalescedMu.Unlock()
}

func cockroach10214() {
	s := &store10214{}
	r := &replica10214{store: s}
	s.replica = r
	h1, h2 := newHook(), newHook()
	go s.sendQueuedHeartbeats(h1, h2)
	go r.tick(h2, h1)
}
