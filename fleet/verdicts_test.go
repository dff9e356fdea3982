package fleet

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
