// Command busy writes a large execution trace of a busy program, for
// benchmarks of the trace converter. Its output is not committed (it is
// listed in the repository's .gitignore).
//
// Hundreds of goroutines do unbuffered-channel ping-pong (main.pinger and
// main.ponger), contend on a few sync.Mutexes (main.contender), sleep for
// short random times (main.sleeper), pass items through buffered channels
// (main.producer and main.consumer) and spawn short-lived goroutines waited
// for with a sync.WaitGroup (main.spawner). No network is used. Tracing stops
// once the trace written so far reaches -size bytes (suffixes KB, MB and GB
// are powers of 1024), or after -timeout.
//
//	go run ./testdata/progs/busy -o testdata/traces -size 40MB
package main

import (
	"bufio"
	"flag"
	"fmt"
	"github.com/wakeshim/wakeshim/testdata/progs/internal/progio"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	stop atomic.Bool
	sink atomic.Uint64 // keeps work() from being optimized away
)

// countingWriter counts the bytes of trace data written so far and tells
// the workers to stop once limit is reached. It is called by the runtime's
// trace reader goroutine, so the workers stop promptly even when the main
// goroutine is slow to be scheduled on a loaded machine.
type countingWriter struct {
	w     io.Writer
	n     atomic.Int64
	limit int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if c.n.Add(int64(n)) >= c.limit {
		stop.Store(true)
	}
	return n, err
}

// work does a little CPU work proportional to n.
//
//go:noinline
func work(n int) {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink.Add(x & 1)
}

//go:noinline
func pinger(c1 chan<- int, c2 <-chan int) {
	v := 0
	for !stop.Load() {
		c1 <- v
		v = <-c2
		work(50)
	}
	close(c1)
}

//go:noinline
func ponger(c1 <-chan int, c2 chan<- int) {
	for v := range c1 {
		work(20)
		c2 <- v + 1
	}
}

//go:noinline
func contender(mu *sync.Mutex, shared *int) {
	for !stop.Load() {
		mu.Lock()
		*shared++
		work(200)
		mu.Unlock()
		work(100)
	}
}

//go:noinline
func sleeper(r *rand.Rand) {
	for !stop.Load() {
		time.Sleep(time.Duration(50+r.IntN(2000)) * time.Microsecond)
		work(100)
	}
}

//go:noinline
func producer(c chan<- int) {
	for i := 0; !stop.Load(); i++ {
		c <- i
		if i%16 == 0 {
			work(500)
		}
	}
}

//go:noinline
func consumer(c <-chan int) {
	for v := range c {
		work(v%64 + 10)
	}
}

//go:noinline
func spawner() {
	for !stop.Load() {
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Go(func() { work(300 * (i + 1)) })
		}
		wg.Wait()
	}
}

func parseSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(u, suf.s) {
			u, mult = strings.TrimSpace(strings.TrimSuffix(u, suf.s)), suf.m
			break
		}
	}
	n, err := strconv.ParseFloat(u, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad -size %q", s)
	}
	return int64(n * float64(mult)), nil
}

func main() {
	sizeFlag := flag.String("size", "40MB", "stop tracing when the trace reaches this size")
	timeout := flag.Duration("timeout", 2*time.Minute, "stop tracing after this long regardless of size")
	pairs := flag.Int("pairs", 100, "ping-pong goroutine pairs")
	contenders := flag.Int("contenders", 64, "goroutines contending on mutexes")
	mutexes := flag.Int("mutexes", 8, "mutexes")
	sleepers := flag.Int("sleepers", 64, "sleeping goroutines")
	progio.Init("busy")
	size, err := parseSize(*sizeFlag)
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(progio.Dir(), "busy.trace")
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &countingWriter{w: bw, limit: size}

	if err := trace.Start(cw); err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < *pairs; i++ {
		c1, c2 := make(chan int), make(chan int)
		wg.Go(func() { pinger(c1, c2) })
		wg.Go(func() { ponger(c1, c2) })
	}
	mus := make([]sync.Mutex, *mutexes)
	shared := make([]int, *mutexes)
	for i := 0; i < *contenders; i++ {
		k := i % *mutexes
		wg.Go(func() { contender(&mus[k], &shared[k]) })
	}
	for i := 0; i < *sleepers; i++ {
		r := rand.New(rand.NewPCG(uint64(i), 1))
		wg.Go(func() { sleeper(r) })
	}
	for i := 0; i < 4; i++ {
		c := make(chan int, 32)
		var cwg sync.WaitGroup
		for j := 0; j < 4; j++ {
			cwg.Go(func() { consumer(c) })
		}
		wg.Go(func() { producer(c); close(c); cwg.Wait() })
	}
	for i := 0; i < 4; i++ {
		wg.Go(spawner)
	}

	for !stop.Load() && time.Since(start) < *timeout {
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	stopped := time.Now()
	wg.Wait()
	trace.Stop()
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "busy: wrote %s: %d bytes, traced %v (+%v to wind down)\n",
		path, cw.n.Load(), stopped.Sub(start).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
}
