package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func wakeshim(args ...string) (string, string, int) {
	var o, e bytes.Buffer
	code := run(args, strings.NewReader(""), &o, &e)
	return o.String(), e.String(), code
}

func TestHelp(t *testing.T) {
	out, _, code := wakeshim("help")
	assert.Equal(t, 0, code)
	for _, c := range commands {
		assert.Contains(t, out, "  "+c.name)
	}
	for _, c := range []string{"convert", "report", "dumpdiff"} {
		t.Run(c, func(t *testing.T) {
			out, stderr, code := wakeshim("help", c)
			assert.Equal(t, 0, code, stderr)
			assert.Contains(t, out, "usage: wakeshim "+c+" [flags]")
			assert.Contains(t, out, "\nFlags:\n  -") // the flags follow
			_, stderr, code = wakeshim(c, "-h")
			assert.Equal(t, 0, code)
			assert.Contains(t, stderr, "usage: wakeshim "+c+" [flags]")
		})
	}
	_, stderr, code := wakeshim("help", "nope")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown command "nope"`)
}

func TestUsageErrors(t *testing.T) {
	_, stderr, code := wakeshim()
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "usage: wakeshim COMMAND")
	_, stderr, code = wakeshim("frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
	_, stderr, code = wakeshim("report")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "wakeshim report: no input")
}

func TestSubcommandsRun(t *testing.T) {
	trace := filepath.Join("..", "..", "testdata", "traces", "mutex.trace")
	out, stderr, code := wakeshim("report", "-q", trace)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "WHERE GOROUTINES WAIT")
	bin := filepath.Join(t.TempDir(), "m.bin")
	_, stderr, code = wakeshim("convert", "-q", "-o", bin, trace)
	require.Equal(t, 0, code, stderr)
	out, stderr, code = wakeshim("dumpdiff", bin, filepath.Join("..", "..", "testdata", "traces", "preblocked.goroutines.txt"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "records: m.bin")
}
