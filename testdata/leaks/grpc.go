package main

import (
	"errors"
	"sync"
)

func init() {
	register(&scenario{Name: "grpc660", Issue: "https://github.com/grpc/grpc-go/pull/660",
		Leaks: []leak{{"main.(*benchmarkClient660).doCloseLoopUnary.func1", 1, "chan send"}}, run: grpc660})
	register(&scenario{Name: "grpc862", Issue: "https://github.com/grpc/grpc-go/pull/862",
		Leaks: []leak{{"main.dialContext862.func1", 1, "chan receive"}}, run: grpc862})
	register(&scenario{Name: "grpc1275", Issue: "https://github.com/grpc/grpc-go/pull/1275",
		Leaks: []leak{{"main.(*stream1275).recvLoop", 1, "chan receive"}}, run: grpc1275})
	register(&scenario{Name: "grpc1424", Issue: "https://github.com/grpc/grpc-go/pull/1424",
		Leaks: []leak{{"main.dialContext1424.func1", 1, "select"}}, run: grpc1424})
	register(&scenario{Name: "grpc795", Issue: "https://github.com/grpc/grpc-go/pull/795", Deadlock: true,
		Leaks: []leak{{"main.(*server795).Serve", 1, "sync.Mutex.Lock"}, {"main.(*server795).GracefulStop", 1, "chan receive"}}, run: grpc795})
}

// grpc-go#660: the benchmark client's close loop starts a goroutine per
// call that reports on an unbuffered done channel; when the loop returns on
// stop first, the last of them blocks on its send.
type benchmarkClient660 struct{ stop chan bool }

func (bc *benchmarkClient660) doCloseLoopUnary(stopped hook) {
	for i := 0; ; i++ {
		done := make(chan bool)
		go func() {
			if i > 0 {
				stopped.wait() // the call ends after the client stopped
			}
			done <- true
		}()
		select {
		case <-bc.stop:
			return
		case <-done:
		}
	}
}

func grpc660() {
	bc := &benchmarkClient660{stop: make(chan bool)}
	stopped := newHook()
	go bc.doCloseLoopUnary(stopped)
	go func() {
		bc.stop <- true
		stopped.done()
	}()
}

var errDial862 = errors.New("dial failed")

// grpc-go#862: DialContext waits for the connection in a goroutine that
// receives its first state; when the dial fails before any state is
// sent, nothing ever sends and the goroutine waits forever.
type conn862 struct{ state chan int }

func dialContext862(fail bool) error {
	cc := &conn862{state: make(chan int)}
	go func() {
		<-cc.state // waits for the first state change
	}()
	if fail {
		return errDial862 // never closes or sends on cc.state
	}
	cc.state <- 1
	return nil
}

func grpc862() { _ = dialContext862(true) }

// grpc-go#1275: the client stream's receive loop waits for the next
// frame; the test closes the stream's transport without closing the
// stream's receive buffer, so the reader never wakes.
type stream1275 struct{ frames chan []byte }

func (s *stream1275) recvLoop() {
	for f := range s.frames {
		_ = f
	}
}

func grpc1275() {
	s := &stream1275{frames: make(chan []byte, 4)}
	go s.recvLoop()
	s.frames <- []byte("hello")
	// transport closed: s.frames is never closed
}

// grpc-go#1424: DialContext's goroutine waits in a select for the
// balancer's first address or the context's end; the balancer was
// closed before it sent any and the context has no deadline.
func dialContext1424(addrs chan string, done <-chan struct{}) {
	go func() {
		select {
		case <-addrs:
		case <-done:
		}
	}()
}

func grpc1424() {
	addrs := make(chan string)
	dialContext1424(addrs, make(chan struct{})) // a context.Background's nil-like Done, never closed
}

// grpc-go#795: the server's GracefulStop holds s.mu while it waits for
// Serve to leave, and Serve takes s.mu on its way out (the test's second
// GracefulStop made it visible).
type server795 struct {
	mu   sync.Mutex
	done chan struct{}
}

func (s *server795) Serve(locked hook) {
	locked.wait()
	s.mu.Lock() // held by GracefulStop, which waits for us
	defer s.mu.Unlock()
	close(s.done)
}

func (s *server795) GracefulStop(locked hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	locked.done()
	<-s.done
}

func grpc795() {
	s := &server795{done: make(chan struct{})}
	locked := newHook()
	go s.GracefulStop(locked)
	go s.Serve(locked)
}
