package fleet

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/internal/chserver"
	"github.com/wakeshim/wakeshim/records"
)

// timeOrdered are the findings that need the records in time order.
var timeOrdered = []string{"herd", "pause_release", "slow_wake", "queue"}

// kindSums is what a kind's findings add up to: over the findings of
// files' reports, or the groups of a fleet's.
type kindSums struct {
	times                                              int64 // findings (a fleet group: its times)
	woken, count, total, maxNS                         int64
	behind, free, pause, allBusy, over10x, wakes, maxW int64
}

func sums(t *testing.T, fleet bool, reps ...*analyze.Report) map[string]kindSums {
	t.Helper()
	out := map[string]kindSums{}
	for _, r := range reps {
		for _, f := range r.Findings {
			if !contains(timeOrdered, f.Kind) {
				continue
			}
			n := f.Numbers
			s := out[f.Kind]
			if fleet {
				s.times += n["times"]
				require.Contains(t, n, "instances", f.Text)
				require.Contains(t, n, "of_instances", f.Text)
			} else {
				s.times++
			}
			switch f.Kind {
			case "herd", "pause_release":
				s.woken = max(s.woken, n["woken"])
			case "queue":
				s.woken = max(s.woken, n["goroutines"])
				s.count += n["count"]
				s.total += n["total_ns"]
				s.maxNS = max(s.maxNS, n["max_ns"])
			case "slow_wake":
				s.count += n["count"]
				s.maxNS = max(s.maxNS, n["max_ns"])
				s.behind += n["behind"]
				s.free += n["free"]
				s.pause += n["pause"]
				s.allBusy += n["all_busy"]
				s.over10x += n["over_10x"]
			}
			out[f.Kind] = s
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// pauseCount counts the stop-the-world pauses the records of the inputs
// give.
func pauseCount(t *testing.T, inputs ...string) int64 {
	t.Helper()
	ins, err := records.Expand(inputs)
	require.NoError(t, err)
	var n int64
	opt := cmdRecords
	opt.Pause = func(*records.Pause) { n++ }
	for _, err := range records.NewRun(ins, opt).Events() {
		require.NoError(t, err)
	}
	return n
}

// TestReportFindings: two instances of a net/http program (a thundering
// herd, a burst after a pause, slow wakes, queues) and nats-server as
// another service: the fleet's time-ordered findings are the union of
// the per-instance file reports' (same kinds, counts summed, maxima
// equal), none of nats-server's; the pauses are the per-file counts
// summed; shipping again adds no row.
func TestReportFindings(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	ctx := context.Background()
	httpload, nethttp := testdata("shapes", "httpload.trace"), testdata("shapes", "nethttp.trace")
	locA, locB := fileReport(t, httpload), fileReport(t, nethttp)
	shipCmd(t, c, "web", "a", httpload)
	shipCmd(t, c, "web", "b", nethttp)
	shipCmd(t, c, "nats", "n1", natsTrace)
	want := sums(t, false, locA, locB)
	for _, k := range timeOrdered {
		require.Positive(t, want[k].times, "the traces have %s findings", k)
	}

	check := func() {
		t.Helper()
		rep, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "web"}})
		require.NoError(t, err)
		got := sums(t, true, rep)
		// At most 10 groups of a kind: the traces have fewer.
		for _, k := range timeOrdered {
			assert.Equal(t, want[k], got[k], k)
		}
		for _, f := range rep.Findings {
			if contains(timeOrdered, f.Kind) {
				assert.Equal(t, int64(2), f.Numbers["of_instances"], f.Text)
				assert.LessOrEqual(t, f.Numbers["instances"], int64(2), f.Text)
				assert.NotContains(t, f.Text, "nats", f.Text)
			}
			if f.Kind == "slow_wake" {
				assert.Equal(t, locA.WakesTotal+locB.WakesTotal, f.Numbers["wakes"])
				assert.Contains(t, f.Text, "on 2 of 2 instance(s)")
			}
		}
		pa, pb := pauseCount(t, httpload), pauseCount(t, nethttp)
		require.Positive(t, pa+pb)
		require.NotNil(t, rep.Pauses)
		assert.Equal(t, pa+pb, rep.Pauses.Count)
		byInst := map[string]int64{}
		for _, g := range rep.Pauses.ByInstance {
			byInst[g.Instance] += g.Count
			assert.LessOrEqual(t, g.MaxNS, rep.Pauses.MaxNS)
		}
		assert.Equal(t, pa, byInst["a"])
		assert.Equal(t, pb, byInst["b"])
		require.NotEmpty(t, rep.Pauses.Longest)
		assert.Equal(t, rep.Pauses.MaxNS, rep.Pauses.Longest[0].DurationNS)

		// One instance: its own findings, as its file report has them.
		one, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "web", Instance: "a"}})
		require.NoError(t, err)
		gotA, wantA := sums(t, true, one), sums(t, false, locA)
		for _, k := range timeOrdered {
			assert.Equal(t, wantA[k], gotA[k], k)
		}
		assert.Equal(t, pa, one.Pauses.Count)
	}
	check()
	sc := Scope{Service: "web"}
	nf, np := count(t, c, "findings", sc), count(t, c, "pauses", sc)
	again := shipCmd(t, c, "web", "a", httpload)
	assert.Empty(t, again.Files)
	assert.Equal(t, nf, count(t, c, "findings", sc))
	assert.Equal(t, np, count(t, c, "pauses", sc))
	check()

	// nats-server's are its own.
	nats, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "nats"}})
	require.NoError(t, err)
	gotN, wantN := sums(t, true, nats), sums(t, false, fileReport(t, natsTrace))
	for _, k := range timeOrdered {
		assert.Equal(t, wantN[k], gotN[k], k)
	}
}

// TestReportFindingsGrown: a shim directory shipped, then again once a
// file was added to its process: the second load reads both files and
// finds what the first did again; the report counts the later load's
// findings only, as the file report of the directory has them. The
// pauses are shipped with their files, once.
func TestReportFindingsGrown(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	dir := t.TempDir()
	cp := func(from, to string) {
		data, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, to), data, 0o644))
	}
	// Both loads place the time line where the shim's files would (the
	// end of the last at its modification time): the copies here were
	// written at about the same time, so the start is given.
	start := time.Now().Add(-time.Hour)
	shipAt := func() *ShipResult {
		res, err := Ship(context.Background(), c, []string{dir}, ShipOptions{Service: "web", Instance: "a", Records: cmdRecords, Start: start})
		require.NoError(t, err)
		return res
	}
	cp(testdata("shapes", "httpload.trace"), "web-100-000001.bin")
	first := shipAt()
	require.Positive(t, first.Rows["findings"])
	cp(testdata("shapes", "nethttp.trace"), "web-100-000002.bin")
	res := shipAt()
	require.Len(t, res.Files, 1)
	require.Positive(t, res.Rows["findings"])
	loc := fileReport(t, dir)
	rep, _, err := Report(context.Background(), c, ReportOptions{Scope: Scope{Service: "web"}})
	require.NoError(t, err)
	want, got := sums(t, false, loc), sums(t, true, rep)
	for _, k := range timeOrdered {
		assert.Equal(t, want[k], got[k], k)
	}
	require.NotNil(t, rep.Pauses)
	assert.Equal(t, pauseCount(t, dir), rep.Pauses.Count)
	// The roots of the groups' waits and the Ps likewise: the later
	// load's.
	wantRoots, wantGroups := rootSums(loc)
	gotRoots, gotGroups := rootSums(rep)
	assert.Equal(t, wantGroups, gotGroups)
	assert.Equal(t, len(wantRoots), len(gotRoots))
	require.Len(t, rep.Workers, len(loc.Workers))
	for i, w := range loc.Workers {
		assert.Equal(t, w.BusyNS, rep.Workers[i].BusyNS, "P%d", w.Worker)
		assert.Equal(t, w.Polls, rep.Workers[i].Polls, "P%d", w.Worker)
		assert.Equal(t, loc.SpanNS, rep.Workers[i].SpanNS, "P%d", w.Worker)
	}
	// The latency and root-cause profiles likewise.
	lat, roots := fileProfiles(t, "a", dir)
	p, err := ReportProfiles(context.Background(), c, ReportOptions{Scope: Scope{Service: "web"}})
	require.NoError(t, err)
	assert.Equal(t, profSums(true, lat, roots, nil), profSums(true, p.Latency, p.Roots, nil))
}

// TestWakerKey: herds by a named waker group over the fleet; an unnamed
// waker ("g7") groups only with itself, not with g7 of other instances.
func TestWakerKey(t *testing.T) {
	for _, tc := range []struct {
		instance, proc, name string
		task                 uint32
		want                 string
	}{
		{"a", "srv-1", "http.(*persistConn).readLoop", 7, "http.(*persistConn).readLoop"},
		{"b", "srv-2", "http.(*persistConn).readLoop", 9, "http.(*persistConn).readLoop"},
		{"a", "srv-1", "g7", 7, "a/srv-1/g7"},
		{"b", "srv-2", "g7", 7, "b/srv-2/g7"},
		{"a", "0", "runtime", 0, "runtime"},
	} {
		if got := wakerKey(tc.instance, tc.proc, tc.name, tc.task); got != tc.want {
			t.Errorf("wakerKey(%q, %q, %q, %d) = %q, want %q", tc.instance, tc.proc, tc.name, tc.task, got, tc.want)
		}
	}
}
