package textwidth

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestTable(t *testing.T) {
	long := strings.Repeat("w", 80)
	rows := [][]string{{"1", "short", long, strings.Repeat("s", 60)}, {"22", "x", "y", "z"}}
	var b bytes.Buffer
	Table(&b, 60, "  ", []string{"#", "A", "WAKERS", "STACK"}, rows, []string{"sub " + long, "sub2"}, 2, 3)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	assert.Len(t, lines, 5)
	for _, l := range lines {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), 60, l)
	}
	t.Logf("\n%s", b.String())
	assert.True(t, strings.HasPrefix(lines[0], "  #   A      WAKERS"), lines[0])
	assert.Contains(t, lines[0], "STACK")
	assert.Contains(t, lines[1], "…")
	assert.True(t, strings.HasPrefix(lines[2], "      sub www"), lines[2])
	assert.Equal(t, "      sub2", lines[4])

	b.Reset()
	Table(&b, 0, "", []string{"A", "B"}, [][]string{{long, "b"}}, nil, 0, 1)
	assert.Equal(t, "A"+strings.Repeat(" ", 81)+"B\n"+long+"  b\n", b.String(), "width 0: nothing cut")
}

func TestWrap(t *testing.T) {
	in := "match:   by function, innermost 32 frames, runtime-internal top frames dropped\nshort\n"
	out := Wrap(in, 40, "         ")
	assert.Equal(t, "match:   by function, innermost 32\n         frames, runtime-internal top\n         frames dropped\nshort\n", out)
	assert.Equal(t, in, Wrap(in, 0, "  "))
	word := strings.Repeat("x", 50)
	assert.Equal(t, word, Wrap(word, 40, " "), "a word longer than the width stays whole")
}

func TestClip(t *testing.T) {
	assert.Equal(t, "abc", Clip("abc", 3))
	assert.Equal(t, "a…", Clip("abc", 2))
	assert.Equal(t, "×…", Clip("×××", 2))
}
