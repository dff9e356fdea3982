package convertcmd

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
)

func trace(name string) string { return filepath.Join("..", "..", "..", "testdata", "traces", name) }

// convertCLI runs the command and returns its exit code and stderr.
func convertCLI(t *testing.T, stdin io.Reader, args ...string) (int, string) {
	var stderr bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	code := run(args, stdin, &stderr)
	return code, stderr.String()
}

// records decodes a v9 file, failing on any error.
func records(t *testing.T, name string) []format.Record {
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	r, err := format.NewReader(f)
	require.NoError(t, err, name)
	var recs []format.Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs
		}
		require.NoError(t, err, name)
		recs = append(recs, rec)
	}
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o644))
}

func TestBesideInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "mutex.trace")
	copyFile(t, trace("mutex.trace"), in)
	code, stderr := convertCLI(t, nil, in)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `mutex.trace \(3\.\d KB\) -> .*mutex.bin, .*mutex.jsonl \(.*\): \d+ records \(.*\), \d+ wakes, \d+ pending, `, stderr)
	recs := records(t, filepath.Join(dir, "mutex.bin"))
	assert.NotEmpty(t, recs)

	// v9 -> JSONL gives the converter's JSONL; JSONL -> v9 the same bytes.
	code, stderr = convertCLI(t, nil, "-jsonl", filepath.Join(dir, "again.jsonl"), filepath.Join(dir, "mutex.bin"))
	require.Equal(t, 0, code, stderr)
	j1, _ := os.ReadFile(filepath.Join(dir, "mutex.jsonl"))
	j2, _ := os.ReadFile(filepath.Join(dir, "again.jsonl"))
	assert.Equal(t, string(j1), string(j2))
	code, stderr = convertCLI(t, nil, "-o", filepath.Join(dir, "again.bin"), filepath.Join(dir, "again.jsonl"))
	require.Equal(t, 0, code, stderr)
	b1, _ := os.ReadFile(filepath.Join(dir, "mutex.bin"))
	b2, _ := os.ReadFile(filepath.Join(dir, "again.bin"))
	assert.Equal(t, b1, b2)
}

func TestOnlyOneOutput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.jsonl")
	code, stderr := convertCLI(t, nil, "-jsonl", out, "-q", trace("sleep.trace"))
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stderr, "-q prints no summary")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "only the JSONL is written")
}

func TestStdin(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Open(trace("sleep.trace"))
	require.NoError(t, err)
	defer f.Close()
	out := filepath.Join(dir, "s.bin")
	code, stderr := convertCLI(t, f, "-o", out, "-")
	require.Equal(t, 0, code, stderr)
	assert.NotEmpty(t, records(t, out))
}

func TestSegments(t *testing.T) {
	dir := t.TempDir()
	code, stderr := convertCLI(t, nil, "-o", filepath.Join(dir, "m.bin"), "-jsonl", filepath.Join(dir, "m.jsonl"), "-segment", "10ms", trace("mutex.trace"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "segments")
	// The program holds a mutex for 30ms while little happens: a new
	// segment starts at the first event past each segment's 10ms.
	bins, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	jsonls, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	assert.GreaterOrEqual(t, len(bins), 2)
	assert.Equal(t, len(bins), len(jsonls))
	assert.FileExists(t, filepath.Join(dir, "m.2.bin"))
	// Each segment is a self-contained file: its clock starts at 0 and
	// every id it uses is defined in it.
	for _, name := range bins {
		name = filepath.Base(name)
		defined := map[uint16]bool{}
		for _, r := range records(t, filepath.Join(dir, name)) {
			switch r.Code {
			case format.CodeFrameDef:
				defined[r.ID] = true
			case format.CodeTaskPending:
				for _, id := range r.Frames {
					assert.True(t, defined[id], "%s: frame %d used before its definition", name, id)
				}
			}
			if r.Code != format.CodeSpawnLocationDef && r.Code != format.CodeFrameDef && r.Code != format.CodeTaskSpawn {
				assert.LessOrEqual(t, r.TS, uint32(10000), "%s: %+v", name, r)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.trace")
	require.NoError(t, os.WriteFile(garbage, []byte("this is not a trace at all"), 0o644))
	full, err := os.ReadFile(trace("flightrec.trace"))
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.trace")
	require.NoError(t, os.WriteFile(cut, full[:len(full)-100], 0o644))
	v9cut := filepath.Join(dir, "cut.bin")
	require.NoError(t, os.WriteFile(v9cut, []byte(format.Magic+"\x09\x00\x00\x00\x07\x01\x02"), 0o644))
	badJSONL := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(badJSONL, []byte("{\"event\":\"PollEnd\",\"timestamp_ns\":1000,\"worker\":1}\n{\"event\":\"Nope\"}\n"), 0o644))

	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"no args", nil, 2, "usage: convert"},
		{"two args", []string{"a", "b"}, 2, "usage: convert"},
		{"bad flag", []string{"-nope", "x"}, 2, "flag provided but not defined"},
		{"bad threshold", []string{"-threshold", "-1ms", "x"}, 2, "-threshold must be positive"},
		{"missing file", []string{filepath.Join(dir, "missing.trace")}, 1, "missing.trace: no such file"},
		{"not a trace", []string{"-o", filepath.Join(dir, "g.bin"), garbage}, 1, "garbage.trace: not a Go execution trace"},
		{"truncated trace", []string{"-o", filepath.Join(dir, "cut.bin.out"), cut}, 1, "cut.trace: bad execution trace at byte 49402: failed to read full batch"},
		{"truncated trace, x/exp", []string{"-parser", "exp", "-o", filepath.Join(dir, "cut.exp.bin"), cut}, 1, "cut.trace: bad execution trace at or before byte"},
		{"bad parser", []string{"-parser", "nope", "x"}, 2, "-parser \"nope\": want fast or exp"},
		{"truncated v9", []string{"-jsonl", filepath.Join(dir, "c.jsonl"), v9cut}, 1, "cut.bin: offset 12 (record WakeEvent, code 7): format: truncated record"},
		{"bad JSONL", []string{"-o", filepath.Join(dir, "b.bin"), badJSONL}, 1, "bad.jsonl: line 2"},
		{"unwritable output", []string{"-o", filepath.Join(dir, "no", "such", "dir.bin"), trace("sleep.trace")}, 1, "dir.bin"},
		{"v9 to binary", []string{"-o", filepath.Join(dir, "x.bin"), v9cut}, 1, "converts only to JSONL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := convertCLI(t, nil, tt.args...)
			assert.Equal(t, tt.code, code, stderr)
			assert.Contains(t, stderr, tt.want)
		})
	}

	// What came before the damage is kept and decodes.
	recs := records(t, filepath.Join(dir, "cut.bin.out"))
	assert.NotEmpty(t, recs, "records of the complete generations")
}

func TestNoJunkOutputs(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.trace")
	require.NoError(t, os.WriteFile(bad, []byte("go 1.99 trace\x00\x00\x00rest"), 0o644))
	code, stderr := convertCLI(t, nil, bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "bad.trace: bad execution trace at or before byte")
	assert.Contains(t, stderr, "unsupported trace version go 1.99")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no empty outputs left beside a rejected input")

	// An output that is the input is refused, and the input is intact.
	in := filepath.Join(dir, "m.trace")
	copyFile(t, trace("mutex.trace"), in)
	code, stderr = convertCLI(t, nil, "-o", in, in)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "would overwrite the input")
	got, _ := os.ReadFile(in)
	want, _ := os.ReadFile(trace("mutex.trace"))
	assert.Equal(t, want, got)
}

// -codes 0-7 writes a file that a reader stopping at the first code above
// 7 (dial9's v9-era viewer) reads to the end.
func TestCodes(t *testing.T) {
	dir := t.TempDir()
	all, only := filepath.Join(dir, "all.bin"), filepath.Join(dir, "only.bin")
	code, stderr := convertCLI(t, nil, "-o", all, trace("preblocked.trace"))
	require.Equal(t, 0, code, stderr)
	code, stderr = convertCLI(t, nil, "-o", only, "-codes", "0-7", trace("preblocked.trace"))
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `, \d+ left out by -codes`, stderr)
	var want []format.Record
	for _, r := range records(t, all) {
		if r.Code <= 7 {
			want = append(want, r)
		}
	}
	got := records(t, only)
	assert.Equal(t, want, got)
	for _, r := range got {
		assert.LessOrEqual(t, uint8(r.Code), uint8(7))
	}
	// A list with ranges, from a v9 file too.
	js := filepath.Join(dir, "w.jsonl")
	code, stderr = convertCLI(t, nil, "-jsonl", js, "-codes", "7, 5-6", all)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(js)
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		assert.Regexp(t, `^\{"event":"(WakeEvent|SpawnLocationDef|TaskSpawn)"`, l)
	}
	for _, tc := range []struct{ codes, want string }{
		{"0-10", "codes are 0 to 9"},
		{"x", `"x" is not a code`},
		{"3-1", "codes are 0 to 9"},
		{"9", "TaskPending (9) refers to FrameDef (8)"},
		{"0", "refer to SpawnLocationDef (5)"},
	} {
		code, stderr := convertCLI(t, nil, "-o", filepath.Join(dir, "x.bin"), "-codes", tc.codes, all)
		assert.Equal(t, 2, code, tc.codes)
		assert.Contains(t, stderr, tc.want)
	}
}

// A corrupt trace that makes x/exp's parser dump its internal state (the
// "failed to advance" error and a hundred lines of goroutine states) is
// reported on one line by either parser; -v adds the parser's details.
func TestOneLineErrors(t *testing.T) {
	full, err := os.ReadFile(trace("flightrec.trace"))
	require.NoError(t, err)
	dir := t.TempDir()
	bad := filepath.Join(dir, "flipped.trace")
	// Find a one-byte flip that x/exp rejects with a many-line message.
	found := false
	for p := len(full) / 2; p < len(full) && !found; p++ {
		in := bytes.Clone(full)
		in[p] ^= 0x01
		_, err := convert.Convert(bytes.NewReader(in), convert.Config{Parser: convert.ParserExp}, discard{}, nil)
		var te *convert.TraceError
		if errors.As(err, &te) && strings.Count(te.Detail(), "\n") > 10 {
			require.NoError(t, os.WriteFile(bad, in, 0o644))
			found = true
		}
	}
	require.True(t, found, "no flip of one byte gives a long x/exp error")
	for _, parser := range []string{"exp", "fast"} {
		code, stderr := convertCLI(t, nil, "-q", "-parser", parser, "-o", filepath.Join(dir, parser+".bin"), bad)
		assert.Equal(t, 1, code, stderr)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line with -parser %s: %s", parser, stderr)
		assert.Regexp(t, `flipped.trace: bad execution trace at (or before )?byte \d+: `, stderr)
	}
	code, stderr := convertCLI(t, nil, "-q", "-v", "-parser", "exp", "-o", filepath.Join(dir, "v.bin"), bad)
	assert.Equal(t, 1, code)
	assert.Greater(t, strings.Count(stderr, "\n"), 10, "-v gives the parser's details")
}

type discard struct{}

func (discard) WriteRecord(*format.Record) error { return nil }
func (discard) NextSegment() error               { return nil }

func (discard) Close() error { return nil }
