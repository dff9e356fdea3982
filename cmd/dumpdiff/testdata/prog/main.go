// Command prog writes the test data of cmd/dumpdiff: the v9 records of a
// short execution trace and three goroutine dumps (debug=0, 1, 2) of the
// same program, taken when the trace ends (the usual incident: records of
// the last seconds, and a dump taken when things went wrong).
//
//	go run ./cmd/dumpdiff/testdata/prog -o cmd/dumpdiff/testdata
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
// The records are made from the trace by a small converter in this file
// (the project's converter, convert/, follows the same conventions): a
// WakeEvent when a goroutine is unblocked, followed at the same timestamp
// by a TaskPending with the pseudo-frame "[reason]" then the block stack
// as the tracer reports it; TaskSpawn with the go statement as the spawn
// location; a TaskPending at the end for the goroutines still blocked. The
// records are split into two segments (two files, each with its own time
// base and id tables), and written both in binary and as JSONL.
//
// It also writes prog.json, the ids the program observed for itself.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
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

	if err := convert(&tbuf, *dir); err != nil {
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

// The small converter.

type gstate struct {
	blocked bool
	since   exptrace.Time
	reason  string
	frames  []string
	loc     string
}

type segment struct {
	bin, jsonl bytes.Buffer
	w          *format.Writer
	jw         *format.JSONLWriter
	frames     format.Table
	locs       format.Table
	base       exptrace.Time
}

func (s *segment) write(r format.Record) {
	if err := s.w.WriteRecord(&r); err != nil {
		log.Fatal(err)
	}
	if err := s.jw.WriteRecord(&r); err != nil {
		log.Fatal(err)
	}
}

func (s *segment) intern(t *format.Table, code format.Code, str string) uint16 {
	id, isNew, err := t.Intern(str)
	if err != nil {
		log.Fatal(err)
	}
	if isNew {
		s.write(format.Record{Code: code, ID: id, Str: str})
	}
	return id
}

func (s *segment) ts(t exptrace.Time) uint32 { return uint32(max(int64(t-s.base), 0) / 1e3) }

func frameString(f exptrace.StackFrame) string {
	return f.Func + " " + f.File + ":" + strconv.FormatUint(f.Line, 10)
}

func convert(r *bytes.Buffer, dir string) error {
	tr, err := exptrace.NewReader(r)
	if err != nil {
		return err
	}
	var evs []exptrace.Event
	for {
		ev, err := tr.ReadEvent()
		if err != nil {
			break
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		return fmt.Errorf("empty trace")
	}
	start, end := evs[0].Time(), evs[len(evs)-1].Time()
	split := start + (end-start)/2
	var segs []*segment
	newSeg := func(base exptrace.Time) *segment {
		s := &segment{base: base}
		w, err := format.NewWriter(&s.bin)
		if err != nil {
			log.Fatal(err)
		}
		s.w, s.jw = w, format.NewJSONLWriter(&s.jsonl)
		segs = append(segs, s)
		return s
	}
	seg := newSeg(start)
	gs := map[exptrace.GoID]*gstate{}
	ignored := map[exptrace.GoID]bool{}
	pending := func(id exptrace.GoID, g *gstate, t exptrace.Time) {
		ids := []uint16{seg.intern(&seg.frames, format.CodeFrameDef, "["+g.reason+"]")}
		for _, f := range g.frames {
			ids = append(ids, seg.intern(&seg.frames, format.CodeFrameDef, f))
		}
		seg.write(format.Record{Code: format.CodeTaskPending, TS: seg.ts(t), Task: uint32(id),
			Duration: uint32((t - g.since) / 1e3), Frames: ids})
	}
	for _, ev := range evs {
		t := ev.Time()
		if len(segs) == 1 && t >= split {
			seg = newSeg(t)
		}
		if ev.Kind() != exptrace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != exptrace.ResourceGoroutine {
			continue
		}
		id := st.Resource.Goroutine()
		from, to := st.Goroutine()
		g := gs[id]
		if g == nil {
			g = &gstate{}
			gs[id] = g
			var outer string
			for f := range st.Stack.Frames() {
				outer = f.Func
			}
			if len(outer) >= 8 && (outer[:8] == "runtime." || outer[:8] == "runtime/") {
				ignored[id] = true // the tracer's and the runtime's own
			}
			if from == exptrace.GoNotExist {
				for f := range ev.Stack().Frames() {
					g.loc = frameString(f)
					break
				}
				if g.loc != "" && !ignored[id] {
					loc := seg.intern(&seg.locs, format.CodeSpawnLocationDef, g.loc)
					seg.write(format.Record{Code: format.CodeTaskSpawn, Task: uint32(id), SpawnLoc: loc})
				}
			}
		}
		if ignored[id] {
			continue
		}
		if g.blocked && from == exptrace.GoWaiting && to == exptrace.GoRunnable {
			waker := ev.Goroutine()
			if waker == exptrace.NoGoroutine || ignored[waker] {
				waker = 0
			}
			seg.write(format.Record{Code: format.CodeWakeEvent, TS: seg.ts(t), Waker: uint32(waker), Task: uint32(id), Worker: format.NoWorker})
			pending(id, g, t)
			g.blocked = false
		}
		if to == exptrace.GoWaiting {
			g.blocked, g.since, g.reason, g.frames = true, t, st.Reason, nil
			if from == exptrace.GoUndetermined && g.reason == "" {
				g.reason = "unknown"
			}
			for f := range st.Stack.Frames() {
				g.frames = append(g.frames, frameString(f))
			}
		}
		if to == exptrace.GoNotExist {
			delete(gs, id)
		}
	}
	for id, g := range gs {
		if g.blocked && !ignored[id] {
			pending(id, g, end)
		}
	}
	for i, s := range segs {
		write(filepath.Join(dir, fmt.Sprintf("prog.%d.v9", i+1)), s.bin.Bytes())
		write(filepath.Join(dir, fmt.Sprintf("prog.%d.jsonl", i+1)), s.jsonl.Bytes())
	}
	return nil
}
