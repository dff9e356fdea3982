package attach_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/attach"
	"github.com/wakeshim/wakeshim/dump"
	"github.com/wakeshim/wakeshim/format"
)

// pending is one TaskPending record, on the time line of the run's files.
type pending struct {
	file   string
	at     time.Duration // end of the record's block, from the first file's start
	dur    time.Duration
	frames []string
}

type wake struct{ waker, woken uint32 }

// records decodes every .bin file in dir (oldest first), checking that
// each .jsonl beside it has the same number of records.
func records(t *testing.T, dir string) (map[uint32][]pending, []wake, int) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	sort.Strings(names)
	pend := map[uint32][]pending{}
	var wakes []wake
	total := 0
	var base time.Duration
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := format.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		frames := map[uint16]string{}
		var last uint32
		n := 0
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			n++
			last = rec.TS
			switch rec.Code {
			case format.CodeFrameDef:
				frames[rec.ID] = rec.Str
			case format.CodeWakeEvent:
				wakes = append(wakes, wake{rec.Waker, rec.Task})
			case format.CodeTaskPending:
				p := pending{file: filepath.Base(name), at: base + time.Duration(rec.TS)*time.Microsecond,
					dur: time.Duration(rec.Duration) * time.Microsecond}
				for _, id := range rec.Frames {
					p.frames = append(p.frames, frames[id])
				}
				pend[rec.Task] = append(pend[rec.Task], p)
			}
		}
		total += n
		base += time.Duration(last) * time.Microsecond
		if js := strings.TrimSuffix(name, ".bin") + ".jsonl"; fileExists(js) {
			data, _ := os.ReadFile(js)
			jr := format.NewJSONLReader(bytes.NewReader(data))
			m := 0
			for {
				if _, err := jr.Next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("%s: %v", js, err)
				}
				m++
			}
			if m != n {
				t.Errorf("%s: %d records, %s %d", js, m, filepath.Base(name), n)
			}
		}
	}
	return pend, wakes, total
}

func fileExists(name string) bool { _, err := os.Stat(name); return err == nil }

// facts is what testdata/progs/pprofserver records about itself.
type facts struct {
	Addr   string `json:"addr"`
	Holder int64  `json:"holder"`
	Rounds []struct {
		Waiter        int64   `json:"waiter"`
		StartUnixNano int64   `json:"start_unix_nano"`
		WaitMS        float64 `json:"wait_ms"`
	} `json:"rounds"`
	Pinger             int64 `json:"pinger"`
	Ponger             int64 `json:"ponger"`
	PingRounds         int64 `json:"ping_rounds"`
	Stuck              int64 `json:"stuck"`
	StuckSinceUnixNano int64 `json:"stuck_since_unix_nano"`
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// TestMain removes the pprofserver binary the end-to-end tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// server builds and starts testdata/progs/pprofserver; stop closes its
// standard input and returns the facts it wrote.
func server(t *testing.T) (addr string, stop func() facts) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "attach-e2e")
		if buildErr != nil {
			return
		}
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(gobin, "build", "-trimpath", "-o", filepath.Join(buildDir, "pprofserver"), "../testdata/progs/pprofserver").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building pprofserver: %v", buildErr)
	}
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(buildDir, "pprofserver"), "-o", dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("pprofserver: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		cmd.Process.Kill()
		t.Fatalf("pprofserver said %q", line)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return addr, func() facts {
		stopped = true
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("pprofserver: %v", err)
		}
		var f facts
		data, err := os.ReadFile(filepath.Join(dir, "pprofserver.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
}

func hasFrame(frames []string, fn string) bool {
	for _, f := range frames {
		if strings.HasPrefix(f, fn+" ") {
			return true
		}
	}
	return false
}

// Attach to a real program for two windows of about a second, with
// dumps, and check the records against what the program measured itself.
func TestAttachEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	addr, stop := server(t)
	dir := t.TempDir()
	var logs []string
	started := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	windowStart := map[int]time.Time{} // when each window was asked for
	sum, err := attach.Run(ctx, attach.Config{
		URL: "http://" + addr, Dir: dir, Window: time.Second,
		Dumps: true, JSONL: true, Timeout: 30 * time.Second, Threshold: 5 * time.Millisecond,
		Log: func(s string) { logs = append(logs, s) },
		Progress: func(s attach.Summary) {
			if s.Window > 0 {
				windowStart[s.Window] = s.WindowStart
			}
			if s.Window >= 2 {
				cancel() // the second window is finished, no third is asked for
			}
		},
	})
	if err != nil {
		t.Fatalf("Run: %v (log %q)", err, logs)
	}
	f := stop()
	t.Logf("summary %+v, coverage %.2f, log %q", sum, sum.Coverage(), logs)
	if sum.Windows != 2 || sum.Complete != 2 || sum.Dumps != 2 {
		t.Errorf("%d windows, %d complete, %d dumps: want 2, complete, each with a dump", sum.Windows, sum.Complete, sum.Dumps)
	}
	if c := sum.Coverage(); c < 0.3 || c > 1 {
		t.Errorf("coverage %.2f", c)
	}
	pend, wakes, total := records(t, dir)
	if int64(total) != sum.Records {
		t.Errorf("%d records in the files, summary says %d", total, sum.Records)
	}
	dumps, _ := filepath.Glob(filepath.Join(dir, "*.goroutines.txt"))
	if len(dumps) == 0 {
		t.Error("no goroutine dump kept")
	}
	// The goroutineleak profile, after the first window (the second is
	// within LeakProfile's minute): served by a target built with a Go
	// that has it (the test's own, 1.27), a 404 noted once otherwise.
	leaks, _ := filepath.Glob(filepath.Join(dir, "*.goroutineleak.txt"))
	noted := 0
	for _, l := range logs {
		if strings.Contains(l, "serves no goroutineleak profile") {
			noted++
		}
	}
	if pprof.Lookup("goroutineleak") != nil {
		if sum.LeakProfiles != 1 || len(leaks) != 1 || noted != 0 {
			t.Errorf("%d goroutineleak profiles (files %q), %d notes of none: want 1 profile kept", sum.LeakProfiles, leaks, noted)
		}
		for _, l := range leaks {
			if !fileExists(strings.TrimSuffix(l, ".goroutineleak.txt") + ".bin") {
				t.Errorf("%s has no records file", l)
			}
			if d, err := dump.ReadFile(l); err != nil || !d.HasIDs() {
				t.Errorf("%s: %v: want a debug=2 dump", l, err)
			}
		}
	} else if sum.LeakProfiles != 0 || len(leaks) != 0 || noted != 1 {
		t.Errorf("%d goroutineleak profiles (files %q), %d notes of none: want none, noted once", sum.LeakProfiles, leaks, noted)
	}
	for _, d := range dumps {
		if !fileExists(strings.TrimSuffix(d, ".goroutines.txt") + ".bin") {
			t.Errorf("%s has no records file", d)
		}
	}

	// The mutex waits: a round seen whole is within 25% of the wait the
	// program measured; one cut by the start of a window gives a lower
	// bound; one in progress in a gap between windows ends at the first
	// evidence after it (the next dump or window): an upper bound. Only a
	// round whose wait overlaps a gap can be one: the program's own times
	// against the windows' (each asked for at its start, for WindowLen;
	// gapSlack for the request's way to the target). Rounds are 100ms
	// apart and waits 40ms, so a gap shorter than 60ms holds one at most;
	// a loaded machine makes longer gaps.
	const gapSlack = 20 * time.Millisecond
	inGaps := 0
	for k := 1; k < sum.Windows; k++ {
		from, ok1 := windowStart[k]
		to, ok2 := windowStart[k+1]
		if !ok1 || !ok2 {
			t.Fatalf("window %d or %d never reported its start", k, k+1)
		}
		from, to = from.Add(sum.WindowLen-gapSlack), to.Add(gapSlack)
		for _, r := range f.Rounds {
			begin := time.Unix(0, r.StartUnixNano)
			end := begin.Add(time.Duration(r.WaitMS * float64(time.Millisecond)))
			if begin.Before(to) && end.After(from) {
				inGaps++
			}
		}
	}
	t.Logf("%d rounds' waits overlap the gaps between windows", inGaps)
	whole, over, stackless := 0, 0, 0
	for _, r := range f.Rounds {
		recs := pend[uint32(r.Waiter)]
		if len(recs) == 0 {
			continue
		}
		want := time.Duration(r.WaitMS * float64(time.Millisecond))
		for _, p := range recs {
			if len(p.frames) == 1 && p.frames[0] == "[unknown]" {
				// Blocked after the dump and before the window began: the
				// trace restates it, with no stack, right before its wake.
				stackless++
				t.Logf("waiter %d: pending %v with no stack: blocked in the gap before a window", r.Waiter, p.dur)
				continue
			}
			if !hasFrame(p.frames, "main.waitForLock") || p.frames[0] != "[sync.Mutex.Lock]" {
				t.Errorf("waiter %d: frames %q", r.Waiter, p.frames)
			}
			switch {
			case p.dur > want*5/4:
				over++
				t.Logf("waiter %d: pending %v, it measured %v: across a gap", r.Waiter, p.dur, want)
			case p.dur >= want*3/4:
				whole++
			}
		}
	}
	if stackless > sum.Windows {
		t.Errorf("%d stackless waits, more than one per window (%d)", stackless, sum.Windows)
	}
	if over > inGaps {
		t.Errorf("%d waits longer than measured, more than the %d rounds whose waits overlap the %d gaps", over, inGaps, sum.Windows-1)
	}
	if whole < 5 {
		t.Errorf("%d mutex waits within 25%% of the program's own measure, want at least 5 (of %d rounds)", whole, len(f.Rounds))
	}
	// Wakes: the holder wakes the waiters, the ping-pong pair each other.
	woke := map[wake]int{}
	waiters := map[uint32]bool{}
	for _, r := range f.Rounds {
		waiters[uint32(r.Waiter)] = true
	}
	byHolder := 0
	for _, w := range wakes {
		woke[w]++
		if w.waker == uint32(f.Holder) && waiters[w.woken] {
			byHolder++
		}
	}
	if byHolder < 5 {
		t.Errorf("%d wakes of waiters by the holder", byHolder)
	}
	a, b := uint32(f.Pinger), uint32(f.Ponger)
	if woke[wake{a, b}] < 50 || woke[wake{b, a}] < 50 {
		t.Errorf("ping-pong wakes: %d of B by A, %d of A by B (the program made %d rounds)", woke[wake{a, b}], woke[wake{b, a}], f.PingRounds)
	}
	// The goroutine stuck since before the first window: one block, with
	// the dump's stack and a lower bound of its age spanning the windows.
	stuck := pend[uint32(f.Stuck)]
	if len(stuck) == 0 {
		t.Fatal("no TaskPending for the stuck goroutine")
	}
	lastRec := stuck[len(stuck)-1]
	if !hasFrame(lastRec.frames, "main.stuckForever") || lastRec.frames[0] != "[chan_receive]" {
		t.Errorf("stuck: frames %q", lastRec.frames)
	}
	age := time.Since(time.Unix(0, f.StuckSinceUnixNano))
	if lastRec.dur > age || lastRec.dur < sum.Traced*3/4 {
		t.Errorf("stuck: %v, want a lower bound of its age %v spanning the windows (traced %v)", lastRec.dur, age, sum.Traced)
	}
	for i := 1; i < len(stuck); i++ {
		if s0, s1 := stuck[i-1].at-stuck[i-1].dur, stuck[i].at-stuck[i].dur; s1-s0 > 2*time.Millisecond || s0-s1 > 2*time.Millisecond {
			t.Errorf("stuck: record %d starts at %v, record %d at %v: not one block", i-1, s0, i, s1)
		}
	}
	// The goroutine serving the trace request is attach's own doing.
	for id, recs := range pend {
		for _, p := range recs {
			if hasFrame(p.frames, "net/http/pprof.Trace") || hasFrame(p.frames, "net/http/pprof.sleep") {
				t.Errorf("g%d: a record of the pprof handler serving the trace: %q", id, p.frames)
			}
		}
	}
	if time.Since(started) > 2*time.Minute {
		t.Logf("slow machine: %v", time.Since(started))
	}
}
