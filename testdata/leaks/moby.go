package main

import (
	"errors"
	"sync"
)

func init() {
	register(&scenario{Name: "moby7559", Issue: "https://github.com/moby/moby/pull/7559", Deadlock: true,
		Leaks: []leak{{"main.(*udpProxy7559).Run", 3, "sync.Mutex.Lock"}}, run: moby7559})
	register(&scenario{Name: "moby17176", Issue: "https://github.com/moby/moby/pull/17176",
		Leaks: []leak{{"main.moby17176.func1", 1, "sync.Mutex.Lock"}}, run: moby17176})
	register(&scenario{Name: "moby25348", Issue: "https://github.com/moby/moby/pull/25348",
		Leaks: []leak{{"main.(*manager25348).init", 1, "sync.WaitGroup.Wait"}}, run: moby25348})
	register(&scenario{Name: "moby30408", Issue: "https://github.com/moby/moby/pull/30408",
		Leaks: []leak{{"main.moby30408.func1", 1, "chan receive"}, {"main.moby30408.func1.1", 1, "sync.Cond.Wait"}}, run: moby30408})
	register(&scenario{Name: "moby27782", Issue: "https://github.com/moby/moby/pull/27782",
		Leaks: []leak{{"main.(*jsonFileLogger27782).readLogs", 1, "sync.Cond.Wait"}}, run: moby27782})
	register(&scenario{Name: "moby33781", Issue: "https://github.com/moby/moby/pull/33781",
		Leaks: []leak{{"main.monitor33781.func1", 1, "chan send"}}, run: moby33781})
}

var errDial7559 = errors.New("dial udp: missing address")

// moby#7559: the UDP proxy's Run locks connTrackLock at the top of its
// loop and, when dialling the backend fails, continues without unlocking:
// the next iteration's Lock waits for itself.
type udpProxy7559 struct{ connTrackLock sync.Mutex }

func (p *udpProxy7559) Run() {
	for i := 0; i < 2; i++ {
		p.connTrackLock.Lock()
		if err := dial7559(); err != nil {
			continue // missing p.connTrackLock.Unlock()
		}
		p.connTrackLock.Unlock()
	}
}

func dial7559() error { return errDial7559 }

func moby7559() {
	for range 3 {
		go (&udpProxy7559{}).Run()
	}
}

// moby#17176: devmapper's deleteDevice returns early on an error with
// devices.Lock() still held; the next operation on the device set blocks.
type deviceSet17176 struct {
	sync.Mutex
	nrDeleted int
}

func (d *deviceSet17176) deleteDevice(fail bool) error {
	d.Lock()
	if fail {
		return errors.New("device busy") // missing d.Unlock()
	}
	d.nrDeleted++
	d.Unlock()
	return nil
}

func moby17176() {
	go func() {
		d := &deviceSet17176{}
		_ = d.deleteDevice(true)
		_ = d.deleteDevice(false)
	}()
}

// moby#25348: the plugin manager's init restores every plugin in a
// goroutine and waits for them; a plugin whose restore fails returns
// before wg.Done(), so the WaitGroup never reaches zero.
type manager25348 struct{ plugins []string }

func (m *manager25348) init() {
	var wg sync.WaitGroup
	wg.Add(len(m.plugins))
	for _, p := range m.plugins {
		go func() {
			if p == "broken" {
				return // missing wg.Done()
			}
			wg.Done()
		}()
	}
	wg.Wait()
}

func moby25348() {
	m := &manager25348{plugins: []string{"a", "broken", "c"}}
	go m.init()
}

// moby#30408: the test's goroutine waits on a condition variable for the
// daemon to become active; the code that makes it active returned early
// without a Broadcast, and the test waits for that goroutine.
func moby30408() {
	go func() {
		var mu sync.Mutex
		cond := sync.NewCond(&mu)
		active := false
		done := make(chan struct{})
		go func() {
			mu.Lock()
			for !active {
				cond.Wait()
			}
			mu.Unlock()
			close(done)
		}()
		<-done // activate() forgot cond.Broadcast()
	}()
}

// moby#27782: the JSON file logger's readLogs follows the log file,
// waiting on a condition variable for new writes; Close marks the logger
// closed but does not broadcast, so the follower never wakes (a Cond that
// is never signalled).
type jsonFileLogger27782 struct {
	mu     sync.Mutex
	cond   *sync.Cond
	closed bool
	lines  int
}

func (l *jsonFileLogger27782) readLogs(read hook) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := 0
	for !l.closed {
		if l.lines > seen {
			seen = l.lines
			continue
		}
		if seen == 1 {
			read.done()
		}
		l.cond.Wait()
	}
}

func (l *jsonFileLogger27782) Log() {
	l.mu.Lock()
	l.lines++
	l.mu.Unlock()
	l.cond.Broadcast()
}

func (l *jsonFileLogger27782) Close() {
	l.mu.Lock()
	l.closed = true // missing l.cond.Broadcast()
	l.mu.Unlock()
}

func moby27782() {
	l := &jsonFileLogger27782{}
	l.cond = sync.NewCond(&l.mu)
	read := newHook()
	go l.readLogs(read)
	l.Log()
	read.wait()
	l.Close()
}

// moby#33781: the container monitor's health-check probe reports its
// result on an unbuffered channel; when the probe times out the monitor
// stops listening and the probe's goroutine blocks on the send.
func monitor33781(stop chan struct{}, probed hook) {
	results := make(chan int)
	go func() {
		probed.wait()
		results <- 0 // nobody receives after the timeout
	}()
	select {
	case <-results:
	case <-stop:
	}
}

func moby33781() {
	stop := make(chan struct{})
	close(stop) // the probe timed out
	probed := newHook()
	go func() {
		monitor33781(stop, probed)
		probed.done()
	}()
}
