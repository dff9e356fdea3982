package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/require"
)

// TestPGOProfile: default.pgo, the CPU profile go build and go install
// optimize the commands with (make pgo, docs/decoder.md), is a CPU profile
// of the conversion's fast lane (the decoder's and the converter's hot
// functions are in it: a stale or foreign profile would not have them),
// and every main package that has one has the same.
func TestPGOProfile(t *testing.T) {
	want, err := os.ReadFile("default.pgo")
	require.NoError(t, err)
	p, err := profile.Parse(bytes.NewReader(want))
	require.NoError(t, err)
	require.NotEmpty(t, p.Sample)
	seen := map[string]bool{}
	for _, f := range p.Function {
		seen[f.Name] = true
	}
	for _, fn := range []string{
		"github.com/wakeshim/wakeshim/tracewire.(*Decoder).hotOne",
		"github.com/wakeshim/wakeshim/tracewire.(*cursor).next",
		"github.com/wakeshim/wakeshim/convert.(*Converter).Take",
		"github.com/wakeshim/wakeshim/format.(*Writer).WriteHots",
	} {
		require.True(t, seen[fn], "default.pgo has no samples of %s: regenerate it (make pgo)", fn)
	}
	for _, dir := range []string{"../convert", "../convbench"} {
		got, err := os.ReadFile(filepath.Join(dir, "default.pgo"))
		require.NoError(t, err)
		require.True(t, bytes.Equal(got, want), "%s/default.pgo differs from cmd/wakeshim's: make pgo writes both", strings.TrimPrefix(dir, "../"))
	}
}
