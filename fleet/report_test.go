package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/internal/chserver"
	"github.com/wakeshim/wakeshim/records"
)

// TestReport: the fleet report over two shipped instances of one trace
// holds both instances' waits (counts add up, maxima equal the
// per-instance report's) and nothing of another service shipped beside.
func TestReport(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	loc := readLocal(t, natsTrace).rep
	other := readLocal(t, progFiles...).rep
	ship(t, c, "nats", "a", natsTrace)
	ship(t, c, "nats", "b", natsTrace)
	ship(t, c, "prog", "p1", progFiles...)
	ctx := context.Background()

	start := time.Now()
	rep, spreads, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "nats"}})
	require.NoError(t, err)
	t.Logf("fleet report of %d wakes, %d blocks in %v", rep.WakesTotal, rep.PendingTotal, time.Since(start))
	assert.Len(t, rep.Inputs, 2)
	assert.Equal(t, 2*loc.Records, rep.Records)
	assert.Equal(t, 2*loc.WakesTotal, rep.WakesTotal)
	assert.Equal(t, 2*loc.PendingTotal, rep.PendingTotal)
	assert.Equal(t, 2*loc.PendingRecs, rep.PendingRecs)
	assert.Equal(t, 2*loc.Latency.Count, rep.Latency.Count)
	assert.Equal(t, loc.Latency.MaxNS, rep.Latency.MaxNS)

	// Pending groups: by reason + stack, the counts doubled, maxima equal.
	type gkey = uint64
	local := map[gkey]analyze.PendingGroup{}
	for _, g := range loc.Pending {
		local[StackID(g.Reason, g.Frames)] = g
	}
	require.Len(t, rep.Pending, len(loc.Pending))
	require.Len(t, spreads, len(rep.Pending))
	for i, g := range rep.Pending {
		l, ok := local[StackID(g.Reason, g.Frames)]
		require.True(t, ok, "group %s %v of the fleet report is not in the local one", g.Reason, g.Frames)
		assert.Equal(t, 2*l.Count, g.Count, g.Frames)
		assert.Equal(t, 2*l.TotalNS, g.TotalNS, g.Frames)
		assert.Equal(t, l.MaxNS, g.MaxNS, g.Frames)
		assert.Equal(t, 2*l.Goroutines, g.Goroutines, g.Frames)
		assert.Equal(t, 2*l.StillBlocked, g.StillBlocked, g.Frames)
		assert.Equal(t, 2, spreads[i].Instances)
		assert.Equal(t, 2, spreads[i].Of)
		if l.StillBlocked > 0 {
			assert.Equal(t, 2, spreads[i].StillBlockedOn)
		} else {
			assert.Zero(t, spreads[i].StillBlockedOn)
		}
		lw := map[string]analyze.Waker{}
		for _, w := range l.Wakers {
			lw[w.Name] = w
		}
		require.Len(t, g.Wakers, len(l.Wakers), g.Frames)
		for _, w := range g.Wakers {
			assert.Equal(t, 2*lw[w.Name].Count, w.Count, w.Name)
			assert.Equal(t, 2*lw[w.Name].TotalNS, w.TotalNS, w.Name)
		}
	}
	// The stuck groups by instance: each instance's blocks as the file's.
	stuck := 0
	for _, g := range rep.Pending {
		l := local[StackID(g.Reason, g.Frames)]
		assert.Equal(t, 2, g.OnInstances)
		assert.Equal(t, 2, g.OfInstances)
		if l.StillBlocked == 0 {
			assert.Empty(t, g.Instances, g.Frames)
			continue
		}
		stuck++
		assert.Equal(t, 2, g.StillBlockedOn)
		require.Len(t, g.Instances, 2, g.Frames)
		for j, in := range g.Instances {
			assert.Equal(t, []string{"a", "b"}[j], in.Instance)
			assert.Equal(t, l.Count, in.Count, g.Frames)
			assert.Equal(t, l.Goroutines, in.Goroutines, g.Frames)
			assert.Equal(t, l.TotalNS, in.TotalNS, g.Frames)
			assert.Equal(t, l.MaxNS, in.MaxNS, g.Frames)
			assert.Equal(t, l.StillBlocked, in.StillBlocked, g.Frames)
		}
	}
	assert.Positive(t, stuck, "the nats-server trace ends with goroutines blocked")

	// The latency by instance, and the wake_latency finding.
	ins, err := records.Expand([]string{natsTrace})
	require.NoError(t, err)
	rd, err := readRun(ins, records.Options{}, nil)
	require.NoError(t, err)
	var slow, big int64
	for _, w := range rd.wakes {
		if w.hasLatency && w.latencyUS >= 1000 {
			slow++
		}
		if w.hasLatency && w.latencyUS >= 10000 {
			big++
		}
	}
	require.Len(t, rep.Latency.Instances, 2)
	for _, li := range rep.Latency.Instances {
		assert.Equal(t, loc.WakesTotal, li.Wakes)
		assert.Equal(t, loc.Latency.Count, li.Count)
		assert.Equal(t, loc.Latency.MaxNS, li.MaxNS)
		assert.Equal(t, slow, li.Slow)
		assert.Equal(t, big, li.Over10x)
	}
	var wl *analyze.Finding
	for i := range rep.Findings {
		if rep.Findings[i].Kind == "wake_latency" {
			wl = &rep.Findings[i]
		}
	}
	if slow > 0 {
		require.NotNil(t, wl)
		assert.Equal(t, 2*slow, wl.Numbers["count"])
		assert.Equal(t, int64(2), wl.Numbers["instances"])
		assert.Contains(t, wl.Text, "on 2 of 2 instance(s): a ")
		t.Logf("%s", wl.Text)
	} else {
		assert.Nil(t, wl)
	}

	// Ordered by total time, as the report orders them.
	for i := 1; i < len(rep.Pending); i++ {
		assert.GreaterOrEqual(t, rep.Pending[i-1].TotalNS, rep.Pending[i].TotalNS)
	}

	// Wake edges by waker and woken names.
	le := map[[2]string]analyze.WakeEdge{}
	for _, e := range loc.Wakes {
		le[[2]string{e.Waker, e.Woken}] = e
	}
	require.Len(t, rep.Wakes, len(loc.Wakes))
	for _, e := range rep.Wakes {
		l, ok := le[[2]string{e.Waker, e.Woken}]
		require.True(t, ok, "edge %s -> %s", e.Waker, e.Woken)
		assert.Equal(t, 2*l.Count, e.Count)
		assert.Equal(t, 2*l.WakerTasks, e.WakerTasks, "%s -> %s", e.Waker, e.Woken)
		assert.Equal(t, 2*l.WokenTasks, e.WokenTasks, "%s -> %s", e.Waker, e.Woken)
		assert.Equal(t, 2*l.Latency.Count, e.Latency.Count)
		assert.Equal(t, l.Latency.MaxNS, e.Latency.MaxNS)
	}
	var hist int64
	for _, b := range rep.Latency.Histogram {
		hist += b.Count
	}
	assert.Equal(t, rep.Latency.Count, hist)
	lh := map[int64]int64{}
	for _, b := range loc.Latency.Histogram {
		lh[b.LeNS] = b.Count
	}
	for _, b := range rep.Latency.Histogram {
		assert.Equal(t, 2*lh[b.LeNS], b.Count, "bucket le %d", b.LeNS)
	}
	require.NotEmpty(t, rep.Latency.Worst)
	assert.Equal(t, loc.Latency.Worst[0].LatencyNS, rep.Latency.Worst[0].LatencyNS)

	// One instance: the per-instance report's counts exactly.
	one, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "nats", Instance: "b"}})
	require.NoError(t, err)
	assert.Equal(t, loc.WakesTotal, one.WakesTotal)
	assert.Equal(t, loc.PendingTotal, one.PendingTotal)
	assert.Len(t, one.Pending, len(loc.Pending))

	// The other service: its own records only.
	op, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "prog"}})
	require.NoError(t, err)
	assert.Equal(t, other.WakesTotal, op.WakesTotal)
	assert.Equal(t, other.PendingTotal, op.PendingTotal)
	assert.Len(t, op.Pending, len(other.Pending))

	// A window holding every record: all of them; after: nothing; no such service: an error.
	all, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "nats"}, Since: time.Now().Add(-24 * time.Hour), Until: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, rep.WakesTotal, all.WakesTotal)
	assert.Equal(t, rep.PendingTotal, all.PendingTotal)
	late, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "nats"}, Since: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	assert.Zero(t, late.WakesTotal)
	assert.Zero(t, late.PendingTotal)
	_, _, err = Report(ctx, c, ReportOptions{Scope: Scope{Service: "nope"}})
	assert.ErrorContains(t, err, "no records of service nope")
}
