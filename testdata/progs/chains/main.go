// Command chains writes four small execution traces, each with a wait whose
// wake chain has a known shape, for the chain walker's tests (issue 19):
//
//   - chains-pipeline: a <- b <- c. A closes a start channel, which wakes
//     C, and waits on B; B waits on C; C sleeps 20ms, computes 10ms
//     (main.compute), then sends to B, which sends to A. A's wait: B ran,
//     B was woken by C, C ran 10ms, C slept 20ms.
//   - chains-mutex: H holds a mutex and waits on a channel while holding
//     it; W waits for the mutex; S sleeps 20ms and sends on the channel;
//     H computes 5ms and unlocks. W's wait: H ran 5ms, H was woken by S,
//     S slept 20ms.
//   - chains-fanout: R sends a request to three workers and waits on a
//     WaitGroup; the workers sleep 5, 10 and 20ms, compute 2ms each and
//     call Done. R's wait: the slowest worker ran 2ms and slept 20ms; the
//     other two do not appear.
//   - chains-sched: GOMAXPROCS=1. A waits on S; S waits on W; W sleeps
//     5ms, sends to S and spins for 30ms without blocking, so S stays
//     runnable until W is preempted. A's wait: S ran, S was runnable for
//     the preemption delay (about 10ms), S was woken by W, W slept 5ms.
//
// Each case writes DIR/chains-CASE.trace and DIR/chains-CASE.json: the
// goroutine ids and the durations the program measured for itself
// (monotonic clock, the same the tracer uses).
//
//	go run -trimpath ./testdata/progs/chains -o testdata/traces
package main

import (
	"log"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
	"time"

	"github.com/wakeshim/wakeshim/testdata/progs/internal/goid"
	"github.com/wakeshim/wakeshim/testdata/progs/internal/progio"
)

func main() {
	progio.Init("chains")
	pipeline()
	mutex()
	fanout()
	sched()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// run traces f into DIR/chains-NAME.trace.
func run(name string, f func()) {
	out := progio.Create("chains-" + name + ".trace")
	if err := trace.Start(out); err != nil {
		log.Fatal(err)
	}
	f()
	trace.Stop()
	if err := out.Close(); err != nil {
		log.Fatal(err)
	}
}

// parked waits until each goroutine is blocked in the given state (a
// goroutine dump's state), so that a case begins with every goroutine in
// place.
func parked(ids []*int64, state string) {
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for {
			if *id != 0 && goid.State(*id) == state {
				break
			}
			if time.Now().After(deadline) {
				log.Fatalf("goroutine %d not %s", *id, state)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// spin computes for d without blocking.
//
//go:noinline
func spin(d time.Duration) int {
	n := 0
	for t0 := time.Now(); time.Since(t0) < d; {
		for i := 0; i < 1000; i++ {
			n += i * i
		}
	}
	return n
}

//go:noinline
func compute(d time.Duration) int { return spin(d) }

var sink int

type pipelineFacts struct {
	GoVersion string  `json:"go_version"`
	A         int64   `json:"a"`
	B         int64   `json:"b"`
	C         int64   `json:"c"`
	SleepMS   float64 `json:"sleep_ms"`   // C's sleep, measured
	ComputeMS float64 `json:"compute_ms"` // C's compute, measured
	WaitMS    float64 `json:"wait_ms"`    // A's wait, measured
}

func pipeline() {
	var fs pipelineFacts
	start := make(chan struct{})
	cb, ba := make(chan int), make(chan int)
	done := make(chan struct{})
	var sleepD, computeD, waitD time.Duration
	run("pipeline", func() {
		go func() { // C
			fs.C = goid.ID()
			<-start
			t0 := time.Now()
			time.Sleep(20 * time.Millisecond)
			t1 := time.Now()
			sink = compute(10 * time.Millisecond)
			t2 := time.Now()
			sleepD, computeD = t1.Sub(t0), t2.Sub(t1)
			cb <- 1
		}()
		go func() { // B
			fs.B = goid.ID()
			ba <- <-cb + 1
		}()
		parked([]*int64{&fs.C}, "chan receive")
		parked([]*int64{&fs.B}, "chan receive")
		go func() { // A
			fs.A = goid.ID()
			close(start)
			t0 := time.Now()
			sink = <-ba
			waitD = time.Since(t0)
			close(done)
		}()
		<-done
	})
	fs.GoVersion = runtime.Version()
	fs.SleepMS, fs.ComputeMS, fs.WaitMS = ms(sleepD), ms(computeD), ms(waitD)
	progio.WriteFacts("chains-pipeline.json", fs)
}

type mutexFacts struct {
	GoVersion string  `json:"go_version"`
	H         int64   `json:"h"`
	W         int64   `json:"w"`
	S         int64   `json:"s"`
	SleepMS   float64 `json:"sleep_ms"`   // S's sleep
	ComputeMS float64 `json:"compute_ms"` // H's compute after S's send
	WaitMS    float64 `json:"wait_ms"`    // W's wait for the mutex
}

func mutex() {
	var fs mutexFacts
	var mu sync.Mutex
	start := make(chan struct{})
	ch := make(chan int)
	done := make(chan struct{})
	var sleepD, computeD, waitD time.Duration
	run("mutex", func() {
		go func() { // S
			fs.S = goid.ID()
			<-start
			t0 := time.Now()
			time.Sleep(20 * time.Millisecond)
			sleepD = time.Since(t0)
			ch <- 1
		}()
		go func() { // W
			fs.W = goid.ID()
			<-start
			t0 := time.Now()
			mu.Lock()
			waitD = time.Since(t0)
			mu.Unlock()
			close(done)
		}()
		parked([]*int64{&fs.S, &fs.W}, "chan receive")
		go func() { // H
			fs.H = goid.ID()
			mu.Lock()
			close(start)
			sink = <-ch // waits on the channel, holding mu
			t0 := time.Now()
			sink = compute(5 * time.Millisecond)
			computeD = time.Since(t0)
			mu.Unlock()
		}()
		<-done
	})
	fs.GoVersion = runtime.Version()
	fs.SleepMS, fs.ComputeMS, fs.WaitMS = ms(sleepD), ms(computeD), ms(waitD)
	progio.WriteFacts("chains-mutex.json", fs)
}

type fanoutFacts struct {
	GoVersion string    `json:"go_version"`
	R         int64     `json:"r"`
	Workers   []int64   `json:"workers"`
	SleepMS   []float64 `json:"sleep_ms"`   // each worker's sleep
	ComputeMS []float64 `json:"compute_ms"` // each worker's compute
	WaitMS    float64   `json:"wait_ms"`    // R's wait
}

func fanout() {
	fs := fanoutFacts{Workers: make([]int64, 3), SleepMS: make([]float64, 3), ComputeMS: make([]float64, 3)}
	naps := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}
	var reqs [3]chan int
	var wg sync.WaitGroup
	done := make(chan struct{})
	var sleepD, computeD [3]time.Duration
	var waitD time.Duration
	run("fanout", func() {
		for i := range reqs {
			reqs[i] = make(chan int)
			go func() {
				fs.Workers[i] = goid.ID()
				<-reqs[i]
				t0 := time.Now()
				time.Sleep(naps[i])
				t1 := time.Now()
				sink = compute(2 * time.Millisecond)
				sleepD[i], computeD[i] = t1.Sub(t0), time.Since(t1)
				wg.Done()
			}()
		}
		parked([]*int64{&fs.Workers[0], &fs.Workers[1], &fs.Workers[2]}, "chan receive")
		go func() { // R
			fs.R = goid.ID()
			wg.Add(3)
			for i := range reqs {
				reqs[i] <- i
			}
			t0 := time.Now()
			wg.Wait()
			waitD = time.Since(t0)
			close(done)
		}()
		<-done
	})
	fs.GoVersion = runtime.Version()
	for i := range 3 {
		fs.SleepMS[i], fs.ComputeMS[i] = ms(sleepD[i]), ms(computeD[i])
	}
	fs.WaitMS = ms(waitD)
	progio.WriteFacts("chains-fanout.json", fs)
}

type schedFacts struct {
	GoVersion string  `json:"go_version"`
	A         int64   `json:"a"`
	S         int64   `json:"s"`
	W         int64   `json:"w"`
	SleepMS   float64 `json:"sleep_ms"`    // W's sleep
	DelayMS   float64 `json:"delay_ms"`    // W's send to S running
	WaitMS    float64 `json:"wait_ms"`     // A's wait
	Procs     int     `json:"gomaxprocs"`  // 1
	SpinMS    float64 `json:"spin_ms"`     // W's spin, nominal
	Preempted bool    `json:"s_ran_first"` // S ran before W's spin ended
}

func sched() {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	fs := schedFacts{Procs: 1, SpinMS: 30}
	start := make(chan struct{})
	ws, sa := make(chan int), make(chan int)
	done := make(chan struct{})
	var sleepD, waitD time.Duration
	var sent, ran, spun time.Time
	run("sched", func() {
		go func() { // W
			fs.W = goid.ID()
			<-start
			t0 := time.Now()
			time.Sleep(5 * time.Millisecond)
			sleepD = time.Since(t0)
			sent = time.Now()
			ws <- 1 // S is runnable, W keeps the only P
			sink = spin(30 * time.Millisecond)
			spun = time.Now()
		}()
		go func() { // S
			fs.S = goid.ID()
			v := <-ws
			ran = time.Now()
			sa <- v
		}()
		parked([]*int64{&fs.W}, "chan receive")
		parked([]*int64{&fs.S}, "chan receive")
		go func() { // A
			fs.A = goid.ID()
			close(start)
			t0 := time.Now()
			sink = <-sa
			waitD = time.Since(t0)
			close(done)
		}()
		<-done
		for spun.IsZero() {
			time.Sleep(time.Millisecond) // (W's spin ends before the trace stops)
		}
	})
	fs.GoVersion = runtime.Version()
	fs.SleepMS, fs.DelayMS, fs.WaitMS = ms(sleepD), ms(ran.Sub(sent)), ms(waitD)
	fs.Preempted = ran.Before(spun)
	if !fs.Preempted {
		log.Print("S did not run before W's spin ended")
		os.Exit(1)
	}
	progio.WriteFacts("chains-sched.json", fs)
}
