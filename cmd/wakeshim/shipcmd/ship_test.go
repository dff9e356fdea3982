package shipcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/cmd/wakeshim/reportcmd"
	"github.com/wakeshim/wakeshim/fleet"
	"github.com/wakeshim/wakeshim/internal/chserver"
)

func runCmd(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = Run("wakeshim ship", args, &o, &e)
	return o.String(), e.String(), code
}

var trace = filepath.Join("..", "..", "..", "testdata", "traces", "flightrec.trace")

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no -to URL"},
		{[]string{"-to", "http://127.0.0.1:1/"}, "no -service NAME"},
		{[]string{"-to", "http://127.0.0.1:1/", "-service", "s"}, "no input"},
		{[]string{"-to", "ftp://x/", "-service", "s", trace}, "want http:// or https://"},
		{[]string{"-to", "http://127.0.0.1:1/", "-service", "s", "-start", "yesterday", trace}, "RFC 3339"},
		{[]string{"-to", "http://127.0.0.1:1/", "-service", "s", trace, "-q"}, "flags come first"},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
	} {
		_, stderr, code := runCmd(tc.args...)
		assert.Equal(t, 2, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.want, tc.args)
	}
	_, stderr, code := runCmd("-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "usage: wakeshim ship -to URL")
}

var summaryRE = regexp.MustCompile(`wakeshim ship: svc/i1: (\d+) file\(s\) shipped, (\d+) skipped \(shipped before\), (\d+) records read, (\d+) rows \(.*\) in .*, (\d+) rows/s`)

// TestShip ships a trace, again (skipped), a bad file (exit 1 naming it)
// and to a stopped server (exit 1, a clear error), then after the restart.
func TestShip(t *testing.T) {
	s := chserver.Start(t)
	url := s.URL("fleettest")
	args := []string{"-to", url, "-service", "svc", "-instance", "i1", "-retries", "1"}
	_, stderr, code := runCmd(append(args, trace)...)
	require.Equal(t, 0, code, stderr)
	t.Log(stderr)
	m := summaryRE.FindStringSubmatch(stderr)
	require.NotNil(t, m, stderr)
	assert.Equal(t, "1", m[1])
	assert.Equal(t, "0", m[2])
	assert.NotEqual(t, "0", m[4])

	_, stderr, code = runCmd(append(args, trace)...)
	require.Equal(t, 0, code, stderr)
	m = summaryRE.FindStringSubmatch(stderr)
	require.NotNil(t, m, stderr)
	assert.Equal(t, "0", m[1])
	assert.Equal(t, "1", m[2])
	assert.Equal(t, "0", m[4])

	bad := filepath.Join(t.TempDir(), "bad.bin")
	require.NoError(t, os.WriteFile(bad, []byte("TOKIOTRC\x09\x00\x00\x00\xee"), 0o644))
	_, stderr, code = runCmd(append(args, bad)...)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, bad)

	c, err := fleet.NewClient(url)
	require.NoError(t, err)
	wakes, err := c.Count(context.Background(), "wakes", fleet.Scope{Service: "svc"})
	require.NoError(t, err)
	require.Positive(t, wakes)

	s.Stop()
	other := []string{"-to", url, "-service", "svc", "-instance", "i2", "-retries", "1", trace}
	_, stderr, code = runCmd(other...)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "connection refused")
	assert.Contains(t, stderr, "retrying in")
	s.Restart()
	_, stderr, code = runCmd(other...)
	require.Equal(t, 0, code, stderr)
	n, err := c.Count(context.Background(), "wakes", fleet.Scope{Service: "svc", Instance: "i2"})
	require.NoError(t, err)
	assert.Equal(t, wakes, n, "the second instance has the same wakes, once")
}

// TestShipThenReport: two instances shipped by the command, then
// `wakeshim report -from` over them, against `wakeshim report` of the
// file itself.
func TestShipThenReport(t *testing.T) {
	s := chserver.Start(t)
	url := s.URL("")
	for _, inst := range []string{"x1", "x2"} {
		_, stderr, code := runCmd("-q", "-to", url, "-service", "fr", "-instance", inst, trace)
		require.Equal(t, 0, code, stderr)
	}
	jsonOf := func(args ...string) analyze.Report {
		var o, e bytes.Buffer
		code := reportcmd.Run("wakeshim report", append([]string{"-q", "-json", "-"}, args...), &o, &e)
		require.Equal(t, 0, code, e.String())
		var r analyze.Report
		require.NoError(t, json.Unmarshal(o.Bytes(), &r))
		return r
	}
	local := jsonOf(trace)
	fl := jsonOf("-from", url, "-service", "fr", "-since", "240h")
	assert.Equal(t, 2*local.WakesTotal, fl.WakesTotal)
	assert.Equal(t, 2*local.PendingTotal, fl.PendingTotal)
	assert.Equal(t, 2*local.Records, fl.Records)
	require.Len(t, fl.Pending, len(local.Pending))
	maxOf := func(r analyze.Report) (m int64) {
		for _, g := range r.Pending {
			m = max(m, g.MaxNS)
		}
		return m
	}
	assert.Equal(t, maxOf(local), maxOf(fl))
	assert.Equal(t, local.Latency.MaxNS, fl.Latency.MaxNS)
	require.NotEmpty(t, fl.Latency.Worst)
	for _, w := range fl.Latency.Worst {
		assert.True(t, w.TS >= 0 && w.TS <= fl.SpanNS, "worst wake at %d: not on the time line of %d ns", w.TS, fl.SpanNS)
	}

	// The pending profile from the fleet's groups: twice the file's.
	profTotals := func(args ...string) (n, ns int64) {
		dir := t.TempDir()
		var o, e bytes.Buffer
		code := reportcmd.Run("wakeshim report", append([]string{"-q", "-pprof", dir}, args...), &o, &e)
		require.Equal(t, 0, code, e.String())
		f, err := os.Open(filepath.Join(dir, "pending.pb.gz"))
		require.NoError(t, err)
		defer f.Close()
		p, err := profile.Parse(f)
		require.NoError(t, err)
		require.NoError(t, p.CheckValid())
		for _, s := range p.Sample {
			n += s.Value[0]
			ns += s.Value[1]
		}
		return n, ns
	}
	ln, lns := profTotals(trace)
	fn, fns := profTotals("-from", url, "-service", "fr")
	assert.Equal(t, 2*ln, fn, "blocks in the fleet's pending profile")
	assert.Equal(t, 2*lns, fns, "blocked time in the fleet's pending profile")

	var o, e bytes.Buffer
	code := reportcmd.Run("wakeshim report", []string{"-from", url, "-service", "fr", "-instance", "x2"}, &o, &e)
	require.Equal(t, 0, code, e.String())
	assert.Contains(t, o.String(), "WHERE GOROUTINES WAIT")
	assert.Contains(t, o.String(), "WAIT GROUPS BY INSTANCE")
	assert.Contains(t, o.String(), "1 of 1")
	assert.Contains(t, e.String(), "1 file(s) of 1 instance(s)")

	code = reportcmd.Run("wakeshim report", []string{"-from", url, "-service", "fr", "-since", "yesterday"}, &o, &e)
	assert.Equal(t, 2, code)
	code = reportcmd.Run("wakeshim report", []string{"-from", url, trace}, &o, &e)
	assert.Equal(t, 2, code)
	e.Reset()
	code = reportcmd.Run("wakeshim report", []string{"-from", url, "-service", "nosuch"}, &o, &e)
	assert.Equal(t, 1, code)
	assert.Contains(t, e.String(), "no records of service nosuch")
}

// TestShipThenReportVerdicts: `wakeshim ship` of two instances' shim
// directories (one with a leak proven by its goroutineleak profile, both
// with idle goroutines), then `wakeshim report -from`: the verdicts in
// the text and the JSON are the per-directory reports' summed, the leak
// on 1 of 2 instances.
func TestShipThenReportVerdicts(t *testing.T) {
	s := chserver.Start(t)
	url := s.URL("")
	leaks := filepath.Join("..", "..", "..", "testdata", "leaks", "out")
	dir := func(procs ...string) string {
		d := t.TempDir()
		for i := 0; i < len(procs); i += 2 {
			for from, to := range map[string]string{".trace": "-000001.bin", ".leak.txt": "-000001.goroutineleak.txt"} {
				data, err := os.ReadFile(filepath.Join(leaks, procs[i+1]+from))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(d, procs[i]+to), data, 0o644))
			}
		}
		return d
	}
	dirA := dir("app-100", "etcd7443", "app-200", "healthy_httpidle")
	dirB := dir("app-300", "healthy_httpidle")
	for inst, d := range map[string]string{"a": dirA, "b": dirB} {
		_, stderr, code := runCmd("-to", url, "-service", "app", "-instance", inst, d)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stderr, " verdicts, ")
	}
	report := func(args ...string) (string, analyze.Report) {
		var o, e bytes.Buffer
		code := reportcmd.Run("wakeshim report", append([]string{"-q"}, args...), &o, &e)
		require.Equal(t, 0, code, e.String())
		var j, je bytes.Buffer
		code = reportcmd.Run("wakeshim report", append([]string{"-q", "-json", "-"}, args...), &j, &je)
		require.Equal(t, 0, code, je.String())
		var r analyze.Report
		require.NoError(t, json.Unmarshal(j.Bytes(), &r))
		return o.String(), r
	}
	_, la := report(dirA)
	_, lb := report(dirB)
	text, fl := report("-from", url, "-service", "app")
	sa, sb, sf := la.VerdictSummary, lb.VerdictSummary, fl.VerdictSummary
	assert.Equal(t, sa.Leaked+sb.Leaked, sf.Leaked)
	assert.Equal(t, 1, sf.Leaked)
	assert.Equal(t, sa.Idle+sb.Idle, sf.Idle)
	assert.Equal(t, sa.Suspect+sb.Suspect, sf.Suspect)
	assert.Equal(t, sa.Warnings+sb.Warnings, sf.Warnings)
	require.NotEmpty(t, fl.Verdicts)
	assert.Equal(t, "leaked", fl.Verdicts[0].Verdict)
	assert.Equal(t, []analyze.InstanceCount{{Instance: "a", Goroutines: 1}}, fl.Verdicts[0].Instances)
	assert.Equal(t, 2, fl.Verdicts[0].OfInstances)
	assert.Regexp(t, `STILL BLOCKED AT THE END \(\d+ goroutine\(s\) over the instances: 1 leaked`, text)
	assert.Regexp(t, `LEAKED +1 +1 of 2 +chan send`, text)
	assert.Contains(t, text, "on 1 of 2 instance(s): a; named by the goroutineleak profile")
	assert.Regexp(t, `idle service goroutines: \d+, by function and on how many instances: http\.`, text)
	// The stuck groups by instance: the leak's on a alone; the latency
	// by instance.
	assert.Regexp(t, `STUCK GROUPS BY INSTANCE \(\d+ group\(s\) above`, text)
	assert.Regexp(t, `\n  6 +a +1 +18\.1ms +18\.1ms +18\.1ms +18\.1ms +1\n`, text)
	assert.Regexp(t, `WAKE -> RUN LATENCY BY INSTANCE \(2 instance\(s\), most wakes of 1\.00ms or more first\)`, text)
	assert.Regexp(t, `warning leaked +a g\d+ main\.\(\*watcher7443\)\.sendLoop created at etcd\.go:\d+ leaked on 1 of 2`, text)
}

// TestShipThenReportFindings: the time-ordered findings and the pauses
// through both commands: text and JSON, two instances.
func TestShipThenReportFindings(t *testing.T) {
	s := chserver.Start(t)
	url := s.URL("")
	shapes := filepath.Join("..", "..", "..", "testdata", "shapes")
	for inst, f := range map[string]string{"a": "httpload.trace", "b": "nethttp.trace"} {
		_, stderr, code := runCmd("-to", url, "-service", "web", "-instance", inst, filepath.Join(shapes, f))
		require.Equal(t, 0, code, stderr)
		assert.Regexp(t, ` \d+ findings`, stderr)
		assert.Regexp(t, ` \d+ pauses`, stderr)
	}
	var o, e bytes.Buffer
	require.Equal(t, 0, reportcmd.Run("wakeshim report", []string{"-q", "-wide", "-from", url, "-service", "web"}, &o, &e), e.String())
	text := o.String()
	assert.Regexp(t, `info +herd +\S+ woke \d+ or more goroutines within 1\.00ms, \d+ time\(s\) on \d of 2 instance\(s\)`, text)
	assert.Regexp(t, `info +slow_wake +\d+ of \d+ wake\(s\) \(\d+\.\d%\) waited at least 1\.00ms to run while a P was parked, on 2 of 2 instance\(s\)`, text)
	assert.Regexp(t, `info +queue +up to \d+ goroutines queued at once in `, text)
	assert.Regexp(t, `info +pause_release +`, text)
	assert.Regexp(t, `STOP-THE-WORLD PAUSES \(\d+, \S+ in all, max \S+, on 2 of 2 instance\(s\)`, text)
	assert.Regexp(t, `\n  a +GC \w+ termination +\d+ `, text)
	o.Reset()
	require.Equal(t, 0, reportcmd.Run("wakeshim report", []string{"-q", "-json", "-", "-from", url, "-service", "web"}, &o, &e), e.String())
	var r struct {
		Findings []analyze.Finding `json:"findings"`
		Pauses   *analyze.Pauses   `json:"pauses"`
	}
	require.NoError(t, json.Unmarshal(o.Bytes(), &r))
	// The fleet's document, streamed by report.WriteJSON, is
	// json.MarshalIndent's of the report it holds.
	var full analyze.Report
	require.NoError(t, json.Unmarshal(o.Bytes(), &full))
	again, err := json.MarshalIndent(&full, "", "  ")
	require.NoError(t, err)
	require.Equal(t, string(again)+"\n", o.String())
	kinds := map[string]bool{}
	for _, f := range r.Findings {
		kinds[f.Kind] = true
		if f.Kind == "herd" {
			assert.Contains(t, f.Numbers, "waker_task_id")
			assert.Equal(t, int64(2), f.Numbers["of_instances"])
		}
	}
	for _, k := range []string{"herd", "pause_release", "slow_wake", "queue"} {
		assert.True(t, kinds[k], k)
	}
	require.NotNil(t, r.Pauses)
	assert.Equal(t, 2, r.Pauses.Instances)
	assert.NotEmpty(t, r.Pauses.Longest)
}

// TestShipThenReportChains: one program shipped as two instances, the
// fleet's report has the file report's wake chains (the longest waits,
// named with their instance, on 2 of 2), the roots of the groups' waits
// on 2 of 2 instances, and the Ps summed with their instances; the JSON
// the same.
func TestShipThenReportChains(t *testing.T) {
	s := chserver.Start(t)
	url := s.URL("")
	trace := filepath.Join("..", "..", "..", "testdata", "shapes", "httpload.trace")
	for _, inst := range []string{"a", "b"} {
		_, stderr, code := runCmd("-to", url, "-service", "web", "-instance", inst, trace)
		require.Equal(t, 0, code, stderr)
		assert.Regexp(t, ` [1-9]\d* chain_roots, [1-9]\d* chains, [1-9]\d* workers`, stderr)
	}
	var o, e bytes.Buffer
	require.Equal(t, 0, reportcmd.Run("wakeshim report", []string{"-q", "-wide", trace}, &o, &e), e.String())
	file := o.String()
	o.Reset()
	require.Equal(t, 0, reportcmd.Run("wakeshim report", []string{"-q", "-wide", "-from", url, "-service", "web"}, &o, &e), e.String())
	text := o.String()
	assert.Regexp(t, `WAKE CHAINS \(10 longest waits on 2 of 2 instance\(s\): a ×5, b ×5: who kept`, text)
	assert.Contains(t, text, "WHERE THE WAITING TIME WENT")
	assert.Regexp(t, `WAIT ROOTS BY INSTANCE \(the roots of \d+ group\(s\) above`, text)
	assert.Regexp(t, `\n  1 +\S.* +\d+% +\S+ +\d+ +\S+ +2 of 2\n`, text)
	assert.Regexp(t, `Ps BY INSTANCE \(2 instance\(s\)`, text)
	assert.Regexp(t, `\n  a +\d+ +\S+ +\d+% `, text)
	// The file's longest wait heads the fleet's, on instance a.
	_, after, ok := strings.Cut(file, "WAKE CHAINS")
	require.True(t, ok)
	lines := strings.Split(after, "\n")
	head, _, _ := strings.Cut(strings.TrimSpace(lines[1]), " (@")
	assert.Contains(t, text, "  a "+head+" (@", "the file's longest chain: %s", head)
	// Each P's busy share is the file's (two instances alike).
	psOf := func(s string) string {
		_, ps, _ := strings.Cut(s, "\nPs (")
		ps, _, _ = strings.Cut(ps, "\n  global run queue")
		var out []string
		for _, l := range strings.Split(ps, "\n")[1:] {
			if f := strings.Fields(l); len(f) == 5 {
				out = append(out, f[0]+" "+f[2])
			}
		}
		return strings.Join(out, ", ")
	}
	assert.NotEmpty(t, psOf(file))
	assert.Equal(t, psOf(file), psOf(text))

	o.Reset()
	require.Equal(t, 0, reportcmd.Run("wakeshim report", []string{"-q", "-json", "-", "-from", url, "-service", "web"}, &o, &e), e.String())
	var r struct {
		Chains  []analyze.Chain          `json:"chains"`
		Workers []analyze.Worker         `json:"workers"`
		ByInst  []analyze.WorkerInstance `json:"workers_by_instance"`
		Pending []analyze.PendingGroup   `json:"pending"`
		Of      int                      `json:"chains_of_instances"`
	}
	require.NoError(t, json.Unmarshal(o.Bytes(), &r))
	require.Len(t, r.Chains, 10)
	assert.Equal(t, 2, r.Of)
	assert.Equal(t, "a", r.Chains[0].Instance)
	assert.NotEmpty(t, r.Chains[0].Links)
	require.NotEmpty(t, r.Workers)
	assert.Equal(t, 2, r.Workers[0].Instances)
	assert.Positive(t, r.Workers[0].SpanNS)
	assert.Len(t, r.ByInst, 2)
	require.NotEmpty(t, r.Pending)
	assert.Positive(t, r.Pending[0].ChainedWaits)
	require.NotEmpty(t, r.Pending[0].Roots)
	assert.Equal(t, 2, r.Pending[0].Roots[0].Instances)
}

// TestShipThenReportProfiles: two programs shipped as instances a and b
// of service web, nats-server as service nats; `wakeshim report -from
// -pprof`'s latency.pb.gz and roots.pb.gz have, for every stack and
// label (waker, root), the values of the two files' own profiles
// (`wakeshim report -pprof FILE`) summed, each sample labelled with its
// instance, a or b: nothing of nats.
func TestShipThenReportProfiles(t *testing.T) {
	s := chserver.Start(t)
	url := s.URL("")
	shapes := filepath.Join("..", "..", "..", "testdata", "shapes")
	files := map[string]string{"a": filepath.Join(shapes, "httpload.trace"), "b": filepath.Join(shapes, "nethttp.trace")}
	for inst, f := range files {
		_, stderr, code := runCmd("-to", url, "-service", "web", "-instance", inst, f)
		require.Equal(t, 0, code, stderr)
		assert.Regexp(t, ` [1-9]\d* profiles\)`, stderr)
	}
	nats := filepath.Join("..", "..", "..", "testdata", "realtraces", "nats-server.trace")
	_, stderr, code := runCmd("-q", "-to", url, "-service", "nats", "-instance", "n1", nats)
	require.Equal(t, 0, code, stderr)

	type key struct{ stack, label string }
	// profiles runs `wakeshim report -pprof` and sums each profile's
	// values by stack and label (waker, root), adding to sums; and the
	// instances of the samples.
	profiles := func(sums map[string]map[key][2]int64, instances map[string]bool, args ...string) {
		t.Helper()
		dir := t.TempDir()
		var o, e bytes.Buffer
		code := reportcmd.Run("wakeshim report", append([]string{"-q", "-pprof", dir}, args...), &o, &e)
		require.Equal(t, 0, code, e.String())
		for _, name := range []string{"latency", "roots"} {
			f, err := os.Open(filepath.Join(dir, name+".pb.gz"))
			require.NoError(t, err)
			p, err := profile.Parse(f)
			f.Close()
			require.NoError(t, err)
			require.NoError(t, p.CheckValid())
			require.NotEmpty(t, p.Sample, name)
			if sums[name] == nil {
				sums[name] = map[key][2]int64{}
			}
			for _, smp := range p.Sample {
				var stk []string
				for _, l := range smp.Location {
					for _, ln := range l.Line {
						stk = append(stk, ln.Function.Name+" "+ln.Function.Filename+":"+strconv.FormatInt(ln.Line, 10))
					}
				}
				label := "waker=" + strings.Join(smp.Label["waker"], ",")
				if name == "roots" {
					label = "root=" + strings.Join(smp.Label["root"], ",")
				}
				k := key{strings.Join(stk, "\n"), label}
				v := sums[name][k]
				sums[name][k] = [2]int64{v[0] + smp.Value[0], v[1] + smp.Value[1]}
				for _, in := range smp.Label["instance"] {
					instances[in] = true
				}
				if instances != nil && len(smp.Label["instance"]) != 1 {
					t.Errorf("%s: a sample with instance labels %q", name, smp.Label["instance"])
				}
			}
		}
	}
	want := map[string]map[key][2]int64{}
	for _, f := range files {
		profiles(want, nil, f)
	}
	got := map[string]map[key][2]int64{}
	instances := map[string]bool{}
	profiles(got, instances, "-from", url, "-service", "web")
	for _, name := range []string{"latency", "roots"} {
		require.Equal(t, len(want[name]), len(got[name]), name)
		var n, ns int64
		for k, w := range want[name] {
			assert.Equal(t, w, got[name][k], "%s: %+v", name, k)
			n, ns = n+w[0], ns+w[1]
		}
		t.Logf("%s: %d samples, %d, %d ns", name, len(want[name]), n, ns)
	}
	assert.Equal(t, map[string]bool{"a": true, "b": true}, instances)
}
