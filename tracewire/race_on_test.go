//go:build race

package tracewire

// raceEnabled: the race detector slows the decoder tenfold, and the busy
// trace of make bench (40 MB) would take the differential tests past the
// test timeout; they leave it out under -race (a single goroutine decodes
// it: the race detector has nothing to find there).
const raceEnabled = true
