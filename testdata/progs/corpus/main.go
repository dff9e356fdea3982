// Command corpus writes one execution trace of a given shape, for the
// benchmark corpus of make bench (make corpus; issue 20). Each shape
// stresses another part of a trace's decoding and conversion, so that
// the converter is not tuned to one trace:
//
//   - alloc: allocation- and GC-heavy (GOGC=25, trees, maps and slices
//     built and dropped by many goroutines): GC cycles, mark assists,
//     sweeps, HeapAlloc/HeapGoal events, STW ranges;
//   - chanring: many goroutines (-goroutines, 4000) passing tokens around
//     rings of unbuffered channels, and select-based fan-in;
//   - fileio: syscall- and file-heavy: goroutines writing, syncing,
//     reading, stat-ing and removing files in a temporary directory, and
//     passing data through pipes (GoSyscallBegin/End, blocked syscalls
//     that lose their P);
//   - stacks: many distinct deep stacks: goroutines descend 8-23 frames
//     through 16 distinct functions chosen by the bits of one of 4,000
//     paths, and block at the bottom (the stack table holds thousands
//     of stacks of 8-23 frames);
//   - flightrec: a flight-recorder snapshot (runtime/trace.FlightRecorder)
//     of a mixed load, taken after -d: a trace that begins mid-run;
//   - idle: a long, mostly idle trace: -goroutines timers ticking every
//     100-900ms for -d, and a short burst of work once a second: many
//     generations, few events in each;
//   - httpload: a real server under load: a net/http server with
//     net/http/pprof on a loopback port, clients making requests over
//     kept-alive and new connections, and the trace taken from the
//     server's own /debug/pprof/trace endpoint for -d.
//
// Tracing stops when the trace reaches -size (runtime/trace shapes), or
// after -d (flightrec, idle, httpload, whose length is their point).
// It writes DIR/<shape>.trace.
//
//	go run ./testdata/progs/corpus -shape alloc -size 30MB -o testdata/corpus
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wakeshim/wakeshim/testdata/progs/internal/progio"
)

var (
	stop atomic.Bool
	sink atomic.Uint64
	// done is closed when the workers are to stop, for those blocked in
	// a select.
	done = make(chan struct{})
)

// countingWriter stops the workers once the trace reaches limit bytes. The
// runtime's trace reader goroutine calls it, so the workers stop promptly
// even when main is slow to be scheduled.
type countingWriter struct {
	w     io.Writer
	n     atomic.Int64
	limit int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if c.limit > 0 && c.n.Add(int64(n)) >= c.limit {
		stop.Store(true)
	}
	return n, err
}

//go:noinline
func work(n int) {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink.Add(x & 1)
}

func main() {
	shape := flag.String("shape", "", "alloc, chanring, fileio, stacks, flightrec, idle or httpload")
	sizeFlag := flag.String("size", "30MB", "stop tracing when the trace reaches this size (0: no limit)")
	d := flag.Duration("d", 0, "how long to trace (flightrec, idle, httpload; a bound for the others, default 2m)")
	gs := flag.Int("goroutines", 0, "goroutines (chanring: 4000, idle: 3000)")
	flag.IntVar(&paths, "paths", 4000, "stacks: distinct call paths")
	progio.Init("corpus")
	size, err := parseSize(*sizeFlag)
	if err != nil {
		log.Fatal(err)
	}
	run, ok := shapes[*shape]
	if !ok {
		log.Fatalf("unknown -shape %q", *shape)
	}
	path := filepath.Join(progio.Dir(), *shape+".trace")
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &countingWriter{w: bw, limit: size}
	start := time.Now()
	if err := run(cw, *d, *gs); err != nil {
		log.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "corpus: wrote %s: %d bytes in %v\n", path, cw.n.Load(), time.Since(start).Round(time.Millisecond))
}

var shapes = map[string]func(w io.Writer, d time.Duration, gs int) error{
	"alloc":     traced(allocLoad),
	"chanring":  traced(chanringLoad),
	"fileio":    traced(fileioLoad),
	"stacks":    traced(stacksLoad),
	"flightrec": flightrec,
	"idle":      idle,
	"httpload":  httpload,
}

// traced runs load under runtime/trace until the trace reaches its size
// or d passes.
func traced(load func(gs int, wg *sync.WaitGroup)) func(io.Writer, time.Duration, int) error {
	return func(w io.Writer, d time.Duration, gs int) error {
		if d == 0 {
			d = 2 * time.Minute
		}
		if err := trace.Start(w); err != nil {
			return err
		}
		var wg sync.WaitGroup
		load(gs, &wg)
		deadline := time.Now().Add(d)
		for !stop.Load() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		stop.Store(true)
		close(done)
		wg.Wait()
		trace.Stop()
		return nil
	}
}

type tree struct {
	l, r *tree
	v    [4]int
}

//go:noinline
func build(depth int) *tree {
	if depth == 0 {
		return &tree{}
	}
	return &tree{l: build(depth - 1), r: build(depth - 1)}
}

func allocLoad(gs int, wg *sync.WaitGroup) {
	debug.SetGCPercent(25)
	var keep sync.Map
	for i := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 2))
			for j := 0; !stop.Load(); j++ {
				switch j % 3 {
				case 0:
					keep.Store(i*8+j%8, build(8+r.IntN(5)))
				case 1:
					m := make(map[int]string)
					for k := range 200 {
						m[k] = strconv.Itoa(k)
					}
					sink.Add(uint64(len(m)))
				default:
					var s [][]byte
					for k := range 100 {
						s = append(s, make([]byte, 64+k*8))
					}
					sink.Add(uint64(len(s)))
				}
			}
		})
	}
	// A few goroutines hand results over channels while the GC runs.
	c := make(chan *tree, 8)
	wg.Go(func() {
		for !stop.Load() {
			c <- build(4)
		}
		close(c)
	})
	wg.Go(func() {
		for t := range c {
			sink.Add(uint64(t.v[0]))
		}
	})
}

func chanringLoad(gs int, wg *sync.WaitGroup) {
	if gs == 0 {
		gs = 4000
	}
	const ring = 100
	for r := 0; r < gs/ring; r++ {
		chans := make([]chan int, ring)
		for i := range chans {
			chans[i] = make(chan int)
		}
		for i := range ring {
			in, out := chans[i], chans[(i+1)%ring]
			wg.Go(func() {
				for {
					select {
					case v := <-in:
						work(10)
						select {
						case out <- v + 1:
						case <-done:
							return
						}
					case <-done:
						return
					}
				}
			})
		}
		// Three tokens per ring: several goroutines of a ring runnable
		// at once.
		for k := range 3 {
			wg.Go(func() {
				select {
				case chans[k*ring/3] <- 0:
				case <-done:
				}
			})
		}
	}
	// Fan-in through select.
	a, b, out := make(chan int), make(chan int), make(chan int)
	for _, c := range []chan int{a, b} {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				c <- i
			}
			close(c)
		})
	}
	wg.Go(func() {
		for a != nil || b != nil {
			select {
			case v, ok := <-a:
				if !ok {
					a = nil
					continue
				}
				out <- v
			case v, ok := <-b:
				if !ok {
					b = nil
					continue
				}
				out <- v
			}
		}
		close(out)
	})
	wg.Go(func() {
		for range out {
		}
	})
}

func fileioLoad(gs int, wg *sync.WaitGroup) {
	dir, err := os.MkdirTemp("", "corpus-fileio-")
	if err != nil {
		log.Fatal(err)
	}
	var done sync.WaitGroup
	for i := range 12 {
		done.Go(func() {
			buf := bytes.Repeat([]byte{byte(i)}, 4096)
			rd := make([]byte, 4096)
			for j := 0; !stop.Load(); j++ {
				name := filepath.Join(dir, fmt.Sprintf("f%d-%d", i, j%4))
				f, err := os.Create(name)
				if err != nil {
					log.Fatal(err)
				}
				for range 8 {
					f.Write(buf)
				}
				if j%16 == 0 {
					f.Sync()
				}
				f.Seek(0, io.SeekStart)
				for {
					if _, err := f.Read(rd); err != nil {
						break
					}
				}
				f.Close()
				os.Stat(name)
				if j%4 == 3 {
					os.Remove(name)
				}
			}
		})
	}
	for range 4 {
		done.Go(func() {
			r, w, err := os.Pipe()
			if err != nil {
				log.Fatal(err)
			}
			go func() {
				b := make([]byte, 512)
				for !stop.Load() {
					w.Write(b)
				}
				w.Close()
			}()
			b := make([]byte, 256)
			for {
				if _, err := r.Read(b); err != nil {
					break
				}
			}
			r.Close()
		})
	}
	wg.Go(func() {
		done.Wait()
		os.RemoveAll(dir)
	})
}

// paths is the stacks shape's number of distinct call paths (-paths).
var paths int

// The stacks shape's 16 functions: each does a little work and calls the
// next chosen by the path's low bits, so that a path's bits name its stack.
var steps [16]func(path uint64, depth int, c chan int, send bool)

func init() {
	steps = [16]func(uint64, int, chan int, bool){s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15}
}

func descend(path uint64, depth int, c chan int, send bool) {
	if depth == 0 {
		// Block at the bottom, so that the stack is in the trace.
		if send {
			c <- 1
		} else {
			<-c
		}
		return
	}
	steps[path&15](path>>4|path<<60, depth-1, c, send)
}

//go:noinline
func s0(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s1(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s2(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s3(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s4(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s5(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s6(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s7(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s8(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s9(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s10(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s11(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s12(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s13(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s14(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

//go:noinline
func s15(p uint64, d int, c chan int, send bool) { descend(p, d, c, send) }

func stacksLoad(gs int, wg *sync.WaitGroup) {
	for i := range 32 {
		c := make(chan int)
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 3))
			for !stop.Load() {
				// One of -paths (4,000) call paths (a generation's stack
				// table holds thousands of deep stacks, each
				// used many times).
				path := uint64(r.IntN(paths)) * 0x9e3779b97f4a7c15
				depth := 8 + int(path>>60)
				// Both ends of the channel descend the same path, one
				// to send and one to receive.
				var pair sync.WaitGroup
				pair.Go(func() { descend(path, depth, c, true) })
				descend(path^0x5555, depth, c, false)
				pair.Wait()
			}
		})
	}
}

// mixedLoad is a server-like mix: channel ping-pong, mutex contention,
// short sleeps, allocation and small file writes.
func mixedLoad(wg *sync.WaitGroup) {
	for range 50 {
		c1, c2 := make(chan int), make(chan int)
		wg.Go(func() {
			for !stop.Load() {
				c1 <- 1
				<-c2
				work(100)
			}
			close(c1)
		})
		wg.Go(func() {
			for v := range c1 {
				work(50)
				c2 <- v
			}
		})
	}
	var mu sync.Mutex
	for range 16 {
		wg.Go(func() {
			for !stop.Load() {
				mu.Lock()
				work(200)
				mu.Unlock()
				sink.Add(uint64(len(make([]byte, 1024))))
			}
		})
	}
	for i := range 32 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 4))
			for !stop.Load() {
				time.Sleep(time.Duration(100+r.IntN(3000)) * time.Microsecond)
				sink.Add(uint64(build(3).v[0]))
			}
		})
	}
	wg.Go(func() {
		f, err := os.CreateTemp("", "corpus-mixed-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		b := make([]byte, 512)
		for !stop.Load() {
			f.WriteAt(b, 0)
		}
	})
}

// flightrec runs the mixed load with a flight recorder on for d (default
// 4s) and writes its snapshot: the generations the recorder kept (the
// last d, at most 40 MB), which begin with goroutines already running
// and blocked.
func flightrec(w io.Writer, d time.Duration, gs int) error {
	if d == 0 {
		d = 4 * time.Second
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: d, MaxBytes: 40 << 20})
	var wg sync.WaitGroup
	mixedLoad(&wg)
	// The load runs a moment before the recorder starts: the snapshot
	// begins with goroutines already blocked and running.
	time.Sleep(200 * time.Millisecond)
	if err := fr.Start(); err != nil {
		return err
	}
	time.Sleep(d)
	if _, err := fr.WriteTo(w); err != nil {
		return err
	}
	stop.Store(true)
	wg.Wait()
	fr.Stop()
	return nil
}

// idle traces gs (3000) goroutines on timers of 100-900ms and a burst of
// work once a second, for d (default 40s).
func idle(w io.Writer, d time.Duration, gs int) error {
	if d == 0 {
		d = 40 * time.Second
	}
	if gs == 0 {
		gs = 3000
	}
	if err := trace.Start(w); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i := range gs {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 5))
			t := time.NewTicker(time.Duration(100+r.IntN(800)) * time.Millisecond)
			defer t.Stop()
			for range t.C {
				if stop.Load() {
					return
				}
				work(20)
			}
		})
	}
	wg.Go(func() {
		for !stop.Load() {
			time.Sleep(time.Second)
			var b sync.WaitGroup
			for range 20 {
				b.Go(func() { work(20000) })
			}
			b.Wait()
		}
	})
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	trace.Stop()
	return nil
}

// httpload serves HTTP (and net/http/pprof) on a loopback port, loads it
// with clients, and writes the trace the server's /debug/pprof/trace
// endpoint gives for d (default 3s).
func httpload(w io.Writer, d time.Duration, gs int) error {
	if d == 0 {
		d = 3 * time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.DefaultServeMux
	var mu sync.Mutex
	counts := map[string]int{}
	mux.HandleFunc("/item/", func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		counts[r.URL.Path]++
		n := counts[r.URL.Path]
		mu.Unlock()
		rw.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(rw, "%s %d %s\n", r.URL.Path, n, strings.Repeat("x", 200+n%500))
	})
	mux.HandleFunc("/upload", func(rw http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintln(rw, n)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	base := "http://" + ln.Addr().String()
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 4, DisableKeepAlives: i%6 == 0}
			c := &http.Client{Transport: tr}
			defer tr.CloseIdleConnections()
			body := bytes.Repeat([]byte("y"), 8192)
			for j := 0; !stop.Load(); j++ {
				var resp *http.Response
				var err error
				if j%5 == 0 {
					resp, err = c.Post(base+"/upload", "application/octet-stream", bytes.NewReader(body))
				} else {
					resp, err = c.Get(fmt.Sprintf("%s/item/%d", base, (i*31+j)%97))
				}
				if err != nil {
					if stop.Load() {
						return
					}
					log.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/trace?seconds=%g", base, d.Seconds()))
	if err != nil {
		return err
	}
	_, err = io.Copy(w, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("/debug/pprof/trace: %s", resp.Status)
	}
	stop.Store(true)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	return err
}

func parseSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "0" {
		return 0, nil
	}
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(u, suf.s) {
			u, mult = strings.TrimSuffix(u, suf.s), suf.m
			break
		}
	}
	n, err := strconv.ParseFloat(u, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad -size %q", s)
	}
	return int64(n * float64(mult)), nil
}
