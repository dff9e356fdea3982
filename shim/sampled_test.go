package shim_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/shim"
)

//go:noinline
func longBlocked(ch chan struct{}) { <-ch }

// A goroutine blocked since before the shim, across several trace windows,
// is reported by the sampler once (then once more at Stop, still blocked).
func TestSampledOncePerBlock(t *testing.T) {
	ch := make(chan struct{})
	idc := make(chan int64)
	go func() { idc <- goid(); longBlocked(ch) }()
	id := <-idc
	defer close(ch)
	time.Sleep(20 * time.Millisecond)
	dir := t.TempDir()
	s, err := shim.Start(shim.Config{Dir: dir, Budget: 0.03, Interval: 20 * time.Millisecond, Sample: 10 * time.Millisecond, Threshold: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go shim.Churn(stop, &wg)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && s.Stats().Pauses < 4; {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if s.Stats().Pauses < 2 {
		t.Skipf("the tracer did not pause: nothing to test (%+v)", s.Stats())
	}
	var n, sampledFrames int
	names, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	for _, name := range names {
		data, _ := os.ReadFile(name)
		r, err := format.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		frames := map[uint16]string{}
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			if rec.Code == format.CodeFrameDef {
				frames[rec.ID] = rec.Str
			}
			if rec.Code == format.CodeTaskPending && rec.Task == uint32(id) {
				n++
				t.Logf("%s: ts %dus duration %dus frames %v", filepath.Base(name), rec.TS, rec.Duration, rec.Frames)
				for _, f := range rec.Frames {
					if strings.Contains(frames[f], "longBlocked") {
						sampledFrames++
						break
					}
				}
			}
		}
	}
	if n < 1 || n > 2 {
		t.Errorf("%d TaskPending records for the blocked goroutine over %d pauses, want 1 (sampled) or 2 (and at Stop)", n, s.Stats().Pauses)
	}
	if sampledFrames != n {
		t.Errorf("%d of %d records name longBlocked", sampledFrames, n)
	}
}
