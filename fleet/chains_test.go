package fleet

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/internal/chserver"
	"github.com/wakeshim/wakeshim/records"
)

// chainReport is `wakeshim report`'s analysis with its default chains.
func chainReport(t *testing.T, inputs ...string) *analyze.Report {
	t.Helper()
	ins, err := records.Expand(inputs)
	require.NoError(t, err)
	rep, _, err := analyze.Analyze(records.NewRun(ins, cmdRecords), analyze.Config{})
	require.NoError(t, err)
	return rep
}

type rootKey struct{ stack, kind, fn string }

// rootSums sums the groups' roots of reports by stack, kind and function:
// ns and waits summed, max_ns the largest; and each group's chained time
// and waits.
func rootSums(reps ...*analyze.Report) (map[rootKey]analyze.RootShare, map[uint64][2]int64) {
	roots := map[rootKey]analyze.RootShare{}
	groups := map[uint64][2]int64{}
	for _, r := range reps {
		for _, g := range r.Pending {
			if len(g.Roots) == 0 {
				continue
			}
			id := StackID(g.Reason, g.Frames)
			s := groups[id]
			groups[id] = [2]int64{s[0] + g.ChainedNS, s[1] + g.ChainedWaits}
			for _, rs := range g.Roots {
				k := rootKey{g.Reason + "\x00" + strings.Join(g.Frames, "\n"), rs.Kind, rs.Func}
				x := roots[k]
				x.Kind, x.Func = rs.Kind, rs.Func
				x.NS += rs.NS
				x.Waits += rs.Waits
				x.MaxNS = max(x.MaxNS, rs.MaxNS)
				roots[k] = x
			}
		}
	}
	return roots, groups
}

// TestReportChains: two instances of one program (httpload) and
// nats-server as another service: the roots of the fleet's wait groups
// are the per-file reports' summed (time, waits; maxima equal) on 2 of 2
// instances; the fleet's longest chains are each file's longest, twice,
// with their links and roots; the Ps are the per-file Ps summed by
// number; nothing of nats-server; shipping again adds no row.
func TestReportChains(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	ctx := context.Background()
	httpload := testdata("shapes", "httpload.trace")
	loc := chainReport(t, httpload)
	require.NotEmpty(t, loc.Chains)
	require.NotEmpty(t, loc.Workers)
	shipCmd(t, c, "web", "a", httpload)
	shipCmd(t, c, "web", "b", httpload)
	shipCmd(t, c, "nats", "n1", natsTrace)
	wantRoots, _ := rootSums(loc)
	require.NotEmpty(t, wantRoots)

	check := func(scope Scope, n int, loc *analyze.Report) {
		t.Helper()
		rep, _, err := Report(ctx, c, ReportOptions{Scope: scope})
		require.NoError(t, err)
		reps := make([]*analyze.Report, n)
		for i := range reps {
			reps[i] = loc
		}
		wantRoots, wantGroups := rootSums(reps...)
		gotRoots, gotGroups := rootSums(rep)
		assert.Equal(t, wantGroups, gotGroups, "each group's chained time and waits")
		require.Equal(t, len(wantRoots), len(gotRoots))
		for k, w := range wantRoots {
			g := gotRoots[k]
			assert.Equal(t, w.NS, g.NS, k)
			assert.Equal(t, w.Waits, g.Waits, k)
			assert.Equal(t, w.MaxNS, g.MaxNS, k)
		}
		for _, g := range rep.Pending {
			var sum float64
			for _, rs := range g.Roots {
				assert.Equal(t, n, rs.Instances, g.Frames)
				sum += rs.Percent
			}
			if len(g.Roots) > 0 {
				assert.InDelta(t, 100, sum, 0.01)
			}
		}

		// The longest waits: each of the file's, n times (ties by time,
		// then instance), as many as the file report keeps.
		var want []analyze.Chain
		for _, ch := range loc.Chains {
			for range n {
				want = append(want, ch)
			}
		}
		want = want[:min(len(want), len(loc.Chains))]
		require.Len(t, rep.Chains, len(want))
		assert.Equal(t, n, rep.ChainsOf)
		for i, w := range want {
			g := rep.Chains[i]
			assert.Equal(t, w.WaitNS, g.WaitNS, i)
			assert.Equal(t, w.Task, g.Task, i)
			assert.Equal(t, w.Name, g.Name, i)
			assert.Equal(t, w.Reason, g.Reason, i)
			assert.Equal(t, w.Frames, g.Frames, i)
			assert.Equal(t, w.WakerName, g.WakerName, i)
			assert.Equal(t, w.Truncated, g.Truncated, i)
			assert.Equal(t, w.Roots, g.Roots, i)
			assert.Equal(t, w.EndNS-w.StartNS, g.EndNS-g.StartNS, i)
			require.Len(t, g.Links, len(w.Links), i)
			shift := g.StartNS - w.StartNS
			for j, wl := range w.Links {
				gl := g.Links[j]
				wl.StartNS += shift
				wl.EndNS += shift
				assert.Equal(t, wl, gl, "chain %d link %d", i, j)
			}
			if scope.Instance == "" && n == 2 {
				assert.Equal(t, []string{"a", "b"}[i%2], g.Instance, i)
			}
		}

		// The Ps: by number, summed.
		require.Len(t, rep.Workers, len(loc.Workers))
		for i, w := range loc.Workers {
			g := rep.Workers[i]
			assert.Equal(t, w.Worker, g.Worker)
			assert.Equal(t, int64(n)*w.BusyNS, g.BusyNS, "P%d", w.Worker)
			assert.Equal(t, int64(n)*w.ParkedNS, g.ParkedNS, "P%d", w.Worker)
			assert.Equal(t, int64(n)*w.Polls, g.Polls, "P%d", w.Worker)
			assert.Equal(t, int64(n)*loc.SpanNS, g.SpanNS, "P%d", w.Worker)
			assert.Equal(t, n, g.Instances)
		}
		require.Len(t, rep.WorkersByInstance, n)
		var busy int64
		for _, w := range loc.Workers {
			busy += w.BusyNS
		}
		for _, wi := range rep.WorkersByInstance {
			assert.Equal(t, len(loc.Workers), wi.Ps)
			assert.Equal(t, busy, wi.BusyNS)
			assert.Equal(t, loc.SpanNS, wi.SpanNS)
		}
	}
	check(Scope{Service: "web"}, 2, loc)
	check(Scope{Service: "web", Instance: "b"}, 1, loc)

	sc := Scope{Service: "web"}
	counts := func() []int64 {
		return []int64{count(t, c, "chain_roots", sc), count(t, c, "chains", sc), count(t, c, "workers", sc)}
	}
	before := counts()
	for _, n := range before {
		require.Positive(t, n)
	}
	again := shipCmd(t, c, "web", "a", httpload)
	assert.Empty(t, again.Files)
	assert.Equal(t, before, counts())
	check(sc, 2, loc)

	// nats-server's are its own.
	check(Scope{Service: "nats"}, 1, chainReport(t, natsTrace))

	// A table missing (dropped) is created again by the next ship: the
	// schema looks up the tables it has.
	require.NoError(t, c.Exec(ctx, "DROP TABLE "+c.Database+".workers"))
	shipCmd(t, c, "nats", "n2", natsTrace)
	assert.Positive(t, count(t, c, "workers", Scope{Service: "nats"}))
}
