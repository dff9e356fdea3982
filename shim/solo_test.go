package shim_test

import (
	"context"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/shim"
)

//go:noinline
func stuckInSolo(ch chan struct{}) { <-ch }

// The program takes the flight recorder while the shim's tracer is paused
// for the budget: the session runs on the sampler alone, which reports a
// stuck goroutine at once, and goes back to the trace when the recorder is
// free again. The time is not counted as a budget pause.
func TestSamplerAloneAfterPause(t *testing.T) {
	dir := t.TempDir()
	var stderr shim.SyncBuffer
	s, err := shim.Start(shim.Config{Dir: dir, Stderr: &stderr, Budget: 0.05, Interval: 20 * time.Millisecond,
		Sample: 10 * time.Millisecond, Threshold: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go shim.Churn(stop, &wg)
	go shim.Churn(stop, &wg)
	// Take the flight recorder as soon as the shim's is paused.
	host := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	got := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if s.Stats().Pauses > 0 && host.Start() == nil {
			got = true
			break
		}
	}
	close(stop)
	wg.Wait()
	if !got {
		t.Skipf("the shim's tracer did not pause: %+v", s.Stats())
	}
	hostStopped := false
	defer func() {
		if !hostStopped {
			host.Stop()
		}
	}()
	// The shim tries to restart once it has paid back its debt for the
	// window before the pause: seconds, many under the race detector.
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline) && s.Stats().SamplerOnly == 0; {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Stats().SamplerOnly == 0 {
		t.Fatalf("not on the sampler alone with the host's recorder running: %+v", s.Stats())
	}
	ch := make(chan struct{})
	idc := make(chan uint32)
	go func() { idc <- uint32(goid()); stuckInSolo(ch) }()
	id := <-idc
	defer close(ch)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && len(pendingOf(t, dir, id)) == 0; {
		time.Sleep(20 * time.Millisecond)
		s.Flush(context.Background())
	}
	solo := pendingOf(t, dir, id)
	if len(solo) == 0 {
		t.Fatalf("no TaskPending records for the stuck goroutine on the sampler alone; stats %+v", s.Stats())
	}
	// The host lets go: a recorder again, and the block is not reported
	// anew by the trace's sampler.
	host.Stop()
	hostStopped = true
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && s.Stats().SamplerOnlyTime == 0; {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Stats().SamplerOnlyTime == 0 {
		t.Errorf("still on the sampler alone after the host's recorder stopped")
	}
	// The block goes on under the trace: one block, from the start the
	// sampler saw, not a new one from the trace's window.
	before := len(solo)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && len(pendingOf(t, dir, id)) <= before; {
		time.Sleep(20 * time.Millisecond)
		s.Flush(context.Background())
	}
	recs := pendingOf(t, dir, id)
	if len(recs) <= before {
		t.Errorf("no record of the stuck goroutine after the trace is back: %+v", s.Stats())
	}
	checkOneBlock(t, recs, 2*time.Millisecond)
	stopped = true
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.SamplerOnly == 0 || st.SamplerOnlyTime == 0 {
		t.Errorf("sampler-alone time not counted: %+v", st)
	}
	if !strings.Contains(stderr.String(), "sampler alone") {
		t.Errorf("stderr %q: the Stop line does not tell the time on the sampler alone", stderr.String())
	}
}

// With many goroutines a dump is expensive: the sampler backs off so that
// its dumps keep within their share of a CPU (5%, or the budget if less).
func TestSamplerBacksOff(t *testing.T) {
	ch := make(chan struct{})
	defer close(ch)
	for range 10000 {
		go func() { <-ch }()
	}
	dir := t.TempDir()
	var stderr shim.SyncBuffer
	t0 := time.Now()
	s, err := shim.Start(shim.Config{Dir: dir, Stderr: &stderr, Sample: 5 * time.Millisecond, Threshold: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	el := time.Since(t0)
	st := s.Stats()
	if st.Samples == 0 {
		t.Fatalf("no samples: %+v", st)
	}
	per := st.SampleTime / time.Duration(st.Samples)
	t.Logf("%d samples in %v, %v each, %v in all", st.Samples, el, per, st.SampleTime)
	// At most a share of 5% of the time, give or take a dump at each end.
	if lim := el/20 + 2*per; st.SampleTime > lim {
		t.Errorf("dumps took %v of %v (%d of them), over 5%% (%v)", st.SampleTime, el, st.Samples, lim)
	}
}
