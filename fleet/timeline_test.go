package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/chserver"
	"github.com/wakeshim/wakeshim/records"
)

// windowWakes counts the wakes of the file's records in its report's
// timeline window (all of them, kept or not).
func windowWakes(t *testing.T, tl analyze.Timeline, inputs ...string) int {
	t.Helper()
	ins, err := records.Expand(inputs)
	require.NoError(t, err)
	n := 0
	for ev, err := range records.NewRun(ins, cmdRecords).Events() {
		require.NoError(t, err)
		if ev.Code == format.CodeWakeEvent && ev.T >= tl.StartNS && ev.T < tl.EndNS {
			n++
		}
	}
	return n
}

// shifted is the file's timeline on the fleet's time line: moved to
// start at start, with the instance.
func shifted(tl analyze.Timeline, start int64, instance string) analyze.Timeline {
	d := start - tl.StartNS
	out := tl
	out.StartNS, out.EndNS, out.Instance = tl.StartNS+d, tl.EndNS+d, instance
	out.Polls = append([]analyze.TimelinePoll{}, tl.Polls...)
	for i := range out.Polls {
		out.Polls[i].StartNS += d
		out.Polls[i].EndNS += d
	}
	out.Wakes = append([]analyze.TimelineWake{}, tl.Wakes...)
	for i := range out.Wakes {
		out.Wakes[i].TS += d
	}
	return out
}

// TestReportTimeline: httpload and nethttp as instances a and b of web,
// nats-server as another service. The fleet's timeline is the per-file
// report's of the instance whose window has the most wakes, field for
// field (times on the fleet's time line), with its instance; -window
// over the other's window gives the other's; one instance alone gives
// its own; nats-server its own and nothing of it in web's; shipping
// again adds no row.
func TestReportTimeline(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	ctx := context.Background()
	httpload, nethttp := testdata("shapes", "httpload.trace"), testdata("shapes", "nethttp.trace")
	locA, locB := chainReport(t, httpload), chainReport(t, nethttp)
	require.NotEmpty(t, locA.Timeline.Polls)
	require.NotEmpty(t, locB.Timeline.Polls)
	wa, wb := windowWakes(t, locA.Timeline, httpload), windowWakes(t, locB.Timeline, nethttp)
	require.NotEqual(t, wa, wb, "the test needs windows of different wakes")
	// At known times, 10s apart, so that the windows do not overlap.
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	starts := map[string]time.Time{"a": t0, "b": t0.Add(10 * time.Second)}
	for _, x := range []struct{ instance, path string }{{"a", httpload}, {"b", nethttp}} {
		_, err := Ship(ctx, c, []string{x.path}, ShipOptions{Service: "web", Instance: x.instance, Records: cmdRecords, Start: starts[x.instance]})
		require.NoError(t, err)
	}
	shipCmd(t, c, "nats", "n1", natsTrace)
	t.Logf("wakes in the window: a %d (%d kept), b %d (%d kept)", wa, len(locA.Timeline.Wakes), wb, len(locB.Timeline.Wakes))

	check := func(opt ReportOptions, loc *analyze.Report, instance string) *analyze.Report {
		t.Helper()
		rep, _, err := Report(ctx, c, opt)
		require.NoError(t, err)
		got := rep.Timeline
		require.Equal(t, instance, got.Instance)
		want := shifted(loc.Timeline, got.StartNS, instance)
		assert.Equal(t, want.EndNS, got.EndNS)
		assert.Equal(t, want.Truncated, got.Truncated)
		require.Len(t, got.Polls, len(want.Polls))
		for i := range want.Polls {
			require.Equal(t, want.Polls[i], got.Polls[i], "poll %d", i)
		}
		require.Len(t, got.Wakes, len(want.Wakes))
		for i := range want.Wakes {
			require.Equal(t, want.Wakes[i], got.Wakes[i], "wake %d", i)
		}
		assert.Equal(t, want, got)
		assert.Equal(t, got.StartNS, rep.Config.WindowStartNS)
		assert.Equal(t, got.EndNS, rep.Config.WindowEndNS)
		return rep
	}
	web := ReportOptions{Scope: Scope{Service: "web"}}
	most, other, mostLoc, otherLoc := "a", "b", locA, locB
	if wb > wa {
		most, other, mostLoc, otherLoc = "b", "a", locB, locA
	}
	rep := check(web, mostLoc, most)

	// Nothing of nats-server: every name of web's window is one of its
	// own files'.
	nats := chainReport(t, natsTrace)
	names := map[string]bool{}
	for _, l := range []*analyze.Report{locA, locB} {
		for _, p := range l.Timeline.Polls {
			names[p.Name] = true
		}
		for _, w := range l.Timeline.Wakes {
			names[w.Waker], names[w.Woken] = true, true
		}
	}
	for _, p := range rep.Timeline.Polls {
		assert.True(t, names[p.Name], p.Name)
	}
	for _, w := range rep.Timeline.Wakes {
		assert.True(t, names[w.Waker], w.Waker)
		assert.True(t, names[w.Woken], w.Woken)
	}

	// The other instance's window, by -window over it (on the fleet's
	// time line, from a's start); one instance alone, its own.
	at := starts[other].Sub(t0).Nanoseconds() + otherLoc.Timeline.StartNS
	w := web
	w.Window, w.WindowStart, w.WindowEnd = true, time.Duration(at+1), time.Duration(at+2)
	check(w, otherLoc, other)
	check(ReportOptions{Scope: Scope{Service: "web", Instance: other}}, otherLoc, other)
	check(ReportOptions{Scope: Scope{Service: "web", Instance: most}}, mostLoc, most)
	assert.Equal(t, starts[most].Sub(t0).Nanoseconds()+mostLoc.Timeline.StartNS, rep.Timeline.StartNS, "on the fleet's time line")

	// A window over nothing shipped: no timeline.
	w.Window, w.WindowStart, w.WindowEnd = true, time.Duration(rep.SpanNS+time.Hour.Nanoseconds()), time.Duration(rep.SpanNS+2*time.Hour.Nanoseconds())
	none, _, err := Report(ctx, c, w)
	require.NoError(t, err)
	assert.Empty(t, none.Timeline.Polls)
	assert.Empty(t, none.Timeline.Wakes)
	assert.Empty(t, none.Timeline.Instance)

	check(ReportOptions{Scope: Scope{Service: "nats"}}, nats, "n1")

	before := count(t, c, "timelines", Scope{Service: "web"})
	assert.Equal(t, int64(2), before)
	again, err := Ship(ctx, c, []string{httpload}, ShipOptions{Service: "web", Instance: "a", Records: cmdRecords, Start: t0})
	require.NoError(t, err)
	assert.Empty(t, again.Files)
	assert.Equal(t, before, count(t, c, "timelines", Scope{Service: "web"}))
	check(web, mostLoc, most)
}
