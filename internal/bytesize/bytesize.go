// Package bytesize parses the byte counts wakeshim's settings take
// (WAKESHIM's maxfile and maxtotal, attach's -maxfile and -maxtotal), so
// that every place reads "64MB" the same way.
package bytesize

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse parses a positive byte count: digits, then an optional unit. B is
// bytes; K, KB, KiB, M, MB, MiB, G, GB, GiB, T, TB, TiB are powers of 1024
// (any case).
func Parse(s string) (int64, error) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q", s)
	}
	var shift uint
	switch strings.ToUpper(strings.TrimSpace(s[i:])) {
	case "", "B":
	case "K", "KB", "KIB":
		shift = 10
	case "M", "MB", "MIB":
		shift = 20
	case "G", "GB", "GIB":
		shift = 30
	case "T", "TB", "TIB":
		shift = 40
	default:
		return 0, fmt.Errorf("bad size unit in %q", s)
	}
	if n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("size %q too large", s)
	}
	if n == 0 {
		return 0, fmt.Errorf("size %q must be positive", s)
	}
	return n << shift, nil
}
