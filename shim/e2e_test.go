package shim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/dump"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/records"
	"github.com/wakeshim/wakeshim/shim"
	"github.com/wakeshim/wakeshim/shim/auto"
)

// The end-to-end tests run this test binary again as the program under
// test (it has the blank import's package, shim/auto, linked in): the
// helper env var selects what the child does.
const helperEnv = "WAKESHIM_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		helper(mode)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func goid() int64 {
	var b [64]byte
	n := runtime.Stack(b[:], false)
	f := strings.Fields(string(b[:n]))
	id, _ := strconv.ParseInt(f[1], 10, 64)
	return id
}

type facts struct {
	Waker, Woken     int64
	Holder, Waiter   int64
	HeldMS           float64
	Preblocked       int64
	StuckMS          float64 // how long the stuck goroutine had been blocked when the program called os.Exit
	StuckSince       int64   // when it blocked (UnixNano)
	Exited           int64   // when the process had exited (UnixNano), set by runHelper
	DumpMS           float64 // the sampler's mean dump cost
	GensLost         int64   // generations of the trace the shim did not convert
	LagMS            float64 // how long the program waited for the shim's next write before exiting
	Stuck            int64
	Pauses           int64
	SelfTraceEvents  int
	SelfTraceErr     string
	ShimRunning      bool
	NumGoroutineInit int
}

var mu sync.Mutex

// heldCh is the channel of the leak test's goroutine that is not leaked
// (and of the metrics helper's).
var heldCh chan int

//go:noinline
func lockWaiter() {
	mu.Lock()
	mu.Unlock()
}

//go:noinline
func preblockedWaiter(ch chan int) { <-ch }

//go:noinline
func stuckForever(ch chan int) { <-ch }

//go:noinline
func heldForever(ch chan int) { <-ch }

// idleTicker waits on a ticker until stop is closed: a service loop,
// woken by the runtime's timer from the same wait every period (the
// verdict idle), each wait long enough to be blocked now (past the
// refresh age, the sampler's 1s) for part of the period.
//
//go:noinline
func idleTicker(stop chan struct{}) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

// wakeAndMutex makes one known wake and one known mutex wait.
func wakeAndMutex(f *facts) {
	// A wake: the woken goroutine waits on a channel, the waker sends.
	ch := make(chan int)
	wokenID := make(chan int64)
	done := make(chan struct{})
	go func() {
		wokenID <- goid()
		<-ch
		close(done)
	}()
	f.Woken = <-wokenID
	waitBlocked(f.Woken, "chan receive") // else the send would block and be the one woken
	f.Waker = goid()
	ch <- 1
	<-done

	// A mutex wait: the holder keeps mu for 50ms while the waiter waits.
	mu.Lock()
	f.Holder = goid()
	waiterID := make(chan int64)
	wdone := make(chan struct{})
	go func() {
		waiterID <- goid()
		lockWaiter()
		close(wdone)
	}()
	f.Waiter = <-waiterID
	waitBlocked(f.Waiter, "sync.Mutex.Lock")
	t0 := time.Now() // the waiter has waited at least from here
	time.Sleep(50 * time.Millisecond)
	f.HeldMS = float64(time.Since(t0)) / 1e6
	mu.Unlock()
	<-wdone
}

// waitBlocked waits until goroutine id shows in a goroutine dump blocked
// for reason: a fixed sleep is not enough on a busy machine.
func waitBlocked(id int64, reason string) {
	want := fmt.Sprintf("goroutine %d [%s", id, reason)
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if n := runtime.Stack(buf, true); bytes.Contains(buf[:n], []byte(want)) {
			return
		}
	}
}

// selfTrace runs the program's own trace.Start and parses the result.
func selfTrace(f *facts) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		f.SelfTraceErr = err.Error()
		return
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); time.Sleep(time.Millisecond) }()
	}
	wg.Wait()
	trace.Stop()
	r, err := exptrace.NewReader(&buf)
	if err != nil {
		f.SelfTraceErr = err.Error()
		return
	}
	for {
		_, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.SelfTraceErr = err.Error()
			return
		}
		f.SelfTraceEvents++
	}
}

func printFacts(f *facts) {
	b, _ := json.Marshal(f)
	fmt.Printf("FACTS %s\n", b)
}

func helper(mode string) {
	var f facts
	f.ShimRunning = auto.Session() != nil
	switch mode {
	case "wake": // WAKESHIM set: wakes, a mutex wait and a GC, then Stop
		wakeAndMutex(&f)
		runtime.GC() // two stop-the-world pauses
		selfTrace(&f)
		if s := auto.Session(); s != nil {
			if err := s.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "Stop:", err)
			}
			f.GensLost = s.Stats().GensLost
		}
		printFacts(&f)
	case "selftrace": // WAKESHIM unset: nothing starts, trace.Start works
		f.NumGoroutineInit = runtime.NumGoroutine()
		selfTrace(&f)
		printFacts(&f)
	case "spin": // run until killed, making wakes; say when files exist
		dir := os.Getenv("SPIN_DIR")
		said := false
		for {
			wakeAndMutex(&f)
			if !said {
				if m, _ := filepath.Glob(filepath.Join(dir, "*.bin")); len(m) > 0 {
					if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 12 {
						fmt.Println("READY")
						said = true
					}
				}
			}
		}
	case "busy": // a fixed run of wakes, then Stop (rotation and cap)
		end := time.Now().Add(3 * time.Second)
		for time.Now().Before(end) {
			var wg sync.WaitGroup
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := make(chan int)
					go func() { c <- 1 }()
					<-c
				}()
			}
			wg.Wait()
		}
		auto.Session().Stop()
	case "preblocked": // API: a goroutine blocked before the shim starts
		ch := make(chan int)
		idc := make(chan int64)
		go func() { idc <- goid(); preblockedWaiter(ch) }()
		f.Preblocked = <-idc
		waitBlocked(f.Preblocked, "chan receive")
		time.Sleep(100 * time.Millisecond) // blocked well before the shim
		s, err := shim.Start(shim.Config{Dir: os.Getenv("SPIN_DIR"), Sample: 200 * time.Millisecond, Threshold: 50 * time.Millisecond, Dumps: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, "Start:", err)
			os.Exit(2)
		}
		// At least 1.2s, and until the sampler has dumped a few times and
		// reported the block (however slow the machine).
		t0 := time.Now()
		for deadline := t0.Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if st := s.Stats(); time.Since(t0) > 1200*time.Millisecond && st.Samples >= 3 && st.Refreshed > 0 {
				break
			}
		}
		close(ch)
		time.Sleep(100 * time.Millisecond)
		printFacts(&f)
		s.Stop()
	case "stuck": // WAKESHIM set: a goroutine stuck for good, exit without Stop
		idc := make(chan int64)
		go func() { idc <- goid(); stuckForever(make(chan int)) }()
		f.Stuck = <-idc
		since := time.Now()
		f.StuckSince = since.UnixNano()
		time.Sleep(1500 * time.Millisecond)
		// Exit right after the shim has written what it saw: the wait for
		// that is the conversion's lag (an interval on an idle machine,
		// more on a busy one), which the check allows for.
		s := auto.Session()
		n := s.Stats().Refreshed
		waitFrom := time.Now()
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && s.Stats().Refreshed == n; {
			time.Sleep(time.Millisecond)
		}
		f.LagMS = float64(time.Since(waitFrom)) / 1e6
		f.StuckMS = float64(time.Since(since)) / 1e6
		printFacts(&f)
		os.Exit(0)
	case "stuckbusy": // as "stuck", with the tracer paused most of the time
		idc := make(chan int64)
		go func() { idc <- goid(); stuckForever(make(chan int)) }()
		f.Stuck = <-idc
		since := time.Now()
		f.StuckSince = since.UnixNano()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go shim.Churn(stop, &wg)
		go shim.Churn(stop, &wg)
		// Run until the tracer has paused and long blocks have been
		// reported a few times (however slow the machine: a parse of one
		// window can take seconds under the race detector), at least 2s.
		s := auto.Session()
		for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if st := s.Stats(); time.Since(since) > 2*time.Second && st.Pauses > 0 && st.Refreshed >= 3 {
				break
			}
		}
		close(stop)
		wg.Wait()
		if s != nil {
			st := s.Stats()
			f.Pauses = st.Pauses
			if st.Samples > 0 {
				f.DumpMS = float64(st.SampleTime) / float64(st.Samples) / 1e6
			}
			fmt.Fprintf(os.Stderr, "stats: %+v\n", st)
		}
		f.StuckMS = float64(time.Since(since)) / 1e6
		printFacts(&f)
		os.Exit(0)
	case "metrics": // WAKESHIM with metrics=: wakes and waits until stdin closes
		s := auto.Session()
		if s == nil || s.MetricsAddr() == "" {
			fmt.Fprintln(os.Stderr, "no session or no metrics server")
			os.Exit(2)
		}
		fmt.Println("METRICS", s.MetricsAddr())
		stop := make(chan struct{})
		go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
		// Blocked for good: on a channel only its own stack has (leaked,
		// with the goroutineleak profile; suspect without), and on one a
		// global keeps (suspect); a ticker loop (idle).
		go stuckForever(make(chan int))
		heldCh = make(chan int)
		go heldForever(heldCh)
		go idleTicker(stop)
		for {
			select {
			case <-stop:
				s.Stop()
				return
			default:
			}
			wakeAndMutex(&f)
		}
	case "leak": // WAKESHIM set, leakprofile=1s: one leaked goroutine, one not; os.Exit
		idc := make(chan int64)
		// Leaked: blocked on a channel only its own stack refers to.
		go func() { idc <- goid(); stuckForever(make(chan int)) }()
		f.Stuck = <-idc
		// Not leaked: a global keeps the channel (a local of main would
		// not: main sleeps in the loop below, and the leak-finding GC
		// does not mark from blocked goroutines' stacks).
		heldCh = make(chan int)
		go func() { idc <- goid(); preblockedWaiter(heldCh) }()
		f.Preblocked = <-idc
		waitBlocked(f.Stuck, "chan receive")
		waitBlocked(f.Preblocked, "chan receive")
		// Until two periodic profiles have been taken (the second after
		// both blocked for good), then exit without Stop, as servers do.
		// Without the profile in this Go, a second of records is enough.
		s := auto.Session()
		want, deadline := int64(2), time.Now().Add(90*time.Second)
		if pprof.Lookup("goroutineleak") == nil {
			want, deadline = 1, time.Now().Add(time.Second)
		}
		for s != nil && time.Now().Before(deadline) && s.Stats().LeakProfiles < want {
			wakeAndMutex(&f)
			time.Sleep(10 * time.Millisecond)
		}
		if s != nil {
			fmt.Fprintf(os.Stderr, "stats: %+v\n", s.Stats())
		}
		printFacts(&f)
		os.Exit(0)
	case "shipbusy", "shipbudget", "shipcap", "shipidle": // ship=: ship_test.go
		shipHelper(mode)
	case "invalid":
		fmt.Println("RAN")
	}
}

// runHelper runs the helper mode with the environment env added.
func runHelper(t *testing.T, mode string, env ...string) (facts, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper %s: %v\nstderr: %s", mode, err, stderr.String())
	}
	exited := time.Now()
	var f facts
	for _, line := range strings.Split(stdout.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "FACTS "); ok {
			if err := json.Unmarshal([]byte(rest), &f); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.Exited = exited.UnixNano()
	return f, stderr.String()
}

// fileRecords is the records of one file, frames resolved.
type fileRecords struct {
	name      string
	recs      []format.Record
	frames    map[uint16]string
	truncated bool
}

func (fr *fileRecords) frameNames(r *format.Record) []string {
	var s []string
	for _, id := range r.Frames {
		s = append(s, fr.frames[id])
	}
	return s
}

// readFiles decodes every .bin file in dir (and checks that each .jsonl
// beside it decodes to the same records). A truncated tail is allowed
// when allowTrunc.
func readFiles(t *testing.T, dir string, allowTrunc bool) []*fileRecords {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	sort.Strings(names)
	var out []*fileRecords
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fr := &fileRecords{name: name, frames: map[uint16]string{}}
		r, err := format.NewReader(bytes.NewReader(data))
		if err != nil {
			if allowTrunc && len(data) < 12 {
				continue
			}
			t.Fatalf("%s: %v", name, err)
		}
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if allowTrunc && errors.Is(err, format.ErrTruncated) {
					fr.truncated = true
					break
				}
				t.Fatalf("%s: %v", name, err)
			}
			if rec.Code == format.CodeFrameDef {
				fr.frames[rec.ID] = rec.Str
			}
			fr.recs = append(fr.recs, rec)
		}
		if js := strings.TrimSuffix(name, ".bin") + ".jsonl"; fileExists(js) && !allowTrunc {
			data, _ := os.ReadFile(js)
			jr := format.NewJSONLReader(bytes.NewReader(data))
			n := 0
			for {
				_, err := jr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s: %v", js, err)
				}
				n++
			}
			if n != len(fr.recs) {
				t.Errorf("%s: %d records, %s: %d", name, len(fr.recs), js, n)
			}
		}
		out = append(out, fr)
	}
	return out
}

func fileExists(name string) bool { _, err := os.Stat(name); return err == nil }

func TestEndToEndWakesAndMutex(t *testing.T) {
	// Both trace parsers of the worker: the fast decoder (the default)
	// and x/exp's (parser=exp).
	for _, parser := range []string{"fast", "exp"} {
		t.Run(parser, func(t *testing.T) { testEndToEndWakesAndMutex(t, parser) })
	}
}

func testEndToEndWakesAndMutex(t *testing.T, parser string) {
	dir := t.TempDir()
	// budget=off: every event converted, however slow the machine (the
	// budget's windows have tests of their own).
	f, stderr := runHelper(t, "wake", "WAKESHIM=dir="+dir+",jsonl=1,threshold=1ms,budget=off,parser="+parser)
	if !f.ShimRunning {
		t.Fatalf("shim not running; stderr: %s", stderr)
	}
	if f.SelfTraceErr != "" || f.SelfTraceEvents == 0 {
		t.Errorf("host trace.Start with the shim on: err %q, %d events", f.SelfTraceErr, f.SelfTraceEvents)
	}
	files := readFiles(t, dir, false)
	if len(files) == 0 {
		t.Fatal("no files")
	}
	var wake, pending bool
	for _, fr := range files {
		for i := range fr.recs {
			r := &fr.recs[i]
			switch r.Code {
			case format.CodeWakeEvent:
				if r.Task == uint32(f.Woken) && r.Waker == uint32(f.Waker) {
					wake = true
				}
				if r.Waker != 0 && r.Task == uint32(f.Woken) && r.Waker != uint32(f.Waker) {
					t.Errorf("woken %d has waker %d, want %d", f.Woken, r.Waker, f.Waker)
				}
			case format.CodeSpawnLocationDef, format.CodeFrameDef:
				// The shim's and the tracer's goroutines are left out.
				// (A program's own goroutine blocked in a call of the
				// shim's API, Session.Stop waiting for the last
				// conversion, is the program's, and may be pending.)
				if strings.Contains(r.Str, "wakeshim/shim.") && !strings.Contains(r.Str, "wakeshim/shim.(*Session).Stop ") && !strings.Contains(r.Str, "wakeshim/shim.(*Session).Flush ") || r.Code == format.CodeSpawnLocationDef && strings.Contains(r.Str, "runtime/trace.") {
					t.Errorf("%s: %s names the shim or the tracer: %q", fr.name, r.Code, r.Str)
				}
			case format.CodeTaskPending:
				if r.Task != uint32(f.Waiter) {
					continue
				}
				names := strings.Join(fr.frameNames(r), "\n")
				if !strings.Contains(names, "lockWaiter") {
					t.Errorf("mutex wait frames do not name lockWaiter:\n%s", names)
				}
				if float64(r.Duration)/1e3 < f.HeldMS*0.99 {
					t.Errorf("mutex wait %dus, held %.1fms", r.Duration, f.HeldMS)
				}
				pending = true
			}
		}
	}
	// With the worker behind (a slow machine, the race detector) a chunk
	// can be dropped rather than block: that loss is counted, and the
	// records then need not hold the wake.
	if !wake && f.GensLost == 0 {
		t.Errorf("no WakeEvent waker %d -> woken %d", f.Waker, f.Woken)
	}
	if !pending && f.GensLost == 0 {
		t.Errorf("no TaskPending for the mutex waiter %d", f.Waiter)
	}
	if (!wake || !pending) && f.GensLost > 0 {
		t.Logf("the shim lost %d generations (the machine is slow): wake found %v, pending found %v", f.GensLost, wake, pending)
	}
	// The GC's stop-the-world pauses are kept beside the records, and
	// wakeshim report reads them.
	ins, err := records.Expand([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	run := records.NewRun(ins, records.Options{Pause: func(p *records.Pause) { reasons[p.Reason]++ }})
	for _, err := range run.Events() {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("pauses read: %v", reasons)
	if side, _ := filepath.Glob(filepath.Join(dir, "*."+format.PauseExt)); len(side) == 0 || reasons["GC mark termination"] == 0 {
		if f.GensLost == 0 {
			t.Errorf("pauses files %v, pauses read %v: want the GC's mark termination", side, reasons)
		}
	}
	if len(run.Warnings) > 0 {
		t.Errorf("warnings: %v", run.Warnings)
	}
}

func TestUnsetWritesNothing(t *testing.T) {
	dir := t.TempDir()
	f, stderr := runHelper(t, "selftrace", "WAKESHIM=", "TMPDIR="+dir)
	if f.ShimRunning || stderr != "" {
		t.Errorf("shim running %v, stderr %q", f.ShimRunning, stderr)
	}
	if f.SelfTraceErr != "" || f.SelfTraceEvents == 0 {
		t.Errorf("trace.Start: err %q, %d events", f.SelfTraceErr, f.SelfTraceEvents)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 0 {
		t.Errorf("files written: %v", m)
	}
}

func TestInvalidEnv(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=invalid", "WAKESHIM=dir="+dir+",maxfile=lots")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "RAN") {
		t.Error("program did not run on")
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "maxfile") {
		t.Errorf("stderr %q: want one line naming maxfile", stderr.String())
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 0 {
		t.Errorf("files written: %v", m)
	}
}

func TestKilled(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=spin", "SPIN_DIR="+dir, "WAKESHIM=dir="+dir+",jsonl=1,interval=100ms")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		b := make([]byte, 64)
		n, _ := io.ReadAtLeast(out, b, 5)
		ready <- strings.Contains(string(b[:n]), "READY")
		io.Copy(io.Discard, out)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Error("helper did not get ready")
		}
	case <-time.After(20 * time.Second):
		t.Error("timeout waiting for files")
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	files := readFiles(t, dir, true)
	n := 0
	for _, f := range files {
		n += len(f.recs)
	}
	if n == 0 {
		t.Errorf("no records after SIGKILL; stderr: %s", stderr.String())
	}
}

func TestRotationAndCap(t *testing.T) {
	dir := t.TempDir()
	// Files from another process that the cap may remove.
	old := filepath.Join(dir, "other-1-000001.bin")
	os.WriteFile(old, make([]byte, 30000), 0o644)
	os.Chtimes(old, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	unrelated := filepath.Join(dir, "notes.txt")
	os.WriteFile(unrelated, make([]byte, 30000), 0o644)
	_, stderr := runHelper(t, "busy", "WAKESHIM=dir="+dir+",maxfile=16KiB,maxtotal=160KiB,budget=off,stoptimeout=2m")
	names, _ := filepath.Glob(filepath.Join(dir, "*-*-*.bin"))
	var total int64
	for _, n := range names {
		fi, _ := os.Stat(n)
		total += fi.Size()
		if fi.Size() > 16<<10+1024 {
			t.Errorf("%s: %d bytes, over maxfile", n, fi.Size())
		}
	}
	if total > 160<<10 {
		t.Errorf("total %d over the cap", total)
	}
	if len(names) < 3 {
		t.Errorf("only %d files: no rotation? stderr: %s", len(names), stderr)
	}
	if fileExists(old) {
		t.Error("oldest file not removed")
	}
	if !fileExists(unrelated) {
		t.Error("unrelated file removed")
	}
	for _, fr := range readFiles(t, dir, false) {
		if len(fr.recs) == 0 {
			t.Errorf("%s: empty", fr.name)
		}
	}
}

func TestPreblockedSampled(t *testing.T) {
	dir := t.TempDir()
	f, stderr := runHelper(t, "preblocked", "SPIN_DIR="+dir)
	var found bool
	for _, fr := range readFiles(t, dir, false) {
		for i := range fr.recs {
			r := &fr.recs[i]
			if r.Code != format.CodeTaskPending || r.Task != uint32(f.Preblocked) {
				continue
			}
			names := strings.Join(fr.frameNames(r), "\n")
			if !strings.Contains(names, "preblockedWaiter") {
				t.Errorf("frames do not name preblockedWaiter:\n%s", names)
			}
			if r.Duration < 50_000 {
				t.Errorf("duration %dus", r.Duration)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("no TaskPending for the preblocked goroutine %d; stderr: %s", f.Preblocked, stderr)
	}

	// Dumps: each records file that saw a sample has the last dump taken
	// while it was written beside it, in the debug=2 form dumpdiff reads,
	// showing the goroutine blocked.
	dumps, _ := filepath.Glob(filepath.Join(dir, "*.goroutines.txt"))
	if len(dumps) == 0 {
		t.Fatal("no goroutine dumps beside the records")
	}
	for _, name := range dumps {
		if !fileExists(strings.TrimSuffix(name, ".goroutines.txt") + ".bin") {
			t.Errorf("%s: no records file beside it", name)
		}
	}
	// The goroutine is released 1.2s after Start: some dump taken while it
	// was blocked shows it (the last dump of a file may come after).
	var inDump bool
	for _, name := range dumps {
		d, err := dump.ParseBytes(mustRead(t, name), name)
		if err != nil {
			t.Fatal(err)
		}
		if !d.HasIDs() || d.Total == 0 {
			t.Errorf("%s: %v form, %d goroutines; want a debug=2 dump", name, d.Form, d.Total)
		}
		for _, g := range d.Goroutines {
			if g.HasID && int64(g.ID) == f.Preblocked && g.Blocked() {
				inDump = true
			}
		}
	}
	if !inDump && len(dumps) > 1 {
		t.Errorf("goroutine %d blocked in none of the dumps %q", f.Preblocked, dumps)
	}
}

// TestStuckWithoutStop: a goroutine blocked for good in a program that never
// calls Stop (it exits) is in the records, as still pending, with the
// trace's frames and about its age at the dump.
func TestStuckWithoutStop(t *testing.T) {
	dir := t.TempDir()
	f, stderr := runHelper(t, "stuck", "WAKESHIM=dir="+dir+",sample=200ms,budget=off")
	recs := pendingOf(t, dir, uint32(f.Stuck))
	if len(recs) == 0 {
		t.Fatalf("no TaskPending for the stuck goroutine %d; stderr: %s", f.Stuck, stderr)
	}
	checkOneBlock(t, recs, 2*time.Millisecond)
	names := recs[0].frames
	if len(names) == 0 || names[0] != "[chan_receive]" || !strings.Contains(strings.Join(names, "\n"), "stuckForever") {
		t.Errorf("frames %q", names)
	}
	// The default interval (500ms), and what the machine added to it.
	checkAge(t, recs, f, 600*time.Millisecond+time.Duration(f.LagMS*1e6))
}

// checkAge checks that the newest of a stuck goroutine's records gives its
// age when the program ended: at least three quarters of its age when it
// called os.Exit, or that less the slack if more (the flush interval, and
// on a busy machine the sampler's back-off), and no more than its age
// when the process had exited.
func checkAge(t *testing.T, recs []pendingRec, f facts, slack time.Duration) {
	t.Helper()
	atExit := time.Duration(f.StuckMS * 1e6)
	upper := time.Duration(f.Exited - f.StuckSince)
	last := recs[len(recs)-1].dur
	if last < min(atExit*3/4, atExit-slack) || last > upper {
		t.Errorf("newest record %v for a goroutine stuck %v when the program called os.Exit (%v when it had exited), want within max(25%%, %v)", last, atExit, upper, slack)
	}
}

// TestStuckThroughPauses: under a load that keeps the tracer paused for
// the budget most of the time, the sampler still reports a goroutine
// stuck for good (working alone during the pauses).
func TestStuckThroughPauses(t *testing.T) {
	dir := t.TempDir()
	f, stderr := runHelper(t, "stuckbusy", "WAKESHIM=dir="+dir+",sample=200ms,budget=2%,interval=100ms")
	if f.Pauses == 0 {
		t.Skipf("the tracer never paused (a fast machine?); stderr: %s", stderr)
	}
	recs := pendingOf(t, dir, uint32(f.Stuck))
	if len(recs) == 0 {
		for _, fr := range readFiles(t, dir, true) {
			for i := range fr.recs {
				if r := &fr.recs[i]; r.Code == format.CodeTaskPending {
					t.Logf("%s: %+v %q", filepath.Base(fr.name), *r, fr.frameNames(r))
				}
			}
		}
		t.Fatalf("no TaskPending for the stuck goroutine %d (%d pauses); facts %+v; stderr: %s", f.Stuck, f.Pauses, f, stderr)
	}
	checkOneBlock(t, recs, 2*time.Millisecond)
	if !strings.Contains(strings.Join(recs[0].frames, "\n"), "stuckForever") {
		t.Errorf("frames %q", recs[0].frames)
	}
	for _, r := range recs {
		t.Logf("%s: at %v, %v", r.file, r.at, r.dur)
	}
	// The dumps alone see it while the tracer is paused: they come every
	// sample (200ms), or, when a dump is expensive (the race detector, a
	// busy machine), every cost/(budget/2) = cost/1%.
	checkAge(t, recs, f, time.Second+2*time.Duration(f.DumpMS*1e6)*100)
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pendingRec is one TaskPending record of a goroutine, on the time line of
// its process's files (each file's clock starts at the last record of the
// one before: docs/format.md).
type pendingRec struct {
	file       string
	at, dur    time.Duration
	frames     []string
	firstFrame string
}

func (p pendingRec) start() time.Duration { return p.at - p.dur }

// pendingOf returns goroutine id's TaskPending records in dir, in order.
func pendingOf(t *testing.T, dir string, id uint32) []pendingRec {
	t.Helper()
	var out []pendingRec
	var base time.Duration
	for _, fr := range readFiles(t, dir, true) {
		for i := range fr.recs {
			r := &fr.recs[i]
			if r.Code == format.CodeTaskPending && r.Task == id {
				names := fr.frameNames(r)
				p := pendingRec{file: filepath.Base(fr.name), at: base + time.Duration(r.TS)*time.Microsecond,
					dur: time.Duration(r.Duration) * time.Microsecond, frames: names}
				if len(names) > 0 {
					p.firstFrame = names[0]
				}
				out = append(out, p)
			}
		}
		if n := len(fr.recs); n > 0 {
			base += time.Duration(fr.recs[n-1].TS) * time.Microsecond
		}
	}
	return out
}

// checkOneBlock checks that recs are the records of one block: the same
// start (within tol), durations that never shrink, the same frames.
func checkOneBlock(t *testing.T, recs []pendingRec, tol time.Duration) {
	t.Helper()
	for i := 1; i < len(recs); i++ {
		p, q := recs[i-1], recs[i]
		if d := q.start() - p.start(); d > tol || d < -tol {
			t.Errorf("record %d starts %v after record %d (%v then %v): the block restarted", i, d, i-1, p, q)
		}
		if q.dur < p.dur {
			t.Errorf("record %d: duration %v after %v", i, q.dur, p.dur)
		}
		if strings.Join(q.frames, "|") != strings.Join(p.frames, "|") {
			t.Errorf("record %d: frames %q after %q", i, q.frames, p.frames)
		}
	}
}
