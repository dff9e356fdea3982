// Command flightrec writes a flight-recorder snapshot (runtime/trace
// FlightRecorder, Go 1.25+) taken in the middle of a run. Two pairs of
// goroutines ping-pong over unbuffered channels (A runs main.pinger, B runs
// main.ponger, with a little CPU work per round) and one goroutine runs
// main.dozer, which calls time.Sleep(2ms) in a loop. All of them start before
// the flight recorder does. After about 300ms the program writes a snapshot.
//
// To make the snapshot begin mid-run (in a generation whose goroutines are
// first seen in undetermined states, not at the start of tracing), the
// program re-executes itself with GODEBUG=traceadvanceperiod=50000000 (a new
// trace generation every 50ms instead of every second) and configures the
// recorder with MinAge 100ms, so the oldest generations have been dropped
// from the window by the time the snapshot is written. Pass -reexec=false to
// skip this (the snapshot then usually holds the whole run).
//
// It writes DIR/flightrec.trace and DIR/flightrec.json (the goroutine ids and
// timings the program observed for itself).
//
//	go run ./testdata/progs/flightrec -o testdata/traces
package main

import (
	"flag"
	"github.com/wakeshim/wakeshim/testdata/progs/internal/progio"
	"log"
	"os"
	"os/exec"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wakeshim/wakeshim/testdata/progs/internal/goid"
)

const (
	advancePeriod = "traceadvanceperiod=50000000" // 50ms
	minAge        = 100 * time.Millisecond
	runFor        = 300 * time.Millisecond
	napTime       = 2 * time.Millisecond
	workPerRound  = 100 * time.Microsecond
)

type pair struct {
	A      int64  `json:"a"`
	B      int64  `json:"b"`
	AFunc  string `json:"a_func"`
	BFunc  string `json:"b_func"`
	Rounds int64  `json:"rounds"` // rounds completed by the end of the run
}

type facts struct {
	GoVersion string `json:"go_version"`
	Trace     string `json:"trace"`
	GODEBUG   string `json:"godebug"`
	Main      int64  `json:"main"`
	Pairs     []pair `json:"pairs"`
	Sleeper   int64  `json:"sleeper"`
	SleepFunc string `json:"sleeper_func"`
	NapMS     int    `json:"nap_ms"`
	Naps      int64  `json:"naps"` // naps completed by the end of the run
	MinAgeMS  int    `json:"min_age_ms"`
	MaxBytes  uint64 `json:"max_bytes"`
	// GoroutinesStartedBeforeRecorderMS is the time from starting the
	// goroutines to starting the flight recorder.
	GoroutinesStartedBeforeRecorderMS float64 `json:"goroutines_started_before_recorder_ms"`
	// RecorderRunMS is the time from starting the flight recorder to the
	// snapshot (WriteTo).
	RecorderRunMS float64 `json:"recorder_run_ms"`
	SnapshotBytes int64   `json:"snapshot_bytes"`
}

var stop atomic.Bool

// spin burns CPU for about d without blocking.
func spin(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}

//go:noinline
func pinger(c1 chan<- int, c2 <-chan int, rounds *atomic.Int64) {
	v := 0
	for !stop.Load() {
		spin(workPerRound)
		c1 <- v
		v = <-c2
		rounds.Add(1)
	}
	close(c1)
}

//go:noinline
func ponger(c1 <-chan int, c2 chan<- int) {
	for v := range c1 {
		c2 <- v + 1
	}
}

//go:noinline
func dozer(naps *atomic.Int64) {
	for !stop.Load() {
		time.Sleep(napTime)
		naps.Add(1)
	}
}

func main() {
	reexec := flag.Bool("reexec", true, "re-execute with GODEBUG="+advancePeriod+" unless already set")
	progio.Init("flightrec")
	if *reexec && !strings.Contains(os.Getenv("GODEBUG"), "traceadvanceperiod=") {
		runChild()
		return
	}

	fs := facts{
		GoVersion: runtime.Version(),
		Trace:     "flightrec.trace",
		GODEBUG:   os.Getenv("GODEBUG"),
		Main:      goid.ID(),
		SleepFunc: "main.dozer",
		NapMS:     int(napTime / time.Millisecond),
		MinAgeMS:  int(minAge / time.Millisecond),
		MaxBytes:  4 << 20,
	}

	var wg sync.WaitGroup
	ids := make(chan int64)
	rounds := make([]atomic.Int64, 2)
	var naps atomic.Int64
	started := time.Now()
	for i := range rounds {
		c1, c2 := make(chan int), make(chan int)
		wg.Add(2)
		go func() {
			defer wg.Done()
			ids <- goid.ID()
			pinger(c1, c2, &rounds[i])
		}()
		a := <-ids
		go func() {
			defer wg.Done()
			ids <- goid.ID()
			ponger(c1, c2)
		}()
		b := <-ids
		fs.Pairs = append(fs.Pairs, pair{A: a, B: b, AFunc: "main.pinger", BFunc: "main.ponger"})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		ids <- goid.ID()
		dozer(&naps)
	}()
	fs.Sleeper = <-ids
	time.Sleep(10 * time.Millisecond)

	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: minAge, MaxBytes: fs.MaxBytes})
	recStart := time.Now()
	fs.GoroutinesStartedBeforeRecorderMS = ms(recStart.Sub(started))
	if err := fr.Start(); err != nil {
		log.Fatal(err)
	}
	time.Sleep(runFor)

	f := progio.Create("flightrec.trace")
	fs.RecorderRunMS = ms(time.Since(recStart))
	n, err := fr.WriteTo(f)
	if err != nil {
		log.Fatal(err)
	}
	fs.SnapshotBytes = n
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	fr.Stop()
	for i := range fs.Pairs {
		fs.Pairs[i].Rounds = rounds[i].Load()
	}
	fs.Naps = naps.Load()
	progio.WriteFacts("flightrec.json", fs)
}

// runChild re-executes the program with a short trace generation period.
func runChild() {
	exe, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	godebug := advancePeriod
	if old := os.Getenv("GODEBUG"); old != "" {
		godebug = old + "," + advancePeriod
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatal(err)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
