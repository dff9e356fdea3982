// Command preblocked writes a small execution trace that starts while
// goroutines are already blocked:
//
//   - P1 runs main.waitChan and is blocked in a channel receive,
//   - P2 runs main.waitMutex and is blocked in sync.Mutex.Lock (the main
//     goroutine holds the mutex),
//   - P3 runs main.stuckForever and is blocked in a channel receive that is
//     never satisfied (it is still blocked when the trace ends).
//
// About 20ms after they blocked, trace.Start is called. While tracing, with
// P1, P2 and P3 still blocked, the program writes three goroutine dumps. After
// 20ms of tracing a goroutine started for the purpose (main.releaser) sends on
// P1's channel and then the main goroutine unlocks the mutex for P2. When P1
// and P2 have finished, trace.Stop is called.
//
// It writes DIR/preblocked.trace, DIR/preblocked.json (the goroutine ids and
// timings the program observed for itself) and the goroutine dumps
// DIR/preblocked.goroutines.pb.gz (pprof goroutine profile, debug=0),
// DIR/preblocked.goroutines.txt (debug=1) and
// DIR/preblocked.goroutines.debug2.txt (debug=2).
//
//	go run ./testdata/progs/preblocked -o testdata/traces
package main

import (
	"bytes"
	"github.com/wakeshim/wakeshim/testdata/progs/internal/progio"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wakeshim/wakeshim/testdata/progs/internal/goid"
)

type blocked struct {
	ID   int64  `json:"id"`
	Func string `json:"func"`
	// Reason is the goroutine's status in a goroutine dump taken just before
	// trace.Start, e.g. "chan receive" or "sync.Mutex.Lock".
	Reason string `json:"reason"`
	// BlockedBeforeTraceMS is the time from just before the goroutine blocked
	// to just before trace.Start.
	BlockedBeforeTraceMS float64 `json:"blocked_before_trace_ms"`
	// Released reports whether the goroutine is unblocked while tracing.
	Released bool `json:"released"`
	// Waker is the goroutine that unblocks it (0 if never released).
	Waker     int64  `json:"waker"`
	WakerFunc string `json:"waker_func,omitempty"`
}

type facts struct {
	GoVersion string  `json:"go_version"`
	Trace     string  `json:"trace"`
	Main      int64   `json:"main"`
	P1        blocked `json:"p1"`
	P2        blocked `json:"p2"`
	P3        blocked `json:"p3"`
	// Dumps are the goroutine dumps written while tracing, with P1, P2 and
	// P3 blocked.
	Dumps []string `json:"dumps"`
	// TracedBeforeReleaseMS is the time from trace.Start to the send that
	// releases P1.
	TracedBeforeReleaseMS float64 `json:"traced_before_release_ms"`
}

//go:noinline
func waitChan(c <-chan int) int { return <-c }

//go:noinline
func waitMutex(mu *sync.Mutex) {
	mu.Lock()
	mu.Unlock()
}

//go:noinline
func stuckForever(c <-chan struct{}) { <-c }

//go:noinline
func releaser(c chan<- int) { c <- 1 }

// never is never closed or sent on; P3 blocks on it forever.
var never = make(chan struct{})

func main() {
	// Keep GC and background sweeping out of the short trace: the goroutine
	// dumps allocate a few MB, which would otherwise start a GC cycle while
	// tracing. The program allocates little, so it can live without GC.
	debug.SetGCPercent(-1)
	progio.Init("preblocked")
	f := progio.Create("preblocked.trace")

	fs := facts{
		GoVersion: runtime.Version(),
		Trace:     "preblocked.trace",
		Main:      goid.ID(),
		P1:        blocked{Func: "main.waitChan", Released: true, WakerFunc: "main.releaser"},
		P2:        blocked{Func: "main.waitMutex", Released: true, WakerFunc: "main.main"},
		P3:        blocked{Func: "main.stuckForever"},
	}

	// Block P1, P2 and P3 before tracing starts.
	var mu sync.Mutex
	mu.Lock()
	c1 := make(chan int)
	var id1, id2, id3 atomic.Int64
	var t1, t2, t3 time.Time
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		id1.Store(goid.ID())
		t1 = time.Now()
		waitChan(c1)
	}()
	go func() {
		defer wg.Done()
		id2.Store(goid.ID())
		t2 = time.Now()
		waitMutex(&mu)
	}()
	go func() {
		id3.Store(goid.ID())
		t3 = time.Now()
		stuckForever(never)
	}()
	time.Sleep(20 * time.Millisecond)
	fs.P1.ID, fs.P2.ID, fs.P3.ID = id1.Load(), id2.Load(), id3.Load()
	fs.P1.Reason = waitState(fs.P1.ID, "chan receive")
	fs.P2.Reason = waitState(fs.P2.ID, "sync.Mutex.Lock")
	fs.P3.Reason = waitState(fs.P3.ID, "chan receive")

	start := time.Now()
	fs.P1.BlockedBeforeTraceMS = ms(start.Sub(t1))
	fs.P2.BlockedBeforeTraceMS = ms(start.Sub(t2))
	fs.P3.BlockedBeforeTraceMS = ms(start.Sub(t3))
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}

	// Goroutine dumps while tracing, P1, P2 and P3 still blocked.
	for _, d := range []struct {
		name  string
		debug int
	}{
		{"preblocked.goroutines.pb.gz", 0},
		{"preblocked.goroutines.txt", 1},
		{"preblocked.goroutines.debug2.txt", 2},
	} {
		writeDump(filepath.Join(progio.Dir(), d.name), d.debug)
		fs.Dumps = append(fs.Dumps, d.name)
	}
	time.Sleep(20*time.Millisecond - time.Since(start))

	// Release P1 from a dedicated goroutine, then P2 from main.
	released := make(chan int64)
	fs.TracedBeforeReleaseMS = ms(time.Since(start))
	go func() {
		id := goid.ID()
		releaser(c1)
		released <- id
	}()
	fs.P1.Waker = <-released
	fs.P2.Waker = fs.Main
	mu.Unlock()
	wg.Wait()
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	if st := goid.State(fs.P3.ID); st != "chan receive" {
		log.Fatalf("P3 (%d) not blocked at the end: %q", fs.P3.ID, st)
	}
	progio.WriteFacts("preblocked.json", fs)
}

// waitState returns goroutine id's dump status, failing unless it is want.
func waitState(id int64, want string) string {
	st := goid.State(id)
	if st != want {
		log.Fatalf("goroutine %d: status %q, want %q", id, st, want)
	}
	return st
}

func writeDump(path string, debug int) {
	var buf bytes.Buffer // one write syscall, not hundreds, in the trace
	if err := pprof.Lookup("goroutine").WriteTo(&buf, debug); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
