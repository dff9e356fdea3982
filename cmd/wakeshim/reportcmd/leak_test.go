package reportcmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/cmd/wakeshim/convertcmd"
)

func runConvert(t *testing.T, in, out string) (string, string, int) {
	t.Helper()
	var e bytes.Buffer
	code := convertcmd.Run("convert", []string{"-q", "-o", out, in}, bytes.NewReader(nil), &e)
	return "", e.String(), code
}

const leaks = "../../../testdata/leaks/out/"

// TestLeakProfileInput: `wakeshim report TRACE LEAKPROFILE` in each form
// the runtime writes; the leaked goroutines of the reproducer (moby#7559:
// three goroutines relocking their own mutex) are proven leaked.
func TestLeakProfileInput(t *testing.T) {
	for _, prof := range []string{"moby7559.leak.txt", "moby7559.leak.pb.gz"} {
		t.Run(prof, func(t *testing.T) {
			out, stderr, code := runCmd(t, "-q", "-json", "-", leaks+"moby7559.trace", leaks+prof)
			require.Equal(t, 0, code, stderr)
			var r struct {
				Verdicts []struct {
					Verdict, Severity, Name, Reason string
					Proof                           *struct{ File, MatchedBy string } `json:"proof"`
				}
				Summary struct {
					Leaked  int
					Profile struct{ Files []string } `json:"leak_profile"`
				} `json:"verdict_summary"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &r))
			assert.Equal(t, 3, r.Summary.Leaked)
			assert.Equal(t, []string{leaks + prof}, r.Summary.Profile.Files)
			for _, v := range r.Verdicts {
				require.Equal(t, "leaked", v.Verdict, "%+v", v)
				assert.Equal(t, "warning", v.Severity)
				assert.Equal(t, "sync.Mutex.Lock", v.Reason)
				assert.Contains(t, v.Name, "main.(*udpProxy7559).Run created at moby.go:")
				require.NotNil(t, v.Proof)
				assert.Equal(t, leaks+prof, v.Proof.File)
			}
			text, _, code := runCmd(t, "-q", leaks+"moby7559.trace", leaks+prof)
			require.Equal(t, 0, code)
			assert.Contains(t, text, "STILL BLOCKED AT THE END (3 goroutine(s): 3 leaked")
			assert.Contains(t, text, "warning leaked ")
		})
	}
}

// TestLeakProfileDirectory: profiles beside the records in a directory
// are read with them.
func TestLeakProfileDirectory(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := runConvert(t, leaks+"grpc795.trace", filepath.Join(dir, "app.bin"))
	require.Equal(t, 0, code, "%s %s", out, stderr)
	data, err := os.ReadFile(leaks + "grpc795.leak.txt")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.goroutineleak.txt"), data, 0o644))
	text, stderr, code := runCmd(t, "-q", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, text, "2 leaked")
	assert.Contains(t, text, "app.goroutineleak.txt")
}

// TestLeakProfileBad: a plain goroutine profile is not proof; a profile
// alone is not a report.
func TestLeakProfileBad(t *testing.T) {
	_, stderr, code := runCmd(t, "-q", trace("preblocked.trace"), trace("preblocked.goroutines.txt"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "preblocked.goroutines.txt: a goroutine profile (debug=1 text), not a goroutineleak profile")
	_, stderr, code = runCmd(t, "-q", leaks+"moby7559.leak.txt")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no records or trace among the inputs")
}
