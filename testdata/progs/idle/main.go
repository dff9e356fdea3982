// Command idle measures what the shim writes for goroutines that do
// nothing: it parks -n goroutines for good (a third on a channel receive, a
// third on a sync.Mutex that main holds, a third in a network read on a
// loopback connection nobody writes to), runs for -d with the shim on
// (WAKESHIM set by the caller, e.g. by make idlecost), and then reads the
// shim's .bin files and reports the records and bytes per second they
// gained, by record type: over the whole run, and in the steady state after
// -warmup (the first dumps report every parked goroutine once; what they
// cost afterwards is what a server with that many idle goroutines pays for
// as long as it runs).
//
//	d=$(mktemp -d); WAKESHIM=dir=$d go run ./testdata/progs/idle -o $d -n 10000 -d 30s
//
// It writes the figures to DIR/idle.json and ends without stopping the
// shim, like a server that exits with os.Exit: the last interval's records
// may be missing from the files, as they would be.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/shim"
	"github.com/wakeshim/wakeshim/shim/auto"
	"github.com/wakeshim/wakeshim/testdata/progs/internal/progio"
)

var (
	nFlag      = flag.Int("n", 10000, "goroutines to park")
	durFlag    = flag.Duration("d", 30*time.Second, "how long to run once they are parked")
	warmupFlag = flag.Duration("warmup", 5*time.Second, "start of the steady-state window, after they are parked (must be below -d)")
)

type typeFacts struct {
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	RecordsPerSec float64 `json:"records_per_s"`
	BytesPerSec   float64 `json:"bytes_per_s"`
	SteadyRecords int64   `json:"steady_records"`
	SteadyRecPerS float64 `json:"steady_records_per_s"`
	SteadyBytesPS float64 `json:"steady_bytes_per_s"`
}

type facts struct {
	GoVersion  string               `json:"go_version"`
	Wakeshim   string               `json:"wakeshim"`
	Goroutines int                  `json:"goroutines"`
	ChanRecv   int                  `json:"chan_receive"`
	MutexLock  int                  `json:"mutex_lock"`
	NetRead    int                  `json:"net_read"`
	ParkedS    float64              `json:"parked_after_s"` // from the program's start (the shim's) to all parked
	RunS       float64              `json:"run_s"`          // from the shim's start to the last read of the files
	SteadyS    float64              `json:"steady_s"`       // the steady window
	Files      int                  `json:"files"`
	FileBytes  int64                `json:"file_bytes"`
	ByType     map[string]typeFacts `json:"by_type"`
	Total      typeFacts            `json:"total"`
	Pending    int                  `json:"goroutines_pending"` // goroutines with a TaskPending in the files
}

// counts is what the files hold at one moment: complete records and their
// encoded bytes, by type.
type counts struct {
	recs  [format.NumCodes]int64
	bytes [format.NumCodes]int64
	files int
	size  int64
	tasks map[uint32]bool // goroutines with a TaskPending
}

// readCounts decodes every .bin file in dir. The file being written may end
// in a cut record: what is before it counts.
func readCounts(dir string) (counts, error) {
	c := counts{tasks: map[uint32]bool{}}
	names, err := filepath.Glob(filepath.Join(dir, "*.bin"))
	if err != nil {
		return c, err
	}
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return c, err
		}
		c.files++
		if st, err := f.Stat(); err == nil {
			c.size += st.Size()
		}
		r, err := format.NewReader(f)
		if err != nil {
			f.Close()
			if errors.Is(err, format.ErrTruncated) {
				continue // a file just created, header not yet flushed
			}
			return c, fmt.Errorf("%s: %w", name, err)
		}
		for {
			rec, err := r.Next()
			if err == io.EOF || errors.Is(err, format.ErrTruncated) {
				break
			}
			if err != nil {
				f.Close()
				return c, fmt.Errorf("%s: %w", name, err)
			}
			c.recs[rec.Code]++
			if rec.Code == format.CodeTaskPending {
				c.tasks[rec.Task] = true
			}
			c.bytes[rec.Code] += int64(rec.Size())
		}
		f.Close()
	}
	return c, nil
}

// waitParked waits until a goroutine dump shows at least the given number
// of goroutines in each wait state (a prefix of the bracketed status).
func waitParked(want map[string]int, deadline time.Duration) error {
	buf := make([]byte, 64<<20)
	end := time.Now().Add(deadline)
	for {
		n := runtime.Stack(buf, true)
		got := map[string]int{}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			if !strings.HasPrefix(line, "goroutine ") {
				continue
			}
			for state := range want {
				if strings.Contains(line, " ["+state) {
					got[state]++
				}
			}
		}
		ok := true
		for state, w := range want {
			if got[state] < w {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("goroutines not parked within %v: have %v, want %v", deadline, got, want)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition, not waiting for it to hold
	}
}

func main() {
	start := time.Now()
	progio.Init("idle")
	if *nFlag < 3 || *durFlag <= 0 || *warmupFlag < 0 || *warmupFlag >= *durFlag {
		log.Fatalf("need -n >= 3 and 0 <= -warmup < -d")
	}
	env := os.Getenv(auto.EnvVar)
	if auto.Session() == nil {
		log.Fatalf("the shim is off (%s=%q): run with %s=dir=DIR[,...], e.g. make idlecost", auto.EnvVar, env, auto.EnvVar)
	}
	cfg, err := shim.ParseEnv(env)
	if err != nil {
		log.Fatal(err)
	}

	n := *nFlag
	nChan, nMutex := n/3, n/3
	nNet := n - nChan - nMutex

	never := make(chan struct{})
	for range nChan {
		go func() { <-never }()
	}
	var mu sync.Mutex
	mu.Lock() // held for good
	for range nMutex {
		go func() { mu.Lock() }()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var held []net.Conn // the server sides, kept open and silent
	accepted := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	for i := range nNet {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			log.Fatalf("connection %d of %d: %v (raise the open files limit, or lower -n)", i+1, nNet, err)
		}
		held = append(held, <-accepted)
		go func() {
			var b [1]byte
			c.Read(b[:]) // nobody writes: blocks until the program ends
		}()
	}
	if err := waitParked(map[string]int{"chan receive": nChan, "sync.Mutex.Lock": nMutex, "IO wait": nNet}, time.Minute); err != nil {
		log.Fatal(err)
	}
	parked := time.Now()
	log.Printf("%d goroutines parked (%d chan receive, %d sync.Mutex, %d network read) after %.1fs; running %v", n, nChan, nMutex, nNet, parked.Sub(start).Seconds(), *durFlag)

	time.Sleep(*warmupFlag) // the run's length is the measurement, not a wait for a condition
	warm, err := readCounts(cfg.Dir)
	if err != nil {
		log.Fatal(err)
	}
	warmAt := time.Now()
	time.Sleep(time.Until(parked.Add(*durFlag)))
	end, err := readCounts(cfg.Dir)
	if err != nil {
		log.Fatal(err)
	}
	endAt := time.Now()

	run, steady := endAt.Sub(start).Seconds(), endAt.Sub(warmAt).Seconds()
	fs := facts{
		GoVersion: runtime.Version(), Wakeshim: env, Goroutines: n,
		ChanRecv: nChan, MutexLock: nMutex, NetRead: nNet,
		ParkedS: parked.Sub(start).Seconds(), RunS: run, SteadyS: steady,
		Files: end.files, FileBytes: end.size, ByType: map[string]typeFacts{}, Pending: len(end.tasks),
	}
	fmt.Printf("%-17s %10s %10s %12s %12s %14s %14s\n", "record", "records", "bytes", "records/s", "bytes/s", "steady rec/s", "steady B/s")
	var codes []int
	for c := range format.NumCodes {
		if end.recs[c] > 0 {
			codes = append(codes, c)
		}
	}
	sort.Ints(codes)
	row := func(name string, recs, bytes, wrecs, wbytes int64) typeFacts {
		t := typeFacts{
			Records: recs, Bytes: bytes,
			RecordsPerSec: float64(recs) / run, BytesPerSec: float64(bytes) / run,
			SteadyRecords: recs - wrecs,
			SteadyRecPerS: float64(recs-wrecs) / steady, SteadyBytesPS: float64(bytes-wbytes) / steady,
		}
		fmt.Printf("%-17s %10d %10d %12.1f %12.0f %14.2f %14.1f\n", name, recs, bytes, t.RecordsPerSec, t.BytesPerSec, t.SteadyRecPerS, t.SteadyBytesPS)
		return t
	}
	var tr, tb, wr, wb int64
	for _, c := range codes {
		fs.ByType[format.Code(c).String()] = row(format.Code(c).String(), end.recs[c], end.bytes[c], warm.recs[c], warm.bytes[c])
		tr, tb, wr, wb = tr+end.recs[c], tb+end.bytes[c], wr+warm.recs[c], wb+warm.bytes[c]
	}
	fs.Total = row("total", tr, tb, wr, wb)
	fmt.Printf("idle: %d parked goroutines, %s=%s: %d files, %d bytes on disk after %.1fs (parked at %.1fs); %d goroutines have a TaskPending; steady state (the last %.1fs): %.2f records/s, %.0f bytes/s\n",
		n, auto.EnvVar, env, end.files, end.size, run, fs.ParkedS, len(end.tasks), steady, fs.Total.SteadyRecPerS, fs.Total.SteadyBytesPS)
	progio.WriteFacts("idle.json", fs)
	runtime.KeepAlive(held)
	os.Exit(0) // like a server: no Stop
}
