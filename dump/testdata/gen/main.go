// Command gen writes the test data of package dump: goroutine dumps in
// the three forms (blocked.pb.gz, blocked.txt, blocked.debug2.txt) of
// goroutines blocked in the usual ways, and blocked.trace.txt, the block
// stacks the execution tracer reported for the same goroutines (each
// distinct block: "G<id> <reason>" then one "\t<frame>" line per frame,
// innermost first), so that
// the tests can check that Normalize makes both sides agree.
//
//	go run ./dump/testdata/gen -o dump/testdata
//
// With -panic it panics instead (with goroutines blocked), for the
// traceback test data:
//
//	GOTRACEBACK=all go run ./dump/testdata/gen -panic 2> dump/testdata/panic.txt
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strings"
	"sync"
	"time"

	exptrace "golang.org/x/exp/trace"
)

var (
	mu   sync.Mutex
	rw   sync.RWMutex
	rw2  sync.RWMutex
	cond = sync.NewCond(&sync.Mutex{})
)

//go:noinline
func lockMutex() { mu.Lock(); mu.Unlock() }

//go:noinline
func rlock() { rw.RLock(); rw.RUnlock() }

//go:noinline
func wlock() { rw2.Lock(); rw2.Unlock() }

//go:noinline
func recv(c chan int) { <-c }

//go:noinline
func send(c chan int) { c <- 1 }

//go:noinline
func sel(a, b chan int) {
	select {
	case <-a:
	case <-b:
	}
}

//go:noinline
func sleep() { time.Sleep(200 * time.Millisecond) }

//go:noinline
func wgWait(wg *sync.WaitGroup) { wg.Wait() }

//go:noinline
func condWait() { cond.L.Lock(); cond.Wait(); cond.L.Unlock() }

//go:noinline
func netRead(c net.Conn) { b := make([]byte, 1); c.Read(b) }

//go:noinline
func generic[T any](c chan T) T { return <-c }

//go:noinline
func rangeRecv(c chan int) {
	for range c {
	}
}

func main() {
	out := flag.String("o", ".", "output directory")
	doPanic := flag.Bool("panic", false, "panic with the goroutines blocked")
	flag.Parse()
	var tbuf bytes.Buffer
	if !*doPanic {
		if err := trace.Start(&tbuf); err != nil {
			log.Fatal(err)
		}
	}
	mu.Lock()
	rw.Lock()
	rw2.RLock()
	c1, c2, c3, c4 := make(chan int), make(chan int), make(chan int), make(chan int)
	a, b := make(chan int), make(chan int)
	var wg sync.WaitGroup
	wg.Add(1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			netRead(c)
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	gc := make(chan string)
	go lockMutex()
	go lockMutex()
	go rlock()
	go wlock()
	go recv(c1)
	go send(c2)
	go sel(a, b)
	go sleep()
	go wgWait(&wg)
	go condWait()
	go generic(gc)
	go rangeRecv(c3)
	_ = c4
	time.Sleep(50 * time.Millisecond)
	if *doPanic {
		panic("gen: boom")
	}
	dumps := map[string]int{"blocked.pb.gz": 0, "blocked.txt": 1, "blocked.debug2.txt": 2}
	for name, debug := range dumps {
		var buf bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&buf, debug)
		if err := os.WriteFile(filepath.Join(*out, name), buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	mu.Unlock()
	rw.Unlock()
	rw2.RUnlock()
	c1 <- 1
	<-c2
	a <- 1
	wg.Done()
	cond.L.Lock()
	cond.Broadcast()
	cond.L.Unlock()
	conn.Write([]byte{1})
	gc <- "x"
	c3 <- 1
	time.Sleep(200 * time.Millisecond)
	trace.Stop()

	// The tracer's block stacks of the goroutines above.
	r, err := exptrace.NewReader(&tbuf)
	if err != nil {
		log.Fatal(err)
	}
	seen := map[string]bool{}
	for {
		ev, err := r.ReadEvent()
		if err != nil {
			break
		}
		if ev.Kind() != exptrace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != exptrace.ResourceGoroutine {
			continue
		}
		id := st.Resource.Goroutine()
		from, to := st.Goroutine()
		if from != exptrace.GoRunning || to != exptrace.GoWaiting || id == 1 {
			continue
		}
		var b strings.Builder
		user := false
		for f := range st.Stack.Frames() {
			fmt.Fprintf(&b, "\t%s %s:%d\n", f.Func, f.File, f.Line)
			user = user || strings.HasPrefix(f.Func, "main.")
		}
		if user {
			seen[fmt.Sprintf("G%d %s\n%s", id, st.Reason, b.String())] = true
		}
	}
	var all []string
	for s := range seen {
		all = append(all, s)
	}
	sort.Strings(all)
	if err := os.WriteFile(filepath.Join(*out, "blocked.trace.txt"), []byte(strings.Join(all, "")), 0o644); err != nil {
		log.Fatal(err)
	}
}
