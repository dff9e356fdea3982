// Package progress draws the progress bar of the long runs of wakeshim's
// commands, on stderr when it is a terminal, and renders byte counts for
// their summary lines.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// MinSize is the smallest input worth a bar: below it the wait is not
// noticed.
const MinSize = 16 << 20

// Bar is a progress bar of size bytes of work, drawn on w at most every
// 100ms, only when w is a terminal and size is at least MinSize.
type Bar struct {
	w     io.Writer
	size  int64
	show  bool
	last  time.Time
	drawn bool
	now   func() time.Time
}

// New returns a bar for size bytes of work drawn on w.
func New(w io.Writer, size int64) *Bar {
	b := &Bar{w: w, size: size, now: time.Now}
	if f, ok := w.(*os.File); ok && size >= MinSize && term.IsTerminal(int(f.Fd())) {
		b.show = true
	}
	return b
}

// Shown reports whether the bar is drawn at all.
func (b *Bar) Shown() bool { return b.show }

// Update draws the bar for read bytes done.
func (b *Bar) Update(read int64) {
	if !b.show || b.now().Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = b.now()
	const width = 40
	frac := min(float64(read)/float64(max(b.size, 1)), 1)
	fill := int(frac * width)
	fmt.Fprintf(b.w, "\r[%s%s] %3.0f%% %s", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100, Size(read))
	b.drawn = true
}

// Done erases the bar, leaving the line to the summary.
func (b *Bar) Done() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
}

// Size renders a byte count: "512 B", "3.6 KB", "40.0 MB", "1.2 GB"
// (powers of 1024).
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
