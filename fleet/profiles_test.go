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

// profKey is a sample of the latency or root-cause profile: the profile,
// the stack, the label (waker, root kind) and, when kept, the instance.
type profKey struct{ profile, stack, label, instance string }

// profSums adds up profiles' samples by key: count and nanoseconds.
func profSums(byInstance bool, lat []analyze.ProfileSample, roots []analyze.RootSample, into map[profKey][2]int64) map[profKey][2]int64 {
	if into == nil {
		into = map[profKey][2]int64{}
	}
	add := func(k profKey, n, ns int64) {
		if !byInstance {
			k.instance = ""
		}
		s := into[k]
		into[k] = [2]int64{s[0] + n, s[1] + ns}
	}
	for _, s := range lat {
		add(profKey{"latency", strings.Join(s.Stack, "\n"), s.Waker, s.Instance}, s.Count, s.NS)
	}
	for _, s := range roots {
		add(profKey{"roots", strings.Join(s.Stack, "\n"), s.Kind, s.Instance}, s.Count, s.NS)
	}
	return into
}

// fileProfiles is `wakeshim report -pprof`'s latency and root-cause
// samples of inputs, with instance as their instance.
func fileProfiles(t *testing.T, instance string, inputs ...string) ([]analyze.ProfileSample, []analyze.RootSample) {
	t.Helper()
	ins, err := records.Expand(inputs)
	require.NoError(t, err)
	_, an, err := analyze.Analyze(records.NewRun(ins, cmdRecords), analyze.Config{})
	require.NoError(t, err)
	lat, roots := an.LatencySamples(), an.RootSamples()
	require.NotEmpty(t, lat)
	require.NotEmpty(t, roots)
	for i := range lat {
		lat[i].Instance = instance
	}
	for i := range roots {
		roots[i].Instance = instance
	}
	return lat, roots
}

// TestReportProfiles: two programs (httpload, nethttp) as instances a
// and b of service web, nats-server as another service: the fleet's
// latency and root-cause samples are the per-file ones, by instance and
// summed over the instances (every stack, waker and root kind: wakes,
// waits and nanoseconds); one instance alone gives its file's; nothing
// of nats-server, which has its own; shipping again adds no row.
func TestReportProfiles(t *testing.T) {
	s := chserver.Start(t)
	c := newClient(t, s)
	ctx := context.Background()
	httpload, nethttp := testdata("shapes", "httpload.trace"), testdata("shapes", "nethttp.trace")
	shipCmd(t, c, "web", "a", httpload)
	shipCmd(t, c, "web", "b", nethttp)
	shipCmd(t, c, "nats", "n1", natsTrace)
	latA, rootsA := fileProfiles(t, "a", httpload)
	latB, rootsB := fileProfiles(t, "b", nethttp)

	check := func(scope Scope, lat []analyze.ProfileSample, roots []analyze.RootSample) {
		t.Helper()
		p, err := ReportProfiles(ctx, c, ReportOptions{Scope: scope})
		require.NoError(t, err)
		t.Logf("%s: %d latency and %d root samples", scopeName(scope), len(p.Latency), len(p.Roots))
		for _, byInstance := range []bool{true, false} {
			want := profSums(byInstance, lat, roots, nil)
			got := profSums(byInstance, p.Latency, p.Roots, nil)
			require.Equal(t, len(want), len(got), "samples (by instance: %v)", byInstance)
			for k, w := range want {
				assert.Equal(t, w, got[k], "%+v", k)
			}
		}
		for _, s := range p.Latency {
			assert.Equal(t, strings.HasPrefix(s.Stack[0], "[") && !strings.HasPrefix(s.Stack[0], "[woken] "), s.Block, s.Stack)
		}
	}
	check(Scope{Service: "web"}, append(latA, latB...), append(rootsA, rootsB...))
	check(Scope{Service: "web", Instance: "b"}, latB, rootsB)
	latN, rootsN := fileProfiles(t, "n1", natsTrace)
	check(Scope{Service: "nats"}, latN, rootsN)

	sc := Scope{Service: "web"}
	before := count(t, c, "profiles", sc)
	require.Positive(t, before)
	again := shipCmd(t, c, "web", "a", httpload)
	assert.Empty(t, again.Files)
	assert.Equal(t, before, count(t, c, "profiles", sc))
	check(sc, append(latA, latB...), append(rootsA, rootsB...))
}
