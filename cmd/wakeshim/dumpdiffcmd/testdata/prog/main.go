// Command prog writes the test data of cmd/dumpdiff: the v9 records of a
// short execution trace and three goroutine dumps (debug=0, 1, 2) of the
// same program, taken when the trace ends (the usual incident: records of
// the last seconds, and a dump taken when things went wrong).
//
//	go run -trimpath ./cmd/dumpdiff/testdata/prog -o cmd/dumpdiff/testdata
//
// What the program does:
//
//   - before tracing starts, main.waitPre blocks in a channel receive
//     (released while tracing by main.releaser) and main.stuckForever
//     blocks in a channel receive that is never satisfied: both are blocked
//     before the records begin;
//   - while tracing: two main.consumer goroutines receive jobs from
//     main.producer (and are blocked in that receive at the end); three
//     main.lockWorker goroutines queue on a mutex main holds for a while;
//     main.selector waits in a select until main.closer closes a channel;
//     main.sleeper sleeps a few times;
//   - after the trace stops: main.deadlocked blocks on a mutex that is
//     never unlocked and two main.waitGroupWaiter goroutines in a
//     sync.WaitGroup.Wait, then the dumps are taken.
//
// The records are made from the trace by the project's converter (package
// convert, with its defaults and the runtime's own goroutines left out, as
// cmd/convert does), split at the middle of the trace into two segments
// (two files, each with its own time base and id tables), and written both
// in binary and as JSONL. Run it with -trimpath (as below) so that file
// names are module-relative, as in testdata/traces.
//
// It also writes prog.json, the ids the program observed for itself.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"sync"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
)

func goid() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	b := bytes.TrimPrefix(buf[:n], []byte("goroutine "))
	i := bytes.IndexByte(b, ' ')
	id, err := strconv.ParseInt(string(b[:i]), 10, 64)
	if err != nil {
		panic(err)
	}
	return id
}

type facts struct {
	GoVersion string           `json:"go_version"`
	IDs       map[string]int64 `json:"ids"`
	mu        sync.Mutex
}

func (f *facts) set(name string) {
	id := goid()
	f.mu.Lock()
	f.IDs[name] = id
	f.mu.Unlock()
}

//go:noinline
func waitPre(c <-chan int) int { return <-c }

//go:noinline
func stuckForever(c <-chan struct{}) { <-c }

//go:noinline
func releaser(c chan<- int) { c <- 1 }

//go:noinline
func consumer(jobs <-chan int, wg *sync.WaitGroup) {
	for range jobs {
		wg.Done()
	}
}

//go:noinline
func producer(jobs chan<- int, n int) {
	for i := 0; i < n; i++ {
		time.Sleep(2 * time.Millisecond)
		jobs <- i
	}
}

//go:noinline
func lockWorker(mu *sync.Mutex, wg *sync.WaitGroup) {
	defer wg.Done()
	mu.Lock()
	time.Sleep(time.Millisecond)
	mu.Unlock()
}

//go:noinline
func selector(a, b <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	select {
	case <-a:
	case <-b:
	}
}

//go:noinline
func closer(c chan struct{}) { close(c) }

//go:noinline
func sleeper(wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; i < 3; i++ {
		time.Sleep(3 * time.Millisecond)
	}
}

//go:noinline
func deadlocked(mu *sync.Mutex) { mu.Lock() }

//go:noinline
func waitGroupWaiter(wg *sync.WaitGroup) { wg.Wait() }

var never = make(chan struct{})

func main() {
	log.SetFlags(0)
	log.SetPrefix("prog: ")
	dir := flag.String("o", ".", "output directory")
	flag.Parse()
	fs := &facts{GoVersion: runtime.Version(), IDs: map[string]int64{}}
	fs.set("main")

	// Blocked before the records begin.
	pre := make(chan int)
	started := make(chan bool)
	go func() { fs.set("waitPre"); started <- true; waitPre(pre) }()
	go func() { fs.set("stuckForever"); started <- true; stuckForever(never) }()
	<-started
	<-started
	time.Sleep(10 * time.Millisecond)

	var tbuf bytes.Buffer
	if err := trace.Start(&tbuf); err != nil {
		log.Fatal(err)
	}

	jobs := make(chan int)
	var jobsDone sync.WaitGroup
	jobsDone.Add(6)
	for i := 0; i < 2; i++ {
		go func() { fs.set("consumer" + strconv.Itoa(i)); consumer(jobs, &jobsDone) }()
	}
	go func() { fs.set("producer"); producer(jobs, 6) }()

	var mu sync.Mutex
	var done sync.WaitGroup
	mu.Lock()
	done.Add(3)
	for i := 0; i < 3; i++ {
		go func() { fs.set("lockWorker" + strconv.Itoa(i)); lockWorker(&mu, &done) }()
	}
	a, b := make(chan struct{}), make(chan struct{})
	done.Add(2)
	go func() { fs.set("selector"); selector(a, b, &done) }()
	go func() { fs.set("sleeper"); sleeper(&done) }()

	time.Sleep(5 * time.Millisecond)
	mu.Unlock()
	go func() { fs.set("closer"); closer(b) }()
	go func() { fs.set("releaser"); releaser(pre) }()
	done.Wait()
	jobsDone.Wait()
	time.Sleep(3 * time.Millisecond) // consumers blocked again for a while
	trace.Stop()

	// After the records end: new blocked goroutines.
	var mu2 sync.Mutex
	mu2.Lock()
	go func() { fs.set("deadlocked"); deadlocked(&mu2) }()
	var wg2 sync.WaitGroup
	wg2.Add(1)
	for i := 0; i < 2; i++ {
		go func() { fs.set("waitGroupWaiter" + strconv.Itoa(i)); waitGroupWaiter(&wg2) }()
	}
	time.Sleep(20 * time.Millisecond)

	for _, d := range []struct {
		name  string
		debug int
	}{
		{"prog.goroutines.pb.gz", 0},
		{"prog.goroutines.txt", 1},
		{"prog.goroutines.debug2.txt", 2},
	} {
		var buf bytes.Buffer
		if err := pprof.Lookup("goroutine").WriteTo(&buf, d.debug); err != nil {
			log.Fatal(err)
		}
		write(filepath.Join(*dir, d.name), buf.Bytes())
	}

	if err := convertTrace(tbuf.Bytes(), *dir); err != nil {
		log.Fatal(err)
	}
	fs.mu.Lock()
	b2, err := json.MarshalIndent(fs, "", "  ")
	fs.mu.Unlock()
	if err != nil {
		log.Fatal(err)
	}
	write(filepath.Join(*dir, "prog.json"), append(b2, '\n'))
}

func write(path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatal(err)
	}
}

// The records: the trace converted by the project's converter, split at
// the middle of the trace into two segments.

// segments is a convert.Output keeping each segment's binary and JSONL
// renderings in memory.
type segments struct {
	bins, jsonls []*bytes.Buffer
	w            format.RecordWriter
}

func (s *segments) open() error {
	bin, jsonl := new(bytes.Buffer), new(bytes.Buffer)
	w, err := format.NewWriter(bin)
	if err != nil {
		return err
	}
	s.bins, s.jsonls = append(s.bins, bin), append(s.jsonls, jsonl)
	s.w = format.MultiWriter(w, format.NewJSONLWriter(jsonl))
	return nil
}

func (s *segments) WriteRecord(r *format.Record) error { return s.w.WriteRecord(r) }
func (s *segments) Close() error                       { return s.w.Close() }

func (s *segments) NextSegment() error {
	if err := s.w.Close(); err != nil {
		return err
	}
	return s.open()
}

// readEvents reads every event of a trace.
func readEvents(trace []byte) ([]exptrace.Event, error) {
	tr, err := exptrace.NewReader(bytes.NewReader(trace))
	if err != nil {
		return nil, err
	}
	var evs []exptrace.Event
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("empty trace")
	}
	return evs, nil
}

// convertTrace converts the trace with the project's converter (as
// cmd/convert does by default: the runtime's and the tracer's own
// goroutines left out),
// starting a second segment at the middle of the trace, and writes
// prog.N.v9 and prog.N.jsonl.
func convertTrace(trace []byte, dir string) error {
	evs, err := readEvents(trace)
	if err != nil {
		return err
	}
	split := evs[0].Time() + (evs[len(evs)-1].Time()-evs[0].Time())/2
	out := &segments{}
	if err := out.open(); err != nil {
		return err
	}
	c, err := convert.New(convert.Config{Ignore: convert.SystemGoroutine}, out)
	if err != nil {
		return err
	}
	rotated := false
	for i := range evs {
		if !rotated && evs[i].Time() >= split {
			rotated = true
			if err := c.Rotate(); err != nil {
				return err
			}
		}
		if err := c.Event(&evs[i]); err != nil {
			return err
		}
	}
	if err := c.Close(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	for i := range out.bins {
		write(filepath.Join(dir, fmt.Sprintf("prog.%d.v9", i+1)), out.bins[i].Bytes())
		write(filepath.Join(dir, fmt.Sprintf("prog.%d.jsonl", i+1)), out.jsonls[i].Bytes())
	}
	return nil
}
