package shim_test

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/shim"
)

//go:noinline
func longBlocked(ch chan struct{}) { <-ch }

// startLongBlocked starts a goroutine blocked in longBlocked until the
// test ends, and returns its id.
func startLongBlocked(t *testing.T) int64 {
	ch := make(chan struct{})
	idc := make(chan int64)
	go func() { idc <- goid(); longBlocked(ch) }()
	t.Cleanup(func() { close(ch) })
	return <-idc
}

// A goroutine blocked since before the shim, across several trace windows
// and pauses, is one block: every record counts from the same start (the
// earliest evidence, the first window), the age grows, and the last is its
// age at Stop.
func TestOneBlockAcrossPauses(t *testing.T) {
	id := startLongBlocked(t)
	dir := t.TempDir()
	started := time.Now()
	s, err := shim.Start(shim.Config{Dir: dir, Budget: 0.03, Interval: 20 * time.Millisecond, Sample: 10 * time.Millisecond, Threshold: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go shim.Churn(stop, &wg)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && s.Stats().Pauses < 2; {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	age := time.Since(started)
	if s.Stats().Pauses < 2 {
		t.Skipf("the tracer did not pause: nothing to test (%+v)", s.Stats())
	}
	recs := pendingOf(t, dir, uint32(id))
	if len(recs) == 0 {
		t.Fatalf("no TaskPending for the blocked goroutine over %d pauses", s.Stats().Pauses)
	}
	for _, r := range recs {
		t.Logf("%s: at %v duration %v", r.file, r.at, r.dur)
	}
	checkOneBlock(t, recs, 2*time.Millisecond)
	if !strings.Contains(strings.Join(recs[0].frames, "\n"), "longBlocked") {
		t.Errorf("frames %q", recs[0].frames)
	}
	// The age grows by an eighth (or an interval) between records: about
	// 8 records per doubling from Sample on, and a few more for the steps.
	if max := 8*math.Log2(float64(age)/float64(10*time.Millisecond)) + 10 + float64(age/(20*time.Millisecond)); float64(len(recs)) > max {
		t.Errorf("%d records over %v, want at most %.0f", len(recs), age, max)
	}
	if last := recs[len(recs)-1].dur; last < age*3/4-40*time.Millisecond || last > age {
		t.Errorf("last record %v, want about the age at Stop, %v", last, age)
	}
}

// TestAgeAtStop: a goroutine stuck since before Start ends the files with
// its age at Stop, even when the dumps back off (after a dump that cost d
// the next waits d/(Budget/2): here 20000 times d) and the tracer is
// paused for the budget, so that the last evidence is long before Stop:
// Stop takes one dump more.
func TestAgeAtStop(t *testing.T) {
	id := startLongBlocked(t)
	dir := t.TempDir()
	started := time.Now()
	s, err := shim.Start(shim.Config{Dir: dir, Budget: 1e-4, Interval: 10 * time.Millisecond, Sample: 10 * time.Millisecond, Threshold: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && s.Stats().Samples < 1; {
		time.Sleep(5 * time.Millisecond)
	}
	// Time passes after the first dump; the back-off keeps the next one
	// away (a dump of a few goroutines costs tens of µs: a second or more).
	time.Sleep(300 * time.Millisecond)
	before := time.Since(started)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	recs := pendingOf(t, dir, uint32(id))
	if len(recs) == 0 {
		t.Fatalf("no TaskPending for the blocked goroutine (%+v)", s.Stats())
	}
	checkOneBlock(t, recs, 2*time.Millisecond)
	// The block's start is a lower bound (the first evidence), at most
	// Start's own time after started.
	if last := recs[len(recs)-1].dur; last < before-50*time.Millisecond {
		t.Errorf("last record %v, want the age at Stop, at least %v (%d dumps)", last, before-50*time.Millisecond, s.Stats().Samples)
	}
}

// TestDumpsBeforeFirstTrace: the first generation is skipped for the
// budget (a debt at Start) and the tracer paused, so the dumps come
// before the converter has seen a trace: they are placed on the clock of
// the skipped generation, and when the trace comes back the block goes
// on, one block whose age never exceeds the session's (on the session's
// own clock, the trace's times would make it thousands of seconds old).
func TestDumpsBeforeFirstTrace(t *testing.T) {
	shim.SetStartDebt(200 * time.Millisecond)
	defer shim.SetStartDebt(0)
	ch := make(chan struct{})
	idc := make(chan int64)
	go func() { idc <- goid(); longBlocked(ch) }()
	id := <-idc
	defer close(ch)
	dir := t.TempDir()
	started := time.Now()
	s, err := shim.Start(shim.Config{Dir: dir, Budget: 0.5, Interval: 20 * time.Millisecond, Sample: 10 * time.Millisecond, Threshold: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The debt is paid back in 400ms: then the tracer restarts and its
	// generations are converted.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && (s.Stats().Gens < 2 || s.Stats().Samples < 2); {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	age := time.Since(started)
	st := s.Stats()
	if st.GensSkipped == 0 || st.Gens < 2 {
		t.Skipf("no generation skipped, then converted: %+v", st)
	}
	recs := pendingOf(t, dir, uint32(id))
	if len(recs) == 0 {
		t.Fatalf("no TaskPending for the blocked goroutine (%+v)", st)
	}
	for _, r := range recs {
		t.Logf("%s: at %v duration %v", r.file, r.at, r.dur)
	}
	checkOneBlock(t, recs, 2*time.Millisecond)
	if last := recs[len(recs)-1].dur; last > age || last < age/2 {
		t.Errorf("last record %v, want about the age at Stop, %v", last, age)
	}
}
