package fleet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/internal/chserver"
	"github.com/wakeshim/wakeshim/records"
)

func leakdata(name string) string { return testdata("leaks", "out", name) }

// shimDir makes a directory as the shim leaves it: for each process
// (PROG-PID), one records file (a trace, converted when read) and its
// goroutineleak profile beside it.
func shimDir(t *testing.T, procs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	cp := func(from, to string) {
		data, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, to), data, 0o644))
	}
	for proc, scenario := range procs {
		cp(leakdata(scenario+".trace"), proc+"-000001.bin")
		cp(leakdata(scenario+".leak.txt"), proc+"-000001.goroutineleak.txt")
	}
	return dir
}

// cmdRecords reads traces as the commands do: the runtime's own
// goroutines left out.
var cmdRecords = records.Options{Convert: convert.Config{Ignore: convert.SystemGoroutine}}

// shipCmd ships as `wakeshim ship` does.
func shipCmd(t *testing.T, c *Client, service, instance string, inputs ...string) *ShipResult {
	t.Helper()
	res, err := Ship(context.Background(), c, inputs, ShipOptions{Service: service, Instance: instance, Records: cmdRecords})
	require.NoError(t, err)
	return res
}

// fileReport is `wakeshim report DIR`'s analysis, leak profiles and all.
func fileReport(t *testing.T, inputs ...string) *analyze.Report {
	t.Helper()
	inputs, leaks, err := analyze.SplitInputs(inputs)
	require.NoError(t, err)
	ins, err := records.Expand(inputs)
	require.NoError(t, err)
	cfg := analyze.Config{Chains: -1}
	for _, l := range leaks {
		p, err := analyze.ReadLeakProfile(l, records.SideProcess(ins, l))
		require.NoError(t, err)
		cfg.Leaks = append(cfg.Leaks, p)
	}
	rep, _, err := analyze.Analyze(records.NewRun(ins, cmdRecords), cfg)
	require.NoError(t, err)
	return rep
}

// TestShipVerdicts: a load ships one verdicts row per goroutine still
// blocked at the end of its process runs, and one verdict_runs row per
// process run; the same files again add nothing; a directory that grew
// a process ships that process's only.
func TestShipVerdicts(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	dir := shimDir(t, map[string]string{"app-100": "etcd7443", "app-200": "healthy_httpidle"})
	loc := fileReport(t, dir)
	require.Equal(t, 1, loc.VerdictSummary.Leaked)
	sc := Scope{Service: "app", Instance: "a"}

	res := shipCmd(t, c, "app", "a", dir)
	assert.Equal(t, int64(len(loc.Verdicts)), res.Rows["verdicts"])
	assert.Equal(t, int64(2), res.Rows["verdict_runs"])
	assert.Equal(t, int64(len(loc.Verdicts)), count(t, c, "verdicts", sc))
	again := shipCmd(t, c, "app", "a", dir)
	assert.Empty(t, again.Files)
	assert.Len(t, again.Skipped, 2)
	assert.Equal(t, int64(len(loc.Verdicts)), count(t, c, "verdicts", sc))
	assert.Equal(t, int64(2), count(t, c, "verdict_runs", sc))

	// The directory grows a process: its verdicts are added, the others'
	// not repeated.
	data, err := os.ReadFile(leakdata("moby7559.trace"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app-300-000001.bin"), data, 0o644))
	grown := fileReport(t, dir)
	res = shipCmd(t, c, "app", "a", dir)
	assert.Len(t, res.Files, 1)
	added := len(grown.Verdicts) - len(loc.Verdicts)
	require.Positive(t, added)
	assert.Equal(t, int64(added), res.Rows["verdicts"])
	assert.Equal(t, int64(1), res.Rows["verdict_runs"])
	assert.Equal(t, int64(len(grown.Verdicts)), count(t, c, "verdicts", sc))
	assert.Equal(t, int64(3), count(t, c, "verdict_runs", sc))
}

// TestReportVerdicts: two instances of one program, a leaked goroutine
// on one (etcd#7443's sendLoop, proven by its goroutineleak profile),
// idle ones on both (a net/http server with idle keep-alive
// connections), and another service: the fleet's verdicts have the leak
// on 1 of 2 instances, the idle counts of the per-file reports summed,
// nothing of the other service; shipping again adds no row.
func TestReportVerdicts(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	ctx := context.Background()
	dirA := shimDir(t, map[string]string{"app-100": "etcd7443", "app-200": "healthy_httpidle"})
	dirB := shimDir(t, map[string]string{"app-300": "healthy_httpidle"})
	locA, locB := fileReport(t, dirA), fileReport(t, dirB)
	locNats := fileReport(t, natsTrace)
	require.Equal(t, 1, locA.VerdictSummary.Leaked)
	require.Zero(t, locB.VerdictSummary.Leaked)
	require.Positive(t, locB.VerdictSummary.Idle)
	require.Positive(t, locNats.VerdictSummary.Idle)

	resA := shipCmd(t, c, "app", "a", dirA)
	assert.Equal(t, int64(len(locA.Verdicts)), resA.Rows["verdicts"])
	assert.Equal(t, int64(2), resA.Rows["verdict_runs"])
	shipCmd(t, c, "app", "b", dirB)
	shipCmd(t, c, "nats", "n1", natsTrace)
	// Again: every file skipped, no row added.
	again := shipCmd(t, c, "app", "a", dirA)
	assert.Empty(t, again.Files)
	assert.Len(t, again.Skipped, 2)
	assert.Equal(t, int64(len(locA.Verdicts)+len(locB.Verdicts)), count(t, c, "verdicts", Scope{Service: "app"}))
	assert.Equal(t, int64(3), count(t, c, "verdict_runs", Scope{Service: "app"}))

	start := time.Now()
	rep, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "app"}})
	require.NoError(t, err)
	t.Logf("fleet report in %v: %d verdict group(s), %+v", time.Since(start), len(rep.Verdicts), rep.VerdictSummary)
	sum := rep.VerdictSummary
	for _, k := range []struct {
		name       string
		fleet, loc int
	}{
		{"leaked", sum.Leaked, locA.VerdictSummary.Leaked + locB.VerdictSummary.Leaked},
		{"deadlocked", sum.Deadlocked, locA.VerdictSummary.Deadlocked + locB.VerdictSummary.Deadlocked},
		{"idle", sum.Idle, locA.VerdictSummary.Idle + locB.VerdictSummary.Idle},
		{"suspect", sum.Suspect, locA.VerdictSummary.Suspect + locB.VerdictSummary.Suspect},
		{"warnings", sum.Warnings, locA.VerdictSummary.Warnings + locB.VerdictSummary.Warnings},
	} {
		assert.Equal(t, k.loc, k.fleet, k.name)
	}
	// Idle by function: the per-file counts summed.
	idle := map[string]int{}
	for _, l := range []*analyze.Report{locA, locB} {
		for _, f := range l.VerdictSummary.IdleByFunc {
			idle[f.Func] += f.Count
		}
	}
	require.Len(t, sum.IdleByFunc, len(idle))
	for _, f := range sum.IdleByFunc {
		assert.Equal(t, idle[f.Func], f.Count, f.Func)
		assert.Equal(t, 2, f.Instances, f.Func) // healthy_httpidle on both
	}
	// The profiles: both instances' runs had one.
	assert.Empty(t, sum.Profile.Note)
	assert.Len(t, sum.Profile.Files, 3)
	assert.Equal(t, 1, sum.Profile.Matched)

	// The leak: one group, on 1 of 2 instances, first, with its proof.
	require.NotEmpty(t, rep.Verdicts)
	v := rep.Verdicts[0]
	assert.Equal(t, analyze.VerdictLeaked, v.Verdict)
	assert.Equal(t, "warning", v.Severity)
	assert.Equal(t, 1, v.Goroutines)
	assert.Equal(t, 2, v.OfInstances)
	assert.Equal(t, []analyze.InstanceCount{{Instance: "a", Goroutines: 1}}, v.Instances)
	assert.Equal(t, "a", v.Instance)
	lv := locA.Verdicts[0]
	require.Equal(t, analyze.VerdictLeaked, lv.Verdict)
	assert.Equal(t, lv.TaskID, v.TaskID)
	assert.Equal(t, lv.Name, v.Name)
	assert.Equal(t, lv.Reason, v.Reason)
	assert.Equal(t, lv.Frames, v.Frames)
	assert.Equal(t, lv.BlockedNS, v.BlockedNS)
	assert.Equal(t, lv.Evidence, v.Evidence)
	require.NotNil(t, v.Proof)
	assert.Equal(t, "id", v.Proof.MatchedBy)
	require.GreaterOrEqual(t, v.Group, 0)
	assert.Equal(t, "chan_send", rep.Pending[v.Group].Reason)
	// The finding says where.
	var leakFinding *analyze.Finding
	for i, f := range rep.Findings {
		if f.Kind == analyze.VerdictLeaked {
			leakFinding = &rep.Findings[i]
		}
	}
	require.NotNil(t, leakFinding, "%+v", rep.Findings)
	assert.Contains(t, leakFinding.Text, "leaked on 1 of 2 instance(s): a:")
	assert.Equal(t, int64(1), leakFinding.Numbers["instances"])

	// Every goroutine of the groups counted once; the groups of both
	// instances' idle goroutines on both.
	var total int
	for _, v := range rep.Verdicts {
		total += v.Goroutines
		var n int
		for _, in := range v.Instances {
			n += in.Goroutines
		}
		assert.Equal(t, v.Goroutines, n, v.Name)
		assert.NotContains(t, v.Name, "nats", "the other service's")
		if v.Verdict == analyze.VerdictIdle {
			assert.Len(t, v.Instances, 2, v.Name)
		}
	}
	assert.Equal(t, len(locA.Verdicts)+len(locB.Verdicts), total)

	// One instance; the other service alone.
	one, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "app", Instance: "b"}})
	require.NoError(t, err)
	assert.Zero(t, one.VerdictSummary.Leaked)
	assert.Equal(t, locB.VerdictSummary.Idle, one.VerdictSummary.Idle)
	nats, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "nats"}})
	require.NoError(t, err)
	assert.Equal(t, locNats.VerdictSummary.Idle, nats.VerdictSummary.Idle)
	assert.Equal(t, locNats.VerdictSummary.Suspect, nats.VerdictSummary.Suspect)
	assert.Contains(t, nats.VerdictSummary.Profile.Note, "1 of the 1 process run(s)")
}

// TestReportVerdictsLatest: of the loads of one process, the verdicts of
// the last (the end of its records) count, as the shim ships a process's
// files in many loads.
func TestReportVerdictsLatest(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	ctx := context.Background()
	one := shimDir(t, map[string]string{"app-400": "healthy_httpidle"})
	two := t.TempDir()
	data, err := os.ReadFile(leakdata("healthy_pool.trace"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(two, "app-400-000002.bin"), data, 0o644))
	t0 := time.Now().Add(-time.Hour)
	for i, dir := range []string{one, two} {
		_, err := Ship(ctx, c, []string{dir}, ShipOptions{Service: "app", Instance: "c", Records: cmdRecords, Start: t0.Add(time.Duration(i) * time.Minute)})
		require.NoError(t, err)
	}
	pool := fileReport(t, filepath.Join(two, "app-400-000002.bin"))
	rep, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "app"}})
	require.NoError(t, err)
	assert.Equal(t, pool.VerdictSummary.Idle, rep.VerdictSummary.Idle)
	assert.Equal(t, pool.VerdictSummary.Suspect, rep.VerdictSummary.Suspect)
	for _, v := range rep.Verdicts {
		assert.False(t, strings.Contains(v.Name, "http."), "a verdict of the earlier load: %s", v.Name)
	}
	// A window ending before the second load: the first one's.
	early, _, err := Report(ctx, c, ReportOptions{Scope: Scope{Service: "app"}, Until: t0.Add(30 * time.Second)})
	require.NoError(t, err)
	httpidle := fileReport(t, one)
	assert.Equal(t, httpidle.VerdictSummary.Idle, early.VerdictSummary.Idle)
}
