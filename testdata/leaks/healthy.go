package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func init() {
	register(&scenario{Name: "healthy_httpidle", Healthy: true, run: healthyHTTPIdle})
	register(&scenario{Name: "healthy_pool", Healthy: true, run: healthyPool})
	register(&scenario{Name: "healthy_timers", Healthy: true, run: healthyTimers})
}

// keep holds what a long-running program keeps: the server, the client,
// the pool. The GC finds their goroutines' channels reachable through it.
var keep []any

// healthyHTTPIdle: a net/http server on loopback with keep-alive
// connections from a client that made requests on them and now leaves
// them idle (server conn readers in IO wait, the client transport's read
// and write loops waiting for the next request).
func healthyHTTPIdle() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})}
	go srv.Serve(ln)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	var wg sync.WaitGroup
	for range 3 { // three connections in parallel, then sequential reuse
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				resp, err := client.Get("http://" + ln.Addr().String() + "/")
				if err != nil {
					fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	keep = append(keep, srv, client)
}

// pool is a worker pool: workers take jobs from a channel and report on
// another; it waits for more work.
type pool struct {
	jobs    chan int
	results chan int
}

func (p *pool) worker() {
	for j := range p.jobs {
		p.results <- j * 2
	}
}

func (p *pool) collector(sum *int, done chan<- struct{}, want int) {
	n := 0
	for r := range p.results {
		*sum += r
		if n++; n == want {
			done <- struct{}{}
		}
	}
}

func healthyPool() {
	p := &pool{jobs: make(chan int), results: make(chan int)}
	for range 4 {
		go p.worker()
	}
	var sum int
	done := make(chan struct{})
	go p.collector(&sum, done, 20)
	for i := range 20 {
		p.jobs <- i
	}
	<-done
	keep = append(keep, p)
}

// healthyTimers: a goroutine waits for a signal (os/signal.Notify), a
// ticker loop ticks, a janitor waits in a select on a long timer or a
// stop channel, a context-driven loop waits for its context's deadline.
func healthyTimers() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for s := range sig {
			_ = s
		}
	}()
	ticks := make(chan struct{}, 16)
	t := time.NewTicker(time.Millisecond)
	go func() {
		for range t.C {
			select {
			case ticks <- struct{}{}:
			default:
			}
		}
	}()
	for range 3 {
		<-ticks
	}
	t.Reset(time.Hour) // it goes on ticking, just rarely
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-time.After(time.Hour):
			case <-stop:
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	go func() {
		<-ctx.Done()
	}()
	keep = append(keep, stop, cancel, t)
}
