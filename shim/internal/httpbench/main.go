// Command httpbench measures the shim's overhead on a loopback net/http
// server driven by concurrent clients: requests per second with the shim
// off and on, alternating in one run, and the ratio on/off.
//
//	go run ./shim/internal/httpbench [-rounds 4] [-phase 3s] [-modes off,on]
//
// Modes: off (no shim), fr (the flight recorder alone, snapshotted every
// interval and discarded: the tracer's own cost), on (the shim with its
// defaults), full (the shim with no CPU budget: every generation parsed).
// -cpuprofile FILE profiles the "on" and "full" phases.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wakeshim/wakeshim/shim"
)

var requests atomic.Int64

func handler(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello, world\n")
}

func clients(url string, n int, stop <-chan struct{}, wg *sync.WaitGroup) {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
	c := &http.Client{Transport: tr}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
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
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type result struct {
	rps, cpu float64 // requests/s, cores used
	st       *shim.Stats
	reqs     int64
}

func main() {
	rounds := flag.Int("rounds", 4, "rounds of all modes")
	phase := flag.Duration("phase", 3*time.Second, "measured time per phase")
	warm := flag.Duration("warm", 500*time.Millisecond, "warm-up per phase")
	modes := flag.String("modes", "off,on", "modes to alternate: off, fr, on, full")
	conc := flag.Int("c", 16, "concurrent clients")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the first phase of each mode to FILE.MODE")
	budget := flag.Float64("budget", 0, "Budget of mode on (0: the default)")
	flag.Parse()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(handler)}
	go srv.Serve(ln)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	clients("http://"+ln.Addr().String()+"/", *conc, stop, &wg)

	dir, err := os.MkdirTemp("", "httpbench")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	ms := strings.Split(*modes, ",")
	res := map[string][]result{}
	fmt.Printf("httpbench: GOMAXPROCS=%d, %d clients, %d rounds x %v per mode\n", runtime.GOMAXPROCS(0), *conc, *rounds, *phase)
	for r := 0; r < *rounds; r++ {
		for _, m := range ms {
			prof := ""
			if *cpuprofile != "" && r == 0 {
				prof = *cpuprofile + "." + m
			}
			res[m] = append(res[m], runPhase(m, dir, *warm, *phase, *budget, prof))
			x := res[m][len(res[m])-1]
			fmt.Printf("  round %d %-4s %8.0f req/s  %.2f cores\n", r+1, m, x.rps, x.cpu)
		}
	}
	close(stop)
	srv.Close()

	mean := func(m string) (rps, cpu float64) {
		for _, x := range res[m] {
			rps += x.rps
			cpu += x.cpu
		}
		n := float64(len(res[m]))
		return rps / n, cpu / n
	}
	offRPS, offCPU := mean("off")
	fmt.Println("mode  req/s     ratio  cores  cpu/req")
	for _, m := range ms {
		rps, cpu := mean(m)
		ratio := 0.0
		if offRPS > 0 {
			ratio = rps / offRPS
		}
		fmt.Printf("%-5s %8.0f  %.3f  %.2f  %.1fus\n", m, rps, ratio, cpu, cpu/rps*1e6)
	}
	for _, m := range ms {
		var writeTo, parse, sample time.Duration
		var bytes, reqs, gens, skipped, lost, recs, snaps, tbytes int64
		var secs float64
		for _, x := range res[m] {
			if x.st == nil {
				continue
			}
			writeTo += x.st.WriteToTime
			parse += x.st.ParseTime
			sample += x.st.SampleTime
			bytes += x.st.BytesWritten
			gens += x.st.Gens
			skipped += x.st.GensSkipped
			lost += x.st.GensLost
			recs += x.st.Convert.TotalRecords()
			snaps += x.st.Snapshots
			tbytes += x.st.TraceBytes
			reqs += x.reqs
			secs += (*warm + *phase).Seconds()
		}
		if secs == 0 {
			continue
		}
		fmt.Printf("%s: per second of shim: WriteTo %.1fms, parse+convert %.1fms (%.0fns per trace byte), sampler %.1fms; trace converted %.2fMB/s; generations %d (skipped %d, lost %d); %.0f records/s; %.1f bytes written per request\n",
			m, ms1(writeTo, secs), ms1(parse, secs), float64(parse)/float64(max(tbytes, 1)), ms1(sample, secs), float64(tbytes)/secs/1e6, gens, skipped, lost, float64(recs)/secs, float64(bytes)/float64(max(reqs, 1)))
	}
	if offs, ok := res["off"]; ok {
		// Each round's phases ran back to back: the ratio of a round's
		// phases is the least disturbed by the machine's other load; the
		// median of the rounds is the figure.
		for _, m := range ms {
			if m == "off" {
				continue
			}
			var rs []float64
			for i, x := range res[m] {
				rs = append(rs, x.rps/offs[i].rps)
			}
			sort.Float64s(rs)
			rps, cpu := mean(m)
			fmt.Printf("RATIO %s/off: median of rounds %.3f (rounds %s), of means %.3f; CPU per request %+.1f%%\n",
				m, rs[len(rs)/2], fmtList(rs), rps/offRPS, ((cpu/rps)/(offCPU/offRPS)-1)*100)
		}
	}
}

func fmtList(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.3f", x))
	}
	return strings.Join(s, " ")
}

func ms1(d time.Duration, secs float64) float64 { return float64(d) / 1e6 / secs }

func runPhase(mode, dir string, warm, phase time.Duration, budget float64, prof string) result {
	var s *shim.Session
	var fr *trace.FlightRecorder
	frStop := make(chan struct{})
	frDone := make(chan struct{})
	switch mode {
	case "on", "full":
		cfg := shim.Config{Dir: dir, Budget: budget}
		if mode == "full" {
			cfg.Budget = -1
		}
		var err error
		if s, err = shim.Start(cfg); err != nil {
			panic(err)
		}
	case "fr":
		fr = trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: 1500 * time.Millisecond, MaxBytes: 32 << 20})
		if err := fr.Start(); err != nil {
			panic(err)
		}
		go func() {
			defer close(frDone)
			t := time.NewTicker(shim.DefaultInterval)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					fr.WriteTo(io.Discard)
				case <-frStop:
					return
				}
			}
		}()
	}
	r0 := requests.Load()
	time.Sleep(warm)
	if prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			panic(err)
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
	}
	o0, c0, t0 := requests.Load(), cpuTime(), time.Now()
	time.Sleep(phase)
	o1, c1, el := requests.Load(), cpuTime(), time.Since(t0)
	if prof != "" {
		pprof.StopCPUProfile()
	}
	res := result{rps: float64(o1-o0) / el.Seconds(), cpu: (c1 - c0).Seconds() / el.Seconds()}
	if s != nil {
		res.reqs = requests.Load() - r0
		s.Stop()
		st := s.Stats()
		res.st = &st
		res.reqs = requests.Load() - r0
	}
	if fr != nil {
		close(frStop)
		<-frDone
		fr.Stop()
	}
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	return res
}
