// Command mutex writes a small execution trace of a goroutine blocking on a
// held sync.Mutex. The main goroutine H locks mu, starts goroutine W, which
// calls main.waitForLock (mu.Lock), makes sure W is parked on the mutex, holds
// the mutex for another 30ms and unlocks it, which wakes W.
//
// It writes DIR/mutex.trace and DIR/mutex.json (the goroutine ids and timings
// the program observed for itself).
//
//	go run ./testdata/progs/mutex -o testdata/traces
package main

import (
	"github.com/wakeshim/wakeshim/testdata/progs/internal/progio"
	"log"
	"runtime"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wakeshim/wakeshim/testdata/progs/internal/goid"
)

const holdMS = 30

type facts struct {
	GoVersion string `json:"go_version"`
	Trace     string `json:"trace"`
	Holder    int64  `json:"holder"` // the main goroutine
	Waiter    int64  `json:"waiter"`
	HeldMS    int    `json:"held_ms"` // nominal hold after W is known to be parked
	Func      string `json:"func"`    // function of W that calls mu.Lock
	// WaiterStateBeforeUnlock is W's status in a goroutine dump taken just
	// before the 30ms hold; "sync.Mutex.Lock" proves W was parked.
	WaiterStateBeforeUnlock string  `json:"waiter_state_before_unlock"`
	MeasuredHeldMS          float64 `json:"measured_held_ms"`            // H: Lock to Unlock
	MeasuredHoldAfterParkMS float64 `json:"measured_hold_after_park_ms"` // H: park confirmed to Unlock
	MeasuredWaitMS          float64 `json:"measured_wait_ms"`            // W: before Lock to after Lock
}

var mu sync.Mutex

//go:noinline
func waitForLock() {
	mu.Lock()
	mu.Unlock()
}

func main() {
	progio.Init("mutex")
	f := progio.Create("mutex.trace")

	fs := facts{
		GoVersion: runtime.Version(),
		Trace:     "mutex.trace",
		Holder:    goid.ID(),
		HeldMS:    holdMS,
		Func:      "main.waitForLock",
	}
	var waiter atomic.Int64
	var waitDur time.Duration
	done := make(chan struct{})

	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	mu.Lock()
	locked := time.Now()
	go func() {
		waiter.Store(goid.ID())
		t0 := time.Now()
		waitForLock()
		waitDur = time.Since(t0)
		close(done)
	}()
	// Give W time to start, spin and park on the mutex; confirm it.
	time.Sleep(5 * time.Millisecond)
	for i := 0; ; i++ {
		if id := waiter.Load(); id != 0 {
			if st := goid.State(id); st == "sync.Mutex.Lock" || i == 100 {
				fs.WaiterStateBeforeUnlock = st
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
	parked := time.Now()
	time.Sleep(holdMS * time.Millisecond)
	mu.Unlock()
	unlocked := time.Now()
	<-done
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}

	fs.Waiter = waiter.Load()
	fs.MeasuredHeldMS = ms(unlocked.Sub(locked))
	fs.MeasuredHoldAfterParkMS = ms(unlocked.Sub(parked))
	fs.MeasuredWaitMS = ms(waitDur)
	if fs.WaiterStateBeforeUnlock != "sync.Mutex.Lock" {
		log.Fatalf("waiter %d was not parked on the mutex (state %q)", fs.Waiter, fs.WaiterStateBeforeUnlock)
	}
	progio.WriteFacts("mutex.json", fs)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
