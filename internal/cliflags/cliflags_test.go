package cliflags

import (
	"bytes"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		ok   bool
	}{
		{[]string{"-n", "3", "x"}, 0, true},
		{[]string{"-h"}, 0, false},
		{[]string{"-bogus"}, 2, false},
	} {
		var out bytes.Buffer
		fs := flag.NewFlagSet("cmd", flag.ContinueOnError)
		fs.SetOutput(&out)
		n := fs.Int("n", 1, "a number")
		code, ok := Parse(fs, "usage: cmd [flags] X\n", tc.args)
		assert.Equal(t, tc.code, code, "%v", tc.args)
		assert.Equal(t, tc.ok, ok, "%v", tc.args)
		if ok {
			assert.Equal(t, 3, *n)
			assert.Equal(t, []string{"x"}, fs.Args())
		} else {
			assert.Contains(t, out.String(), "usage: cmd [flags] X\n")
			assert.Contains(t, out.String(), "a number")
		}
	}
}
