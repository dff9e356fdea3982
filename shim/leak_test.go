package shim_test

import (
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/records"
)

// TestLeakProfile: with leakprofile set, a shimmed program that exits
// without Stop leaves goroutineleak profiles beside its records, and the
// report over the directory calls the goroutine blocked on a channel
// nothing else refers to leaked, proven, and the one blocked on a channel
// main keeps not leaked. Under a Go without the profile (1.26 without
// GOEXPERIMENT=goroutineleakprofile) the shim says so once and writes
// none.
func TestLeakProfile(t *testing.T) {
	dir := t.TempDir()
	f, stderr := runHelper(t, "leak", "WAKESHIM=dir="+dir+",leakprofile=1s,sample=200ms,interval=100ms,budget=off")
	require.NotZero(t, f.Stuck, "stderr: %s", stderr)
	profs, _ := filepath.Glob(filepath.Join(dir, "*.goroutineleak.txt"))
	if pprof.Lookup("goroutineleak") == nil {
		assert.Empty(t, profs)
		assert.Equal(t, 1, strings.Count(stderr, "no goroutineleak profile in go"), "stderr: %s", stderr)
		return
	}
	require.NotEmpty(t, profs, "stderr: %s", stderr)
	assert.NotContains(t, stderr, "no goroutineleak profile")
	inputs, leaks, err := analyze.SplitInputs([]string{dir})
	require.NoError(t, err)
	require.ElementsMatch(t, profs, leaks)
	ins, err := records.Expand(inputs)
	require.NoError(t, err)
	var cfg analyze.Config
	for _, l := range leaks {
		p, err := analyze.ReadLeakProfile(l, records.SideProcess(ins, l))
		require.NoError(t, err)
		cfg.Leaks = append(cfg.Leaks, p)
	}
	rep, _, err := analyze.Analyze(records.NewRun(ins, records.Options{}), cfg)
	require.NoError(t, err)
	verdicts := map[int64]analyze.Verdict{}
	for _, v := range rep.Verdicts {
		verdicts[int64(v.TaskID)] = v
	}
	leaked, ok := verdicts[f.Stuck]
	require.True(t, ok, "g%d has no verdict: %+v", f.Stuck, rep.Verdicts)
	t.Logf("g%d: %s %s: %v", f.Stuck, leaked.Verdict, leaked.Name, leaked.Evidence)
	assert.Equal(t, "leaked", leaked.Verdict, "%+v", leaked)
	assert.Equal(t, "warning", leaked.Severity)
	require.NotNil(t, leaked.Proof, "%+v", leaked)
	assert.Contains(t, profs, leaked.Proof.File)
	assert.Contains(t, leaked.Name, "created at")
	if held, ok := verdicts[f.Preblocked]; ok {
		assert.NotEqual(t, "leaked", held.Verdict, "%+v", held)
		assert.NotEqual(t, "warning", held.Severity, "%+v", held)
	}
}
