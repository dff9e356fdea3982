// Command pprofserver is a target for wakeshim attach: a program that
// knows nothing of wakeshim and only serves net/http/pprof, on loopback.
// It listens on 127.0.0.1:0, prints "listening on ADDR" on standard
// output, and runs until its standard input is closed (or -d passes):
//
//   - mutex rounds: goroutine H (main.holder) locks a sync.Mutex, starts a
//     new goroutine W for the round, which calls main.waitForLock
//     (mu.Lock), holds the mutex -hold (40ms) and unlocks it, waking W;
//     W measures its own wait; a round every -every (100ms);
//   - ping-pong: goroutines A (main.pinger) and B (main.ponger) pass a
//     value over two unbuffered channels, a round every 2ms, so each
//     wakes the other;
//   - a goroutine S (main.stuckForever) blocked on a channel receive from
//     the start to the end (stuck_since_start_ms: how long before
//     listening it blocked).
//
// At the end it writes DIR/pprofserver.json: the goroutine ids and what it
// measured (each round's waiter and wait, the ping-pong rounds), for the
// tests to check the records against.
//
//	go run ./testdata/progs/pprofserver -o /tmp/x
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/wakeshim/wakeshim/testdata/progs/internal/goid"
	"github.com/wakeshim/wakeshim/testdata/progs/internal/progio"
)

var (
	hold  = flag.Duration("hold", 40*time.Millisecond, "how long H holds the mutex while W waits")
	every = flag.Duration("every", 100*time.Millisecond, "a mutex round this often")
	limit = flag.Duration("d", 5*time.Minute, "end after this long even if standard input stays open")
)

// Round is one mutex round.
type Round struct {
	Waiter int64 `json:"waiter"`
	// StartUnixNano is when W called waitForLock; WaitMS its measured wait
	// (before Lock to after Lock).
	StartUnixNano int64   `json:"start_unix_nano"`
	WaitMS        float64 `json:"wait_ms"`
	HeldMS        float64 `json:"held_ms"` // H: Lock to Unlock
}

type facts struct {
	GoVersion  string  `json:"go_version"`
	Addr       string  `json:"addr"`
	Holder     int64   `json:"holder"`
	HolderFunc string  `json:"holder_func"`
	WaitFunc   string  `json:"wait_func"`
	Rounds     []Round `json:"rounds"`
	Pinger     int64   `json:"pinger"`
	Ponger     int64   `json:"ponger"`
	PingRounds int64   `json:"ping_rounds"`
	Stuck      int64   `json:"stuck"`
	StuckFunc  string  `json:"stuck_func"`
	// StuckSinceUnixNano is when S blocked (about: right before).
	StuckSinceUnixNano int64 `json:"stuck_since_unix_nano"`
}

var mu sync.Mutex

//go:noinline
func waitForLock() {
	mu.Lock()
	mu.Unlock()
}

//go:noinline
func stuckForever(ch chan struct{}) { <-ch }

func holder(stop <-chan struct{}, out chan<- Round, id chan<- int64) {
	id <- goid.ID()
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			close(out)
			return
		case <-t.C:
		}
		mu.Lock()
		locked := time.Now()
		var r Round
		done := make(chan struct{})
		go func() {
			r.Waiter = goid.ID()
			t0 := time.Now()
			r.StartUnixNano = t0.UnixNano()
			waitForLock()
			r.WaitMS = ms(time.Since(t0))
			close(done)
		}()
		time.Sleep(*hold)
		r.HeldMS = ms(time.Since(locked))
		mu.Unlock()
		<-done
		out <- r
	}
}

func pinger(stop <-chan struct{}, c1 chan<- int, c2 <-chan int, n *int64, id chan<- int64) {
	id <- goid.ID()
	for {
		select {
		case <-stop:
			close(c1)
			return
		default:
		}
		c1 <- 1
		<-c2
		*n++
		time.Sleep(2 * time.Millisecond)
	}
}

func ponger(c1 <-chan int, c2 chan<- int, id chan<- int64) {
	id <- goid.ID()
	for v := range c1 {
		c2 <- v
	}
}

func main() {
	progio.Init("pprofserver")
	fs := facts{GoVersion: runtime.Version(), HolderFunc: "main.holder", WaitFunc: "main.waitForLock", StuckFunc: "main.stuckForever"}

	ids := make(chan int64, 1)
	stuckCh := make(chan struct{})
	fs.StuckSinceUnixNano = time.Now().UnixNano()
	go func() { ids <- goid.ID(); stuckForever(stuckCh) }()
	fs.Stuck = <-ids

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fs.Addr = ln.Addr().String()
	srv := &http.Server{Handler: http.DefaultServeMux}
	go srv.Serve(ln)

	stop := make(chan struct{})
	rounds := make(chan Round)
	go holder(stop, rounds, ids)
	fs.Holder = <-ids
	c1, c2 := make(chan int), make(chan int)
	pingDone := make(chan struct{})
	go func() { pinger(stop, c1, c2, &fs.PingRounds, ids); close(pingDone) }()
	fs.Pinger = <-ids
	go ponger(c1, c2, ids)
	fs.Ponger = <-ids
	collected := make(chan struct{})
	go func() {
		for r := range rounds {
			fs.Rounds = append(fs.Rounds, r)
		}
		close(collected)
	}()

	fmt.Printf("listening on %s\n", fs.Addr)
	end := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(end) }()
	select {
	case <-end:
	case <-time.After(*limit):
	}
	close(stop)
	<-collected
	<-pingDone
	srv.Close()
	progio.WriteFacts("pprofserver.json", fs)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
