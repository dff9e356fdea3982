package shim

import (
	"runtime"
	"testing"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/dump"
)

// blockMany starts n goroutines blocked on a channel; close it to end them.
func blockMany(n int) chan struct{} {
	ch := make(chan struct{})
	for range n {
		go func() { <-ch }()
	}
	return ch
}

// BenchmarkSample20k takes samples of a program with 20,000 blocked
// goroutines.
func BenchmarkSample20k(b *testing.B) {
	defer close(blockMany(20000))
	s := &Session{own: map[exptrace.GoID]bool{}}
	var sm sampler
	for b.Loop() {
		sm.take(s)
	}
}

func BenchmarkStack20k(b *testing.B) {
	defer close(blockMany(20000))
	buf := make([]byte, 64<<20)
	for b.Loop() {
		runtime.Stack(buf, true)
	}
}

func BenchmarkParse20k(b *testing.B) {
	defer close(blockMany(20000))
	buf := make([]byte, 64<<20)
	n := runtime.Stack(buf, true)
	b.SetBytes(int64(n))
	for b.Loop() {
		dump.ParseBytes(buf[:n], "goroutine dump")
	}
}

func BenchmarkParse5k(b *testing.B) {
	defer close(blockMany(5000))
	buf := make([]byte, 64<<20)
	n := runtime.Stack(buf, true)
	b.SetBytes(int64(n))
	for b.Loop() {
		dump.ParseBytes(buf[:n], "goroutine dump")
	}
}

func BenchmarkSample20kFresh(b *testing.B) {
	defer close(blockMany(20000))
	s := &Session{own: map[exptrace.GoID]bool{}}
	for b.Loop() {
		var sm sampler
		sm.take(s)
	}
}

func BenchmarkSample20kTraced(b *testing.B) {
	defer close(blockMany(20000))
	s := &Session{own: map[exptrace.GoID]bool{}, cfg: Config{Interval: 500 * time.Millisecond}}
	fr, err := newFlightRecorder(s.cfg.Interval)()
	if err != nil {
		b.Skip(err)
	}
	defer fr.Stop()
	var sm sampler
	for b.Loop() {
		sm.take(s)
	}
}
