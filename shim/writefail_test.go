package shim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/internal/rotate"
)

// A write error (here the first file's name taken, as a full disk would
// fail it) is reported at once on stderr, without Stop, and so is the
// retry that succeeds, with the records dropped in between.
func TestWriteErrorReported(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the retry")
	}
	dir := t.TempDir()
	var stderr syncBuffer
	s, err := Start(Config{Dir: dir, Stderr: &stderr, Interval: 20 * time.Millisecond, Threshold: time.Millisecond, Sample: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	prefix := rotate.ProgramName(os.Args[0]) + "-" + strconv.Itoa(os.Getpid()) + "-"
	if err := os.WriteFile(filepath.Join(dir, rotate.FileName(prefix, 1, "bin")), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var mu sync.Mutex
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			go func() { time.Sleep(2 * time.Millisecond); mu.Unlock() }()
			mu.Lock()
			mu.Unlock()
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && !strings.Contains(stderr.String(), "failed"); {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "records are dropped") {
		t.Fatalf("no report of the write error: stderr %q, stats %+v", stderr.String(), s.Stats())
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !strings.Contains(stderr.String(), "again"); {
		time.Sleep(50 * time.Millisecond)
	}
	m := regexp.MustCompile(`writing the records again, to \S+: ([0-9]+) records were dropped`).FindStringSubmatch(stderr.String())
	if m == nil || m[1] == "0" {
		t.Errorf("no report of the recovery with the records dropped: %q", stderr.String())
	}
	if n := strings.Count(stderr.String(), "records are dropped"); n != 1 {
		t.Errorf("write error reported %d times: %q", n, stderr.String())
	}
}

// Stop does not wait for ever for goroutines that do not finish.
func TestStopTimeout(t *testing.T) {
	var stderr syncBuffer
	s := &Session{cfg: Config{StopTimeout: 50 * time.Millisecond, Stderr: &stderr},
		stopc: make(chan struct{}), snapDone: make(chan struct{}), workerDone: make(chan struct{})}
	close(s.snapDone) // the snapshot loop ends; the worker hangs
	t0 := time.Now()
	err := s.Stop()
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	if err == nil || !strings.Contains(err.Error(), "conversion") || strings.Contains(err.Error(), "snapshot") {
		t.Errorf("Stop: %v, want an error naming the conversion alone", err)
	}
	if !strings.Contains(stderr.String(), "gave up") {
		t.Errorf("stderr %q", stderr.String())
	}
	if _, err := (Config{Dir: "x", StopTimeout: -1}).withDefaults(); err == nil {
		t.Error("negative StopTimeout accepted")
	}
}

// Flush, Stats and Config of a nil Session (auto.Session() with WAKESHIM
// unset) do not panic.
func TestNilSession(t *testing.T) {
	var s *Session
	if err := s.Flush(context.Background()); err != nil {
		t.Errorf("nil Flush: %v", err)
	}
	if st := s.Stats(); st != (Stats{}) {
		t.Errorf("nil Stats: %+v", st)
	}
	_ = s.Config()
	if err := s.Stop(); err != nil {
		t.Errorf("nil Stop: %v", err)
	}
}

// A Dir that cannot be made is an error naming dir, a *KeyError when the
// Config comes from WAKESHIM.
func TestStartDirError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "sub") // under a file: MkdirAll fails
	if _, err := Start(Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), "dir") {
		t.Errorf("Start: %v, want an error naming dir", err)
	}
	cfg, err := ParseEnv("dir=" + dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(cfg)
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "dir" {
		t.Errorf("Start from WAKESHIM: %v, want a *KeyError for dir", err)
	}
}

// A panic recovered in the shim's goroutines makes Stop return an error.
func TestRecoveredPanicStopError(t *testing.T) {
	var stderr syncBuffer
	s, err := Start(Config{Dir: t.TempDir(), Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	s.recovered("worker", "boom")
	if err := s.Stop(); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Stop after a recovered panic: %v", err)
	}
}
