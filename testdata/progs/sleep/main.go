// Command sleep writes a small execution trace of one goroutine S that
// sleeps: S runs main.napper, which calls time.Sleep(20ms).
//
// It writes DIR/sleep.trace and DIR/sleep.json (the goroutine ids and timing
// the program observed for itself).
//
//	go run ./testdata/progs/sleep -o testdata/traces
package main

import (
	"github.com/wakeshim/wakeshim/testdata/progs/internal/progio"
	"log"
	"runtime"
	"runtime/trace"
	"time"

	"github.com/wakeshim/wakeshim/testdata/progs/internal/goid"
)

const sleepMS = 20

type facts struct {
	GoVersion       string  `json:"go_version"`
	Trace           string  `json:"trace"`
	Main            int64   `json:"main"`
	Sleeper         int64   `json:"sleeper"`
	SleepMS         int     `json:"sleep_ms"`
	Func            string  `json:"func"`
	MeasuredSleepMS float64 `json:"measured_sleep_ms"`
}

//go:noinline
func napper() {
	time.Sleep(sleepMS * time.Millisecond)
}

func main() {
	progio.Init("sleep")
	f := progio.Create("sleep.trace")

	fs := facts{
		GoVersion: runtime.Version(),
		Trace:     "sleep.trace",
		Main:      goid.ID(),
		SleepMS:   sleepMS,
		Func:      "main.napper",
	}
	done := make(chan struct{})
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	go func() {
		fs.Sleeper = goid.ID()
		t0 := time.Now()
		napper()
		fs.MeasuredSleepMS = float64(time.Since(t0).Microseconds()) / 1000
		close(done)
	}()
	<-done
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	progio.WriteFacts("sleep.json", fs)
}
