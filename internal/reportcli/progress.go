package reportcli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress draws a bar on stderr when it is a terminal and the inputs are
// large enough for the wait to be noticed.
type progress struct {
	w     io.Writer
	size  int64
	show  bool
	last  time.Time
	drawn bool
	now   func() time.Time
}

func newProgress(w io.Writer, size int64) *progress {
	p := &progress{w: w, size: size, now: time.Now}
	if f, ok := w.(*os.File); ok && size > 16<<20 && term.IsTerminal(int(f.Fd())) {
		p.show = true
	}
	return p
}

func (p *progress) update(read int64) {
	if !p.show || p.now().Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = p.now()
	const width = 40
	frac := min(float64(read)/float64(max(p.size, 1)), 1)
	fill := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %s", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100, sizeString(read))
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
