package convert_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
)

// endLog is an EndOutput that checks the ends against the records: no
// record names a goroutine after its end, and each ends once.
type endLog struct {
	t      *testing.T
	named  map[uint32]bool // named by a record
	ended  map[uint32]bool
	lastTS uint32
	after  int // records naming an ended goroutine
	ends   int
}

func (l *endLog) WriteRecord(r *format.Record) error {
	switch r.Code {
	case format.CodePollStart, format.CodeTaskSpawn, format.CodeTaskPending:
		l.note(r.Task)
	case format.CodeWakeEvent:
		l.note(r.Task)
		l.note(r.Waker)
	}
	if r.Code.Spec().Fields[0].Slot == format.SlotTS {
		l.lastTS = max(l.lastTS, r.TS)
	}
	return nil
}

func (l *endLog) note(task uint32) {
	if l.ended[task] {
		l.after++
	}
	l.named[task] = true
}

func (l *endLog) WriteEnd(task, ts uint32) error {
	assert.False(l.t, l.ended[task], "g%d ended twice", task)
	assert.GreaterOrEqual(l.t, ts+1, l.lastTS, "g%d's end at %dµs before the records before it", task, ts)
	l.ended[task] = true
	l.ends++
	return nil
}

func (l *endLog) NextSegment() error { return nil }
func (l *endLog) Close() error       { return nil }

// TestEndOutput: an EndOutput is told the goroutines' ends, after their
// last records: none names an ended goroutine.
func TestEndOutput(t *testing.T) {
	for _, name := range []string{"pingpong.trace", "mutex.trace", "chains-fanout.trace"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("..", "testdata", "traces", name))
			require.NoError(t, err)
			defer f.Close()
			l := &endLog{t: t, named: map[uint32]bool{}, ended: map[uint32]bool{}}
			_, err = convert.Convert(f, convert.Config{}, l, nil)
			require.NoError(t, err)
			assert.Positive(t, l.ends, "ends given")
			assert.Zero(t, l.after, "records naming an ended goroutine")
		})
	}
}
