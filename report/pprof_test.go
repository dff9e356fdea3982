package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
)

// The profiles of a real trace parse as pprof, with the block profile's
// shape: the wait reason as the leaf frame, a waker label on every sample,
// and the delays adding up to the report's.
func TestProfiles(t *testing.T) {
	rep, an := analyzeTrace(t, "../testdata/traces/mutex.trace", analyze.Config{})

	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
		types []string
		total int64
	}{
		{"pending", func(b *bytes.Buffer) error { return WritePendingProfile(b, an.PendingSamples()) },
			[]string{"contentions", "delay"}, pendingTotal(rep)},
		{"latency", func(b *bytes.Buffer) error { return WriteLatencyProfile(b, an.LatencySamples()) },
			[]string{"wakes", "delay"}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, tc.write(&buf))
			p, err := profile.Parse(&buf)
			require.NoError(t, err)
			require.NoError(t, p.CheckValid())
			assert.Equal(t, tc.types[0], p.SampleType[0].Type)
			assert.Equal(t, tc.types[1], p.SampleType[1].Type)
			assert.Equal(t, "nanoseconds", p.SampleType[1].Unit)
			require.NotEmpty(t, p.Sample)
			var delay int64
			for _, s := range p.Sample {
				delay += s.Value[1]
				assert.True(t, strings.HasPrefix(s.Location[0].Line[0].Function.Name, "["), "leaf %q", s.Location[0].Line[0].Function.Name)
				assert.NotEmpty(t, s.Label["waker"])
			}
			if tc.total >= 0 {
				assert.Equal(t, tc.total, delay)
			} else {
				assert.Positive(t, delay)
			}
		})
	}
}

func pendingTotal(r *analyze.Report) int64 {
	var total int64
	for _, g := range r.Pending {
		total += g.TotalNS
	}
	return total
}
