package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// listenPrefix is the line nats-server logs once its client port is open;
// the driver starts the server on a random port (-p -1) and reads the port
// from this line, so there is no port to guess and no sleep.
const listenPrefix = "Listening for client connections on "

// server is one running nats-server process.
type server struct {
	cmd     *exec.Cmd
	Start   time.Time // just before exec
	Addr    string    // host:port of the client listener
	logPath string

	mu    sync.Mutex
	lines []string // lines containing "wakeshim" (the shim's own messages)

	done    chan struct{} // closed when the process has exited
	waitErr error
	Exited  time.Time
}

// lineWriter writes the server's output to a log file and hands each
// complete line to fn.
type lineWriter struct {
	f   *os.File
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.f.Write(p)
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// startServer starts bin on 127.0.0.1 with a random client port, with
// wakeshim's environment variable set to shimEnv (unset when empty), and
// waits until it logs its listener (at most ready).
func startServer(ctx context.Context, bin, shimEnv, logPath string, ready time.Duration) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s := &server{logPath: logPath, done: make(chan struct{})}
	addr := make(chan string, 1)
	lw := &lineWriter{f: logf, fn: func(line string) {
		if i := strings.Index(line, listenPrefix); i >= 0 {
			select {
			case addr <- strings.TrimSpace(line[i+len(listenPrefix):]):
			default:
			}
		}
		if strings.Contains(line, "wakeshim") {
			s.mu.Lock()
			s.lines = append(s.lines, line)
			s.mu.Unlock()
		}
	}}
	// Not CommandContext: the driver ends the server itself (SIGTERM, then
	// SIGKILL past a deadline), and kill() on every way out.
	s.cmd = exec.Command(bin, "-a", "127.0.0.1", "-p", "-1", "-n", "realserver")
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WAKESHIM=") {
			env = append(env, kv)
		}
	}
	if shimEnv != "" {
		env = append(env, "WAKESHIM="+shimEnv)
	}
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = lw, lw
	s.Start = time.Now()
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		s.Exited = time.Now()
		logf.Close()
		close(s.done)
	}()
	timer := time.NewTimer(ready)
	defer timer.Stop()
	select {
	case s.Addr = <-addr:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("nats-server exited before listening (%v); log: %s", s.waitErr, logPath)
	case <-timer.C:
		s.kill()
		return nil, fmt.Errorf("nats-server did not listen within %v; log: %s", ready, logPath)
	case <-ctx.Done():
		s.kill()
		return nil, ctx.Err()
	}
}

// terminate sends SIGTERM and waits for the process to exit, at most
// within; past that it kills it and returns an error.
func (s *server) terminate(within time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case <-s.done:
		if s.waitErr != nil {
			return fmt.Errorf("nats-server after SIGTERM: %v; log: %s", s.waitErr, s.logPath)
		}
		return nil
	case <-timer.C:
		s.kill()
		return fmt.Errorf("nats-server still running %v after SIGTERM (killed); log: %s", within, s.logPath)
	}
}

// kill ends the process if it still runs and waits for it.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.done
}

// cpu is the process's user plus system CPU time, once it has exited.
func (s *server) cpu() time.Duration {
	if s.cmd.ProcessState == nil {
		return 0
	}
	return s.cmd.ProcessState.UserTime() + s.cmd.ProcessState.SystemTime()
}

// shimLines returns the server's output lines that mention wakeshim.
func (s *server) shimLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}
