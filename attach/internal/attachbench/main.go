// Command attachbench measures what wakeshim attach costs its target: a
// loopback net/http server driven by concurrent keep-alive clients (the
// shim's httpbench load: a trivial handler, so almost all the time is
// scheduling and syscalls, each a trace event), in a child process that
// also serves net/http/pprof; phases with attach off and on alternate in
// one run, and it prints the target's requests per second and CPU per
// request, on/off.
//
//	go run ./attach/internal/attachbench [-rounds 4] [-phase 10s] [-window 5s]
//
// attach runs in this process (converting costs CPU on the same machine,
// which the req/s ratio includes); the target's CPU per request counts
// only the target's own: the tracer, and serving the trace.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wakeshim/wakeshim/attach"
)

var (
	target  = flag.Bool("target", false, "(internal) run as the target")
	rounds  = flag.Int("rounds", 4, "off/on rounds")
	phase   = flag.Duration("phase", 10*time.Second, "length of each phase")
	window  = flag.Duration("window", attach.DefaultWindow, "attach -window")
	clients = flag.Int("clients", 16, "concurrent clients in the target")
	dumps   = flag.Bool("dumps", false, "attach -dumps")
)

var requests atomic.Int64

func runTarget() {
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello, world\n") })
	go http.Serve(app, mux)
	pp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Fprintf(w, "%d %d\n", requests.Load(), cpu)
	})
	go http.Serve(pp, nil)
	tr := &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}
	c := &http.Client{Transport: tr}
	url := "http://" + app.Addr().String() + "/"
	for range *clients {
		go func() {
			for {
				resp, err := c.Get(url)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				requests.Add(1)
			}
		}()
	}
	fmt.Println(pp.Addr().String())
	io.Copy(io.Discard, os.Stdin) // until the driver goes
}

func count(addr string) (int64, time.Duration) {
	resp, err := http.Get("http://" + addr + "/count")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	f := strings.Fields(string(b))
	n, _ := strconv.ParseInt(f[0], 10, 64)
	cpu, _ := strconv.ParseInt(f[1], 10, 64)
	return n, time.Duration(cpu)
}

type result struct {
	rps      float64
	cpuPerRq time.Duration
	cov      float64
	bytes    int64
}

func measure(addr string, on bool, dir string) result {
	n0, c0 := count(addr)
	t0 := time.Now()
	var sum attach.Summary
	if on {
		var err error
		sum, err = attach.Run(context.Background(), attach.Config{URL: addr, Dir: dir, Window: *window, For: *phase, Dumps: *dumps,
			MaxTotal: 256 << 20, Log: func(s string) { log.Print(s) }})
		if err != nil {
			log.Fatal(err)
		}
	} else {
		time.Sleep(*phase)
	}
	n1, c1 := count(addr)
	el := time.Since(t0)
	r := result{rps: float64(n1-n0) / el.Seconds(), cov: sum.Coverage(), bytes: sum.TraceBytes}
	if n1 > n0 {
		r.cpuPerRq = (c1 - c0) / time.Duration(n1-n0)
	}
	return r
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("attachbench: ")
	if *target {
		runTarget()
		return
	}
	exe, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(exe, "-target", "-clients", strconv.Itoa(*clients))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	addr := strings.TrimSpace(line)
	dir, err := os.MkdirTemp("", "attachbench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	time.Sleep(time.Second) // warm up
	var ratios, cpuRatios []float64
	var mu sync.Mutex
	for i := range *rounds {
		off := measure(addr, false, dir)
		on := measure(addr, true, dir)
		mu.Lock()
		ratios = append(ratios, on.rps/off.rps)
		cpuRatios = append(cpuRatios, float64(on.cpuPerRq)/float64(off.cpuPerRq))
		mu.Unlock()
		fmt.Printf("round %d: off %.0f req/s (%v CPU/req), attached %.0f req/s (%v CPU/req, coverage %.0f%%, %.1f MB/s of trace): req/s on/off %.3f, CPU/req on/off %.3f\n",
			i+1, off.rps, off.cpuPerRq, on.rps, on.cpuPerRq, 100*on.cov, float64(on.bytes)/phase.Seconds()/(1<<20), on.rps/off.rps, float64(on.cpuPerRq)/float64(off.cpuPerRq))
	}
	fmt.Printf("median of %d rounds: req/s attached/off %.3f, target CPU per request attached/off %.3f (window %v, phase %v, %d clients)\n",
		*rounds, median(ratios), median(cpuRatios), *window, *phase, *clients)
}
