package report

import (
	"bytes"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
)

// The root-cause profile of the planted mutex chain parses as pprof: every
// sample labelled with its root, the waits' time adding up to what the
// groups' summaries walked, and the holder's CPU attributed to a stack.
func TestRootProfile(t *testing.T) {
	rep, an := analyzeTrace(t, "../testdata/traces/chains-mutex.trace", analyze.Config{})
	var buf bytes.Buffer
	require.NoError(t, WriteRootProfile(&buf, an.RootSamples()))
	p, err := profile.Parse(&buf)
	require.NoError(t, err)
	require.NoError(t, p.CheckValid())
	assert.Equal(t, "waits", p.SampleType[0].Type)
	assert.Equal(t, "delay", p.SampleType[1].Type)
	byRoot := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		require.Len(t, s.Label["root"], 1)
		byRoot[s.Label["root"][0]] += s.Value[1]
		total += s.Value[1]
		assert.NotEmpty(t, s.Location)
	}
	var walked int64
	for _, g := range rep.Pending {
		walked += g.ChainedNS
	}
	assert.Equal(t, walked, total)
	assert.Positive(t, byRoot["timer"])
	assert.Positive(t, byRoot["cpu"])

	var text bytes.Buffer
	WriteText(&text, rep, 100, 10)
	assert.Contains(t, text.String(), "WAKE CHAINS")
	assert.Contains(t, text.String(), "main.mutex.func1.3 created at main.go:184 ran 5.00ms on P")
	assert.Contains(t, text.String(), "slept 20.1ms at time.Sleep (timer)")
}
