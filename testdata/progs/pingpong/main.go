// Command pingpong writes a small execution trace in which two goroutines,
// A (running main.pinger) and B (running main.ponger), pass a value back and
// forth over two unbuffered channels 50 times: A sends on c1, B receives and
// sends on c2, A receives, and so on. Each round therefore contains a wake of
// B by A and a wake of A by B.
//
// It writes DIR/pingpong.trace and DIR/pingpong.json (the goroutine ids the
// program observed for itself).
//
//	go run ./testdata/progs/pingpong -o testdata/traces
package main

import (
	"github.com/wakeshim/wakeshim/testdata/progs/internal/progio"
	"log"
	"runtime"
	"runtime/trace"
	"sync"

	"github.com/wakeshim/wakeshim/testdata/progs/internal/goid"
)

const rounds = 50

type facts struct {
	GoVersion string `json:"go_version"`
	Trace     string `json:"trace"`
	Main      int64  `json:"main"`
	A         int64  `json:"a"`
	B         int64  `json:"b"`
	AFunc     string `json:"a_func"`
	BFunc     string `json:"b_func"`
	Rounds    int    `json:"rounds"`
	Sum       int    `json:"sum"` // final value, proves every round happened
}

//go:noinline
func pinger(c1 chan<- int, c2 <-chan int) int {
	v := 0
	for i := 0; i < rounds; i++ {
		c1 <- v
		v = <-c2
	}
	return v
}

//go:noinline
func ponger(c1 <-chan int, c2 chan<- int) {
	for i := 0; i < rounds; i++ {
		v := <-c1
		c2 <- v + 1
	}
}

func main() {
	progio.Init("pingpong")
	f := progio.Create("pingpong.trace")

	fs := facts{
		GoVersion: runtime.Version(),
		Trace:     "pingpong.trace",
		Main:      goid.ID(),
		AFunc:     "main.pinger",
		BFunc:     "main.ponger",
		Rounds:    rounds,
	}
	c1, c2 := make(chan int), make(chan int)
	var wg sync.WaitGroup
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		fs.B = goid.ID()
		ponger(c1, c2)
	}()
	go func() {
		defer wg.Done()
		fs.A = goid.ID()
		fs.Sum = pinger(c1, c2)
	}()
	wg.Wait()
	trace.Stop()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	progio.WriteFacts("pingpong.json", fs)
}
