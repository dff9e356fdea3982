package main

import (
	"context"
	"errors"
)

func init() {
	register(&scenario{Name: "kubernetes5316", Issue: "https://github.com/kubernetes/kubernetes/pull/5316",
		Leaks: []leak{{"main.finishRequest5316.func1", 1, "chan send"}}, run: kubernetes5316})
	register(&scenario{Name: "kubernetes25331", Issue: "https://github.com/kubernetes/kubernetes/pull/25331",
		Leaks: []leak{{"main.(*watchChan25331).run", 1, "chan send"}}, run: kubernetes25331})
	register(&scenario{Name: "kubernetes38669", Issue: "https://github.com/kubernetes/kubernetes/pull/38669",
		Leaks: []leak{{"main.(*cacheWatcher38669).process", 1, "chan send"}}, run: kubernetes38669})
}

var errTimeout5316 = errors.New("timeout")

// kubernetes#5316: the apiserver's finishRequest runs the request in a
// goroutine that reports on an unbuffered channel; after the timeout
// fires nobody receives, and the request's goroutine blocks on the send
// (a send on a channel nobody reads after a timeout).
func finishRequest5316(timedOut chan struct{}, fn func() error) error {
	ch := make(chan error)
	go func() {
		ch <- fn()
	}()
	select {
	case err := <-ch:
		return err
	case <-timedOut: // time.After(timeout), forced to fire first
		return errTimeout5316
	}
}

func kubernetes5316() {
	timedOut := make(chan struct{})
	close(timedOut)
	returned := newHook()
	go func() {
		_ = finishRequest5316(timedOut, func() error {
			returned.wait() // the request outlives its timeout
			return nil
		})
		returned.done()
	}()
}

// kubernetes#25331: the etcd3 watcher's run sends events on resultChan;
// the watcher was stopped (its context cancelled) and nobody reads
// resultChan any more, but run's send does not select on ctx.Done().
type watchChan25331 struct {
	ctx        context.Context
	resultChan chan int
}

func (wc *watchChan25331) run() {
	for i := 0; ; i++ {
		wc.resultChan <- i // the fix: select on wc.ctx.Done() too
	}
}

func kubernetes25331() {
	ctx, cancel := context.WithCancel(context.Background())
	wc := &watchChan25331{ctx: ctx, resultChan: make(chan int)}
	go wc.run()
	<-wc.resultChan
	cancel() // Stop()
}

// kubernetes#38669: the watch cache's cacheWatcher.process forwards
// events to the watcher's result channel; a watcher whose consumer went
// away is stopped, yet process keeps blocking on the send.
type cacheWatcher38669 struct {
	input  chan int
	result chan int
	stop   chan struct{}
}

func (c *cacheWatcher38669) process() {
	for e := range c.input {
		c.result <- e // the fix: select on c.stop
	}
}

func kubernetes38669() {
	c := &cacheWatcher38669{input: make(chan int, 10), result: make(chan int), stop: make(chan struct{})}
	c.input <- 1
	go c.process()
	close(c.stop) // the consumer stopped without draining result
}
