package bytesize

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "512B": 512, "64KB": 64 << 10, "64kib": 64 << 10, "16 MiB": 16 << 20, "1G": 1 << 30, "2TB": 2 << 40} {
		got, err := Parse(in)
		assert.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "MB", "0", "0KB", "12XB", "-5", "99999999999999999999", "9000000000000000000G"} {
		_, err := Parse(bad)
		assert.Error(t, err, bad)
	}
}
