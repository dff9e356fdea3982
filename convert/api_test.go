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
