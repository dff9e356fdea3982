package analyze

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/records"
)

// TestPauseRelease: a herd that begins inside a stop-the-world pause, or
// after its end by no more than the pause lasted, is the pause's effect
// ("pause_release", naming the pause); one later than that, or after a
// pause of another process, stays a herd.
func TestPauseRelease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		start   uint32 // µs: the pause (2ms long, from 10ms) and the herd
		herdAt  uint32
		process int
		want    string
	}{
		{name: "inside", herdAt: 11000, want: "pause_release"},
		{name: "right after", herdAt: 12500, want: "pause_release"},
		{name: "after the pause's length", herdAt: 14500, want: "herd"},
		{name: "before", herdAt: 9000, want: "herd"},
		{name: "another process", herdAt: 11000, process: 1, want: "herd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeed(t, Config{HerdCount: 3})
			pauseGiven := false
			give := func() {
				if !pauseGiven {
					pauseGiven = true
					f.a.Pause(&records.Pause{T: 10e6, Duration: 2e6, Reason: "GC sweep termination", Process: tc.process})
				}
			}
			for i, g := range []uint32{20, 21, 22, 23} {
				ts := tc.herdAt + uint32(i)*10
				if ts >= 12000 {
					give() // as the records give it: after those before its end
				}
				f.add(format.Record{Code: format.CodeWakeEvent, TS: ts, Waker: 9, Task: g}, nil, "")
			}
			give()
			r := f.a.Report(20e6)
			var got []Finding
			for _, fd := range r.Findings {
				if fd.Kind == "herd" || fd.Kind == "pause_release" {
					got = append(got, fd)
				}
			}
			require.Len(t, got, 1, "%+v", r.Findings)
			assert.Equal(t, tc.want, got[0].Kind, got[0].Text)
			assert.Equal(t, int64(4), got[0].Numbers["woken"])
			if tc.want == "pause_release" {
				assert.Equal(t, int64(10e6), got[0].Numbers["pause_ts_ns"])
				assert.Equal(t, int64(2e6), got[0].Numbers["pause_ns"])
				assert.Contains(t, got[0].Text, "released by a 2.00ms GC stop-the-world (sweep termination) at 10.0ms")
			}
		})
	}
}

// TestSlowWakePause: a slow wake that spent at least half its wait in a
// stop-the-world pause is counted as held up by it, not behind or free,
// and not toward the warning; the longest names the pause.
func TestSlowWakePause(t *testing.T) {
	for _, tc := range []struct {
		name         string
		pause        uint32 // µs of each 15ms wait the pause covers
		held, free   int64
		big          int64
		sev, longest string
	}{
		{name: "held", pause: 14000, held: 12, sev: "info", longest: "held up by a 14.0ms GC stop-the-world (mark termination)"},
		{name: "less than half", pause: 5000, free: 12, big: 12, sev: "warning", longest: "a P free but no thread to run it"},
		{name: "no pause", free: 12, big: 12, sev: "warning", longest: "a P free but no thread to run it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeed(t, Config{SlowWake: time.Millisecond})
			f.add(format.Record{Code: format.CodeWorkerPark, TS: 0, Worker: 1}, nil, "")
			ts := uint32(10)
			const lat = 15000
			for i := range 12 {
				g := uint32(100 + i)
				f.add(format.Record{Code: format.CodeWakeEvent, TS: ts, Waker: 9, Task: g, Worker: 0}, nil, "")
				if tc.pause > 0 {
					f.a.Pause(&records.Pause{T: int64(ts+100) * 1000, Duration: int64(tc.pause) * 1000, Reason: "GC mark termination"})
				}
				f.add(format.Record{Code: format.CodePollStart, TS: ts + lat, Worker: 2, Task: g}, nil, "main.woken")
				f.add(format.Record{Code: format.CodePollEnd, TS: ts + lat + 1, Worker: 2}, nil, "")
				ts += lat + 10
			}
			r := f.a.Report(int64(ts+10) * 1000)
			sw := findingOf(t, r, "slow_wake")
			assert.Equal(t, int64(12), sw.Numbers["count"])
			assert.Equal(t, tc.held, sw.Numbers["pause"])
			assert.Equal(t, tc.free, sw.Numbers["free"])
			assert.Equal(t, int64(0), sw.Numbers["behind"])
			assert.Equal(t, tc.big, sw.Numbers["over_10x"])
			assert.Equal(t, tc.sev, sw.Severity, sw.Text)
			assert.Contains(t, sw.Text, tc.longest)
		})
	}
}

// TestPausesBounded: past maxPauses the older half is dropped, the
// count goes on, and the latest pause still explains a slow wake.
func TestPausesBounded(t *testing.T) {
	f := newFeed(t, Config{})
	for i := range maxPauses + 10 {
		f.a.Pause(&records.Pause{T: int64(i) * 1000, Duration: 10, Reason: "GC mark termination"})
	}
	ps := &f.a.pauses
	assert.Equal(t, int64(maxPauses+10), ps.count)
	assert.Equal(t, int64(maxPauses/2), ps.dropped)
	assert.Len(t, ps.list, maxPauses/2+10)
	assert.Equal(t, int64(maxPauses+9)*1000, ps.list[len(ps.list)-1].start)
	held, i := f.a.pauseOverlap(0, int64(maxPauses+9)*1000, int64(maxPauses+10)*1000)
	assert.Equal(t, int64(10), held)
	assert.Equal(t, len(ps.list)-1, i)
}

// TestSlowWakeAllBusy: a slow wake with every P running (none parked)
// is counted apart, as a wait in a run queue, not among the wakes late
// while a P was free; alone, it still makes the finding, as info.
func TestSlowWakeAllBusy(t *testing.T) {
	f := newFeed(t, Config{SlowWake: time.Millisecond})
	ts := uint32(10)
	for i := range 12 {
		g := uint32(100 + i)
		f.add(format.Record{Code: format.CodeWakeEvent, TS: ts, Waker: 9, Task: g, Worker: 0}, nil, "")
		f.add(format.Record{Code: format.CodePollStart, TS: ts + 15000, Worker: 1, Task: g}, nil, "main.woken")
		f.add(format.Record{Code: format.CodePollEnd, TS: ts + 15001, Worker: 1}, nil, "")
		ts += 15010
	}
	r := f.a.Report(int64(ts+10) * 1000)
	sw := findingOf(t, r, "slow_wake")
	assert.Equal(t, int64(0), sw.Numbers["count"])
	assert.Equal(t, int64(12), sw.Numbers["all_busy"])
	assert.Equal(t, "info", sw.Severity)
	assert.Equal(t, "12 of 12 wake(s) (100.0%) waited at least 1.00ms to run with every P busy (in a run queue: a CPU-bound program, or GOMAXPROCS too low); none while a P was parked", sw.Text)
}

// findingOf returns the report's last finding of kind, failing t if it
// has none.
func findingOf(t *testing.T, r *Report, kind string) *Finding {
	t.Helper()
	var f *Finding
	for i := range r.Findings {
		if r.Findings[i].Kind == kind {
			f = &r.Findings[i]
		}
	}
	require.NotNil(t, f, "no %s finding in %+v", kind, r.Findings)
	return f
}
