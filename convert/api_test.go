package convert_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
)

// oneFile is an Output of one segment, into a v9 writer.
type oneFile struct{ *format.Writer }

func (oneFile) NextSegment() error { return errors.New("unexpected new segment") }

func TestConvertAndConverterAgree(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "traces", "mutex.trace"))
	require.NoError(t, err)
	cfg := convert.Config{Ignore: convert.SystemGoroutine}

	// The whole trace through Convert.
	var a bytes.Buffer
	wa, err := format.NewWriter(&a)
	require.NoError(t, err)
	st, err := convert.Convert(bytes.NewReader(data), cfg, oneFile{wa}, nil)
	require.NoError(t, err)
	assert.Positive(t, st.Pending())
	assert.Positive(t, st.Wakes())

	// Event by event through a Converter.
	var b bytes.Buffer
	wb, err := format.NewWriter(&b)
	require.NoError(t, err)
	c, err := convert.New(cfg, oneFile{wb})
	require.NoError(t, err)
	r, err := exptrace.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.NoError(t, c.Event(&ev))
	}
	require.NoError(t, c.Close())
	assert.ErrorIs(t, c.Close(), convert.ErrClosed)
	assert.Equal(t, st.Records, c.Stats().Records)
	assert.Equal(t, a.Bytes(), b.Bytes(), "the same records, byte for byte")
}

func TestConvertBadInput(t *testing.T) {
	_, err := convert.Convert(bytes.NewReader([]byte("not a trace at all")), convert.Config{}, oneFile{}, nil)
	require.Error(t, err)
	assert.True(t, convert.IsTraceError(err), "%v", err)
	_, err = convert.New(convert.Config{Threshold: -1}, oneFile{})
	assert.Error(t, err)
}

// pauseFile is oneFile that also takes the pauses, each with the count of
// records written before it.
type pauseFile struct {
	oneFile
	n      *int
	pauses *[]pauseAt
}

type pauseAt struct {
	p       format.Pause
	records int
}

func (o pauseFile) WriteRecord(r *format.Record) error {
	*o.n++
	return o.oneFile.WriteRecord(r)
}

func (o pauseFile) WritePause(p *format.Pause) error {
	*o.pauses = append(*o.pauses, pauseAt{*p, *o.n})
	return nil
}

// TestPauses: an Output that is a PauseOutput is given the trace's
// stop-the-world pauses, the same by both parsers, in the same places
// among the records; the records themselves are those of an Output that
// takes none.
func TestPauses(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "shapes", "alloc.trace"))
	require.NoError(t, err)
	run := func(p convert.Parser, takes bool) ([]pauseAt, []byte, convert.Stats) {
		var buf bytes.Buffer
		w, err := format.NewWriter(&buf)
		require.NoError(t, err)
		var out convert.Output = oneFile{w}
		var ps []pauseAt
		n := 0
		if takes {
			out = pauseFile{oneFile{w}, &n, &ps}
		}
		st, err := convert.Convert(bytes.NewReader(data), convert.Config{Parser: p}, out, nil)
		require.NoError(t, err)
		return ps, buf.Bytes(), st
	}
	fast, fastRecs, st := run(convert.ParserFast, true)
	exp, expRecs, _ := run(convert.ParserExp, true)
	_, plain, pst := run(convert.ParserFast, false)
	require.NotEmpty(t, fast)
	assert.Equal(t, int64(len(fast)), st.Pauses)
	assert.Zero(t, pst.Pauses)
	assert.Equal(t, fast, exp)
	assert.Equal(t, fastRecs, expRecs)
	assert.Equal(t, plain, fastRecs, "the pauses change no record")
	for i, p := range fast {
		assert.NotEmpty(t, p.p.Reason, "pause %d", i)
		if i > 0 {
			assert.GreaterOrEqual(t, p.p.TS+p.p.Duration, fast[i-1].p.TS+fast[i-1].p.Duration, "pause %d ends before the one before it", i)
			assert.GreaterOrEqual(t, p.records, fast[i-1].records)
		}
	}
}
