package analyze_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/convert"
	_ "github.com/wakeshim/wakeshim/dump/pprofdump"
	"github.com/wakeshim/wakeshim/records"
)

// leakFacts is testdata/leaks/out/NAME.json, written by the reproducer
// (testdata/leaks/main.go).
type leakFacts struct {
	Name     string `json:"name"`
	Issue    string `json:"issue"`
	Healthy  bool   `json:"healthy"`
	Deadlock bool   `json:"deadlock"`
	Leaks    []struct {
		Func   string `json:"func"`
		Count  int    `json:"count"`
		Reason string `json:"reason"`
	} `json:"leaks"`
	GoVersion string `json:"go_version"`
	Profile   bool   `json:"profile"`
	Settled   bool   `json:"settled"`
}

const leaksDir = "../testdata/leaks/out"

func loadLeakFacts(t *testing.T) []leakFacts {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(leaksDir, "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 23, "the reproducers' outputs (make leaks)")
	var out []leakFacts
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var fx leakFacts
		require.NoError(t, json.Unmarshal(data, &fx), f)
		require.True(t, fx.Settled, "%s: the reproducer timed out before its goroutines blocked", f)
		out = append(out, fx)
	}
	return out
}

// analyzeLeak reports on a reproducer's trace with the given leak
// profiles (file suffixes: ".leak.txt", ".leak.pb.gz"; none: the rules
// alone). Stuck is 1ms: the reproducers' traces last some 20ms.
func analyzeLeak(t *testing.T, name string, profiles ...string) *analyze.Report {
	t.Helper()
	ins, err := records.Expand([]string{filepath.Join(leaksDir, name+".trace")})
	require.NoError(t, err)
	cfg := analyze.Config{Stuck: time.Millisecond}
	for _, suf := range profiles {
		p, err := analyze.ReadLeakProfile(filepath.Join(leaksDir, name+suf), 0)
		require.NoError(t, err)
		cfg.Leaks = append(cfg.Leaks, p)
	}
	run := records.NewRun(ins, records.Options{Convert: convert.Config{Threshold: convert.DefaultThreshold, Ignore: convert.SystemGoroutine}})
	r, _, err := analyze.Analyze(run, cfg)
	require.NoError(t, err)
	return r
}

// tally is how a mode did on the reproducers and healthy programs.
type tally struct {
	found, all        int // leaked goroutines marked leaked or deadlocked (warning)
	bugsAll, bugsAll2 int // reproducers with all their goroutines found
	suspectWarn       int // suspect warnings on the leaked goroutines
	otherWarn         int // warnings on goroutines the bug does not leak
	falseAlarms       int // warnings on the healthy programs
}

// leakOf returns the expected leak v is one of: the one whose function is
// v's entry or, since the compiler may inline the entry's callees and the
// records name a goroutine by its outermost frame, on v's stack.
func leakOf(v analyze.Verdict, want map[string]int) (string, bool) {
	if _, ok := want[v.Func]; ok {
		return v.Func, true
	}
	for _, f := range v.Frames {
		fn, _, _ := strings.Cut(f, " ")
		if _, ok := want[fn]; ok {
			return fn, true
		}
	}
	return "", false
}

// judge counts, for one report, the expected leaked goroutines found and
// the other warnings.
func judge(t *testing.T, fx leakFacts, r *analyze.Report, mode string, tl *tally) {
	want := map[string]int{}
	for _, l := range fx.Leaks {
		want[l.Func] += l.Count
	}
	got := map[string]int{}
	warn := 0
	for _, v := range r.Verdicts {
		if v.Severity != "warning" {
			continue
		}
		warn++
		if v.Verdict == analyze.VerdictLeaked || v.Verdict == analyze.VerdictDeadlocked {
			if f, ok := leakOf(v, want); ok {
				got[f]++
				continue
			}
		}
		if _, ok := leakOf(v, want); ok && v.Verdict == analyze.VerdictSuspect {
			tl.suspectWarn++
			continue
		}
		if fx.Healthy {
			tl.falseAlarms++
		} else {
			tl.otherWarn++
		}
		t.Logf("%s %s: warning %s on %s (%s): %v", mode, fx.Name, v.Verdict, v.Name, v.Reason, v.Evidence)
	}
	all := true
	for f, n := range want {
		tl.all += n
		tl.found += min(got[f], n)
		if got[f] < n {
			all = false
		}
	}
	if !fx.Healthy {
		tl.bugsAll2++
		if all {
			tl.bugsAll++
		}
	}
	_ = warn
}

// TestLeakVerdicts runs the verdicts on every reproducer of
// testdata/leaks (made with Go 1.27.3: the goroutineleak profile is
// beside each trace) three ways: records + profile (what `wakeshim report`
// does), the profile alone (its leaked verdicts only) and the records
// alone (no profile, as on Go 1.26). With the profile, every expected
// goroutine must be leaked, proven, and nothing else a warning; the
// healthy programs must have no warning in any mode. The figures are in
// docs/report.md (go test -run TestLeakVerdicts -v ./analyze prints them).
func TestLeakVerdicts(t *testing.T) {
	facts := loadLeakFacts(t)
	var both, pb, rules tally
	var profOnly tally
	for _, fx := range facts {
		t.Run(fx.Name, func(t *testing.T) {
			require.True(t, fx.Profile, "made without the goroutineleak profile (make leaks uses Go 1.27.3)")
			r := analyzeLeak(t, fx.Name, ".leak.txt")
			assert.Empty(t, r.VerdictSummary.Profile.Note)
			// Every expected goroutine leaked and proven; nothing else a
			// warning.
			want := map[string]int{}
			for _, l := range fx.Leaks {
				want[l.Func] += l.Count
			}
			got := map[string]int{}
			for _, v := range r.Verdicts {
				if v.Verdict == analyze.VerdictLeaked {
					require.NotNil(t, v.Proof, "%+v", v)
					assert.Equal(t, "id", v.Proof.MatchedBy)
					f, ok := leakOf(v, want)
					assert.True(t, ok, "%s: %s leaked, not expected: %v", fx.Name, v.Name, v.Frames)
					got[f]++
					continue
				}
				assert.NotEqual(t, "warning", v.Severity, "%s: %s is %s: %v", fx.Name, v.Name, v.Verdict, v.Evidence)
			}
			assert.Equal(t, want, got, "%s (%s): the leaked goroutines", fx.Name, fx.Issue)
			for _, f := range r.Findings {
				if f.Kind == "deadlocked" || f.Kind == "suspect" {
					t.Errorf("%s: %s", fx.Name, f.Text)
				}
			}
			// The wait reasons as the dump names them.
			for _, l := range fx.Leaks {
				for _, v := range r.Verdicts {
					if f, _ := leakOf(v, want); f == l.Func && v.Verdict == analyze.VerdictLeaked {
						assert.Equal(t, l.Reason, v.Reason, "%s: %s", fx.Name, l.Func)
						assert.Equal(t, l.Reason, v.Proof.State, "%s: %s: the profile's", fx.Name, l.Func)
					}
				}
			}
			judge(t, fx, r, "records+profile", &both)
			// The same profile in pb.gz: matched by stack, same verdicts.
			rp := analyzeLeak(t, fx.Name, ".leak.pb.gz")
			judge(t, fx, rp, "records+profile.pb.gz", &pb)
			// The profile alone: what it names, without the records'
			// rules (the leaked verdicts only).
			po := *r
			po.Verdicts = nil
			for _, v := range r.Verdicts {
				if v.Verdict == analyze.VerdictLeaked {
					po.Verdicts = append(po.Verdicts, v)
				}
			}
			judge(t, fx, &po, "profile", &profOnly)
			// The rules alone.
			rr := analyzeLeak(t, fx.Name)
			assert.NotEmpty(t, rr.VerdictSummary.Profile.Note)
			judge(t, fx, rr, "records", &rules)
			if fx.Healthy {
				for _, x := range []*analyze.Report{r, rp, rr} {
					for _, f := range x.Findings {
						if f.Kind == "leaked" || f.Kind == "deadlocked" || f.Kind == "suspect" {
							t.Errorf("%s: healthy, yet %s", fx.Name, f.Text)
						}
					}
				}
			}
		})
	}
	assert.Equal(t, both.all, both.found, "records + profile: every leaked goroutine found")
	assert.Equal(t, pb.all, pb.found, "records + pb.gz profile: every leaked goroutine found")
	assert.Zero(t, both.falseAlarms+rules.falseAlarms+pb.falseAlarms, "warnings on the healthy programs")
	assert.Zero(t, both.otherWarn+pb.otherWarn, "warnings on goroutines the bugs do not leak")
	line := func(name string, x tally) string {
		return fmt.Sprintf("| %s | %d / %d (%.0f%%) | %d / %d | %d | %d | %d |", name, x.found, x.all, 100*float64(x.found)/float64(max(x.all, 1)),
			x.bugsAll, x.bugsAll2, x.suspectWarn, x.otherWarn, x.falseAlarms)
	}
	t.Logf("\n| mode | leaked goroutines found (leaked or deadlocked) | reproducers with all found | suspect warnings on leaked goroutines | other warnings on reproducers | warnings on healthy programs |\n|---|---|---|---|---|---|\n%s\n%s\n%s\n%s",
		line("records + goroutineleak profile (debug=2)", both), line("records + goroutineleak profile (pb.gz, matched by stack)", pb),
		line("goroutineleak profile alone", profOnly), line("records alone (rules, no profile)", rules))
}

// TestLeakVerdictsNatsServer: the real nats-server trace (pub/sub load,
// idle clients, SIGINT; no profile) has no leak, deadlock or suspect
// warning: its readers wait in IO wait, its writers in sync.Cond.Wait
// they were woken from before, its internal loops in selects.
func TestLeakVerdictsNatsServer(t *testing.T) {
	ins, err := records.Expand([]string{"../testdata/realtraces/nats-server.trace"})
	require.NoError(t, err)
	run := records.NewRun(ins, records.Options{Convert: convert.Config{Threshold: convert.DefaultThreshold, Ignore: convert.SystemGoroutine}})
	r, _, err := analyze.Analyze(run, analyze.Config{})
	require.NoError(t, err)
	require.NotEmpty(t, r.Verdicts)
	for _, v := range r.Verdicts {
		assert.Equal(t, "info", v.Severity, "%s %s: %v", v.Name, v.Verdict, v.Evidence)
	}
	assert.Equal(t, 0, r.VerdictSummary.Warnings)
	// Nor any other warning: its 160 slow wakes (2.4%, the longest
	// 8.6ms, a loaded 2-core machine) are info.
	var slow bool
	for _, f := range r.Findings {
		assert.Equal(t, "info", f.Severity, "%s: %s", f.Kind, f.Text)
		slow = slow || f.Kind == "slow_wake"
	}
	assert.True(t, slow, "the slow wakes are still reported, as info")
	var writers int
	for _, f := range r.VerdictSummary.IdleByFunc {
		if f.Func == "server.(*client).writeLoop" {
			writers = f.Count
		}
	}
	assert.Positive(t, writers, "the client writers are idle: %+v", r.VerdictSummary.IdleByFunc)
}
