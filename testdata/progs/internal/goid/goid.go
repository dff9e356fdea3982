// Package goid reports the id of the calling goroutine, for the trace
// generator programs under testdata/progs. It parses the first line of
// runtime.Stack ("goroutine 17 [running]:"); this is slow and meant only for
// recording a few facts about a test program, never for production code.
package goid

import (
	"bytes"
	"runtime"
	"strconv"
)

// ID returns the calling goroutine's id as printed by runtime.Stack and as
// recorded in execution traces.
func ID() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	b := bytes.TrimPrefix(buf[:n], []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		if id, err := strconv.ParseInt(string(b[:i]), 10, 64); err == nil {
			return id
		}
	}
	panic("goid: cannot parse runtime.Stack header: " + strconv.Quote(string(buf[:n])))
}

// State returns the bracketed status that a full goroutine dump
// (runtime.Stack with all=true) shows for goroutine id, such as
// "chan receive", "sync.Mutex.Lock" or "sleep", without any ", N minutes"
// suffix; "" if the goroutine does not exist. It stops the world briefly.
func State(id int64) string {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	prefix := []byte("goroutine " + strconv.FormatInt(id, 10) + " [")
	for _, line := range bytes.Split(buf, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, prefix); ok {
			if i := bytes.IndexByte(rest, ']'); i >= 0 {
				rest = rest[:i]
			}
			if i := bytes.IndexByte(rest, ','); i >= 0 {
				rest = rest[:i]
			}
			return string(rest)
		}
	}
	return ""
}
