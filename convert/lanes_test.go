package convert

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/tracewire"
)

// TestConverterLanes: the converter's fast lanes (the decoder's Sink,
// goHot, Hot records batched and written through a BinaryOutput's
// Writer, or through a format.HotWriter, into a bufio.Writer) and its
// general paths (goTransition, Records given to WriteRecord of a Writer
// on a plain io.Writer) give byte-identical output on every trace we have
// (testdata, the real server's capture, the busy trace when present and
// not under -race), with either parser and the configurations of the
// differential tests. The differential tests cannot see a difference between the two
// lanes: they run both parsers through the same converter.
func TestConverterLanes(t *testing.T) {
	defer func() { hotLane = true }()
	const (
		general   = iota // goTransition, Records to WriteRecord, a Writer on a plain io.Writer
		hotWriter        // the converter's lanes, a format.HotWriter
		binary           // the converter's lanes, a BinaryOutput
	)
	convert := func(in []byte, cfg Config, lane int) []byte {
		hotLane = lane != general
		var buf bytes.Buffer
		var out Output
		bw := bufio.NewWriter(&buf)
		if lane != general {
			w, err := format.NewWriter(bw)
			if err != nil {
				t.Fatal(err)
			}
			out = hotSegments{w}
			if lane == hotWriter {
				out = hotOnly{w}
			}
		} else {
			w, err := format.NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			out = anySegments{w}
		}
		if _, err := Convert(bytes.NewReader(in), cfg, out, nil); err != nil {
			t.Fatalf("lane %d: %v", lane, err)
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, tr := range wholeTraces(t) {
		base, in := tr.base, tr.in
		for i, cfg := range diffConfigs {
			for _, parser := range []Parser{ParserFast, ParserExp} {
				if (base == "busy.trace" || strings.HasPrefix(base, "corpus/")) && (i > 0 || parser == ParserExp) {
					continue
				}
				cfg.Parser = parser
				t.Run(fmt.Sprintf("%s/%d/%s", base, i, parser), func(t *testing.T) {
					want := convert(in, cfg, general)
					for _, lane := range []int{hotWriter, binary} {
						got := convert(in, cfg, lane)
						if !bytes.Equal(got, want) {
							n := 0
							for n < min(len(got), len(want)) && got[n] == want[n] {
								n++
							}
							t.Fatalf("lane %d differs from the general path from byte %d (%d bytes, general path %d)", lane, n, len(got), len(want))
						}
					}
				})
			}
		}
	}
}

// TestAdvanceHorizon: advance's shortcut (nothing due up to horizon) gives
// the QueueSamples and segments of the full check, for events at, just
// before and just after each sample tick and segment end, and after a Gap.
func TestAdvanceHorizon(t *testing.T) {
	const iv, seg = 1000, 10_000
	var times []exptrace.Time
	for k := exptrace.Time(0); k < 30; k++ {
		for _, d := range []exptrace.Time{-1, 0, 1} {
			times = append(times, 5+k*iv+d, 5+k*seg+d)
		}
	}
	slices.Sort(times)
	times = slices.Compact(times)
	run := func(cfg Config, shortcut bool) [][]format.Record {
		out := newCapture(t)
		c, err := New(cfg, out)
		require.NoError(t, err)
		for i, tm := range times {
			if !shortcut {
				c.horizon = math.MinInt64
			}
			// Goroutine 1 runs and stops by turns: each event writes a
			// record, in the segment it falls in, at its time there.
			ev := tracewire.Event{Time: tm, Kind: tracewire.KindGo, G: 1, CurG: exptrace.NoGoroutine, CurP: 0,
				From: uint8(exptrace.GoRunnable), To: uint8(exptrace.GoRunning)}
			switch {
			case i == 0:
				ev.From, ev.To = uint8(exptrace.GoNotExist), uint8(exptrace.GoRunnable)
			case i%2 == 0:
				ev.From, ev.To, ev.CurG = uint8(exptrace.GoRunning), uint8(exptrace.GoRunnable), 1
			}
			require.NoError(t, c.consume(&ev))
			if i == len(times)/2 {
				c.gap(tm + 2*iv + 7) // (goroutine 1 is forgotten: it is restated)
			}
		}
		require.NoError(t, c.Close())
		return out.segs
	}
	for _, cfg := range []Config{
		{SampleInterval: iv, SegmentDuration: seg},
		{SampleInterval: -1, SegmentDuration: seg}, // (segments alone)
		{SampleInterval: iv},
	} {
		with, without := run(cfg, true), run(cfg, false)
		require.Equal(t, without, with, "%+v", cfg)
		if cfg.SegmentDuration == seg {
			require.Greater(t, len(with), 20, "segments")
		}
	}
}

// failAfter is an io.Writer that fails once it has taken n bytes.
type failAfter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

// namedSegments is a BinaryOutput that names its file in errors, as the
// convert command's does.
type namedSegments struct{ *format.Writer }

func (namedSegments) NextSegment() error { return nil }

func (n namedSegments) BinaryWriter() *format.Writer { return n.Writer }

func (n namedSegments) WriteRecord(r *format.Record) error {
	if err := n.Writer.WriteRecord(r); err != nil {
		return fmt.Errorf("writing out.bin: %w", err)
	}
	return nil
}

// TestBinaryOutputError: a write error in the middle of the records the
// converter writes to a BinaryOutput's Writer directly is returned as the
// Output reports it, and sticks.
func TestBinaryOutputError(t *testing.T) {
	in, err := os.ReadFile(traceFile("flightrec.trace")) // (97 KB of records)
	require.NoError(t, err)
	for _, after := range []int{100, 1000, 50_000} {
		w, err := format.NewWriter(bufio.NewWriterSize(&failAfter{n: after}, 64))
		require.NoError(t, err)
		_, err = Convert(bytes.NewReader(in), Config{}, namedSegments{w}, nil)
		require.ErrorIs(t, err, errDiskFull)
		require.EqualError(t, err, "writing out.bin: disk full")
	}
}

// TestTakeLimit: Take refuses events after SetTakeLimit's time (and the
// refused event is left for Consume, having changed nothing), takes them
// again once the limit is lifted.
func TestTakeLimit(t *testing.T) {
	out := newCapture(t)
	c, err := New(Config{}, out)
	require.NoError(t, err)
	ev := func(tm exptrace.Time) *tracewire.Event {
		return &tracewire.Event{Time: tm, Kind: tracewire.KindOther}
	}
	require.True(t, c.Take(ev(100)))
	c.setTakeLimit(200)
	require.True(t, c.Take(ev(200)))
	require.False(t, c.Take(ev(201)))
	require.EqualValues(t, 2, c.events())
	require.NoError(t, c.consume(ev(201)))
	c.setTakeLimit(math.MaxInt64)
	require.True(t, c.Take(ev(300)))
	require.EqualValues(t, 4, c.events())
	require.EqualValues(t, 300, c.lastTime())
}

// panicHot is a HotWriter that panics on its n-th Hot record: a bug of
// the converter's side, reached from the decoder's sink.
type panicHot struct {
	*format.Writer
	n int
}

func (p *panicHot) WriteHot(h format.Hot) error {
	if p.n--; p.n == 0 {
		panic("output bug")
	}
	return p.Writer.WriteHot(h)
}

func (*panicHot) NextSegment() error { return nil }

// TestSinkPanic: a panic of the converter's side while it takes events
// from the decoder (Take) is reported as the converter's, not as bad
// input, and the half-way converter is not closed (no records after it).
func TestSinkPanic(t *testing.T) {
	in, err := os.ReadFile(traceFile("flightrec.trace"))
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := format.NewWriter(&buf)
	require.NoError(t, err)
	out := &panicHot{Writer: w, n: 500}
	_, err = Convert(bytes.NewReader(in), Config{}, out, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "converter panicked: output bug")
}

// switchingSegments is a BinaryOutput that writes each segment to a new
// Writer (as the convert command's files do), or, as plain, an Output of
// Records alone; bytes is every segment's, one after the other.
type switchingSegments struct {
	plain bool
	segs  []*bytes.Buffer
	bws   []*bufio.Writer
	w     *format.Writer
}

func (s *switchingSegments) NextSegment() error {
	var buf bytes.Buffer
	s.segs = append(s.segs, &buf)
	var out io.Writer = &buf
	if !s.plain {
		bw := bufio.NewWriterSize(&buf, 256)
		s.bws = append(s.bws, bw)
		out = bw
	}
	w, err := format.NewWriter(out)
	s.w = w
	return err
}

func (s *switchingSegments) WriteRecord(r *format.Record) error { return s.w.WriteRecord(r) }
func (s *switchingSegments) Close() error                       { return nil }

func (s *switchingSegments) bytes(t *testing.T) []byte {
	var all []byte
	for i, b := range s.segs {
		if !s.plain {
			require.NoError(t, s.bws[i].Flush())
		}
		all = append(all, b.Bytes()...)
	}
	return all
}

type binarySwitching struct{ *switchingSegments }

func (b binarySwitching) BinaryWriter() *format.Writer { return b.w }

// TestBinaryOutputSegments: with many segments, each written to a Writer
// of its own, the converter writes the Hot records of each to that
// segment's Writer (it asks for it again after each NextSegment): the
// same bytes as the general path's, segment by segment.
func TestBinaryOutputSegments(t *testing.T) {
	in, err := os.ReadFile(traceFile("flightrec.trace"))
	require.NoError(t, err)
	cfg := Config{SegmentDuration: 2 * time.Millisecond}
	defer func() { hotLane = true }()
	hotLane = false
	plain := &switchingSegments{plain: true}
	require.NoError(t, plain.NextSegment())
	_, err = Convert(bytes.NewReader(in), cfg, plain, nil)
	require.NoError(t, err)
	hotLane = true
	fast := &switchingSegments{}
	require.NoError(t, fast.NextSegment())
	_, err = Convert(bytes.NewReader(in), cfg, binarySwitching{fast}, nil)
	require.NoError(t, err)
	require.Greater(t, len(fast.segs), 5, "segments")
	require.Equal(t, len(plain.segs), len(fast.segs))
	require.Equal(t, plain.bytes(t), fast.bytes(t))
}

// TestFileInput: a trace given as a regular file, from its start, is read
// by the file decoder (tracewire.NewFileDecoder), which reads each M's
// batches from the file as they are needed; the records, the stats and,
// for a file cut short, the error are those of the same bytes given as a
// stream. A file not at its start, or not a regular file, is read as a
// stream.
func TestFileInput(t *testing.T) {
	convert := func(r io.Reader) ([]byte, Stats, error) {
		var buf bytes.Buffer
		w, err := format.NewWriter(&buf)
		require.NoError(t, err)
		st, err := Convert(r, Config{}, hotSegments{w}, nil)
		return buf.Bytes(), st, err
	}
	dir := t.TempDir()
	for _, tr := range wholeTraces(t) {
		for _, cut := range []int{len(tr.in), len(tr.in) * 2 / 3, len(tr.in)/3 + 7} {
			t.Run(fmt.Sprintf("%s/%d", tr.base, cut), func(t *testing.T) {
				in := tr.in[:cut]
				name := filepath.Join(dir, strings.ReplaceAll(tr.base, "/", "-"))
				require.NoError(t, os.WriteFile(name, in, 0o644))
				f, err := os.Open(name)
				require.NoError(t, err)
				defer f.Close()
				require.NotNil(t, fileDecoder(f), "a regular file at its start is read as a file")

				want, wantSt, wantErr := convert(bytes.NewReader(in))
				got, gotSt, gotErr := convert(f)
				// The file decoder reads at offsets (ReadAt), and leaves the
				// file where it was; read as a stream, it would be at its end.
				pos, err := f.Seek(0, io.SeekCurrent)
				require.NoError(t, err)
				require.Zero(t, pos, "the file was read as a stream")
				require.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(gotErr))
				require.Equal(t, wantSt, gotSt)
				require.True(t, bytes.Equal(want, got), "records differ")
				if cut < len(tr.in) {
					require.Error(t, gotErr, "a trace cut short")
				}
			})
		}
	}
	t.Run("not at its start", func(t *testing.T) {
		in, err := os.ReadFile(traceFile("mutex.trace"))
		require.NoError(t, err)
		name := filepath.Join(dir, "offset.trace")
		require.NoError(t, os.WriteFile(name, append([]byte("junk"), in...), 0o644))
		f, err := os.Open(name)
		require.NoError(t, err)
		defer f.Close()
		_, err = f.Seek(4, io.SeekStart)
		require.NoError(t, err)
		require.Nil(t, fileDecoder(f))
		pos, err := f.Seek(0, io.SeekCurrent)
		require.NoError(t, err)
		require.Equal(t, int64(4), pos, "left where it was")
		want, _, err := convert(bytes.NewReader(in))
		require.NoError(t, err)
		got, _, err := convert(f)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got))
	})
	t.Run("pipe", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		require.NoError(t, err)
		defer pr.Close()
		defer pw.Close()
		require.Nil(t, fileDecoder(pr))
	})
}
