package main

import (
	"errors"
	"sync"
)

func init() {
	register(&scenario{Name: "etcd5509", Issue: "https://github.com/etcd-io/etcd/pull/5509",
		Leaks: []leak{{"main.etcd5509.func1", 1, "sync.RWMutex.Lock"}}, run: etcd5509})
	register(&scenario{Name: "etcd6708", Issue: "https://github.com/etcd-io/etcd/pull/6708", Deadlock: true,
		Leaks: []leak{{"main.etcd6708.func1", 1, "sync.RWMutex.RLock"}}, run: etcd6708})
	register(&scenario{Name: "etcd10492", Issue: "https://github.com/etcd-io/etcd/pull/10492", Deadlock: true,
		Leaks: []leak{{"main.etcd10492.func1", 1, "sync.Mutex.Lock"}}, run: etcd10492})
	register(&scenario{Name: "etcd7443", Issue: "https://github.com/etcd-io/etcd/issues/7443",
		Leaks: []leak{{"main.(*watcher7443).sendLoop", 1, "chan send"}}, run: etcd7443})
}

var errClosed5509 = errors.New("client closed")

// etcd#5509: the remote client's acquire returns ErrConnClosed without the
// RUnlock of the client's RWMutex it took; Close, which wants the write
// lock, then waits for that reader forever.
type client5509 struct {
	mu     sync.RWMutex
	closed bool
}

func (c *client5509) acquire() error {
	c.mu.RLock()
	if c.closed {
		return errClosed5509 // missing c.mu.RUnlock()
	}
	c.mu.RUnlock()
	return nil
}

func (c *client5509) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
}

func etcd5509() {
	go func() {
		c := &client5509{closed: true}
		_ = c.acquire()
		c.Close()
	}()
}

// etcd#6708: httpClusterClient.Sync holds the client's write lock and,
// through SetEndpoints → getLeaderEndpoint → the members API, calls the
// client's Do, which takes the read lock of the same RWMutex.
type cluster6708 struct {
	sync.RWMutex
	prioritizeLeader bool
}

func (c *cluster6708) Do() {
	c.RLock()
	c.RUnlock()
}

func (c *cluster6708) Sync() {
	c.Lock()
	defer c.Unlock()
	if c.prioritizeLeader {
		c.Do() // getLeaderEndpoint
	}
}

func etcd6708() {
	go func() {
		(&cluster6708{prioritizeLeader: true}).Sync()
	}()
}

// etcd#10492: the lessor's Renew holds le.mu while it calls the
// checkpointer, which calls Checkpoint, which locks le.mu again. The
// mutex is a sync.RWMutex: the second Lock waits on its inner writer
// mutex, which a goroutine dump shows as [sync.Mutex.Lock].
type lessor10492 struct {
	mu sync.RWMutex
	cp func()
}

func (le *lessor10492) Checkpoint() {
	le.mu.Lock()
	defer le.mu.Unlock()
}

func (le *lessor10492) Renew() {
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.cp != nil {
		le.cp()
	}
}

func etcd10492() {
	go func() {
		le := &lessor10492{}
		le.cp = le.Checkpoint
		le.Renew()
	}()
}

// etcd#7443 (clientv3 watch): the watcher's sendLoop delivers a response
// on the watch channel; the caller that cancelled the watch stopped
// reading it, so the send blocks once the buffer is full.
type watcher7443 struct{ out chan int }

func (w *watcher7443) sendLoop(resps []int) {
	for _, r := range resps {
		w.out <- r
	}
	close(w.out)
}

func etcd7443() {
	w := &watcher7443{out: make(chan int, 1)}
	go w.sendLoop([]int{1, 2, 3})
	<-w.out // the caller reads one response, then cancels and returns
}
