package format

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// countWriter counts Write calls and fails from call number failAt on.
type countWriter struct {
	bytes.Buffer
	writes []int // size of each Write
	failAt int   // 1-based; 0 never fails
	short  bool  // fail by writing one byte less, with no error
}

var errBoom = errors.New("boom")

func (w *countWriter) Write(p []byte) (int, error) {
	w.writes = append(w.writes, len(p))
	if w.failAt > 0 && len(w.writes) >= w.failAt {
		if w.short {
			w.Buffer.Write(p[:len(p)-1])
			return len(p) - 1, nil
		}
		return 0, errBoom
	}
	return w.Buffer.Write(p)
}

// newWriters makes both writer kinds over w, for tests that hold for both.
var writerKinds = []struct {
	name   string
	header int
	make   func(w io.Writer) (RecordWriter, error)
}{
	{"binary", 1, func(w io.Writer) (RecordWriter, error) { return NewWriter(w) }},
	{"jsonl", 0, func(w io.Writer) (RecordWriter, error) { return NewJSONLWriter(w), nil }},
}

// TestWriterOneWritePerRecord: each record reaches the underlying writer in
// exactly one Write (plus one for the binary header).
func TestWriterOneWritePerRecord(t *testing.T) {
	recs := goldenRecords()
	for _, k := range writerKinds {
		t.Run(k.name, func(t *testing.T) {
			var cw countWriter
			w, err := k.make(&cw)
			if err != nil {
				t.Fatal(err)
			}
			for i := range recs {
				if err := w.WriteRecord(&recs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if len(cw.writes) != k.header+len(recs) {
				t.Fatalf("%d writes for %d records", len(cw.writes), len(recs))
			}
			if k.name == "binary" {
				if cw.writes[0] != HeaderSize {
					t.Errorf("header write of %d bytes", cw.writes[0])
				}
				for i := range recs {
					if cw.writes[i+1] != recs[i].Size() {
						t.Errorf("record %d: wrote %d bytes, Size() %d", i, cw.writes[i+1], recs[i].Size())
					}
				}
				if w.(*Writer).Offset() != int64(cw.Len()) {
					t.Errorf("Offset() %d, wrote %d", w.(*Writer).Offset(), cw.Len())
				}
			} else {
				lines := strings.SplitAfter(cw.String(), "\n")
				for i := range recs {
					if cw.writes[i] != len(lines[i]) {
						t.Errorf("record %d: write of %d bytes for a line of %d", i, cw.writes[i], len(lines[i]))
					}
				}
				if w.(*JSONLWriter).Offset() != int64(cw.Len()) {
					t.Errorf("Offset() %d, wrote %d", w.(*JSONLWriter).Offset(), cw.Len())
				}
			}
		})
	}
}

func TestWriterStickyError(t *testing.T) {
	rec := Record{Code: CodePollEnd, TS: 1, Worker: 2}
	for _, k := range writerKinds {
		for _, short := range []bool{false, true} {
			want := errBoom
			if short {
				want = io.ErrShortWrite
			}
			t.Run(k.name+"/"+want.Error(), func(t *testing.T) {
				cw := countWriter{failAt: k.header + 2, short: short}
				w, err := k.make(&cw)
				if err != nil {
					t.Fatal(err)
				}
				if err := w.WriteRecord(&rec); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 3; i++ {
					if err := w.WriteRecord(&rec); err != want {
						t.Fatalf("write %d: %v, want %v", i, err, want)
					}
				}
				if n := len(cw.writes); n != k.header+2 {
					t.Errorf("%d writes: the writer kept writing after an error", n)
				}
				if err := w.Close(); err != want {
					t.Errorf("Close: %v, want %v", err, want)
				}
			})
		}
	}
	t.Run("header", func(t *testing.T) {
		if w, err := NewWriter(&countWriter{failAt: 1}); err != errBoom || w != nil {
			t.Errorf("NewWriter on a failing writer: %v, %v", w, err)
		}
	})
}

func TestWriteAfterClose(t *testing.T) {
	rec := Record{Code: CodePollEnd, TS: 1, Worker: 2}
	for _, k := range writerKinds {
		t.Run(k.name, func(t *testing.T) {
			var cw countWriter
			w, _ := k.make(&cw)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteRecord(&rec); err != ErrWriteAfterClose {
				t.Errorf("got %v, want ErrWriteAfterClose", err)
			}
			if len(cw.writes) != k.header {
				t.Errorf("%d writes after Close", len(cw.writes)-k.header)
			}
		})
	}
}

// TestWriterBadRecord: a record that cannot be encoded is refused, and the
// writer goes on working (the error is not sticky).
func TestWriterBadRecord(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		err  error
	}{
		{"unknown code", Record{Code: 10}, ErrUnknownCode},
		{"spawn location id 0", Record{Code: CodeSpawnLocationDef, Str: "x"}, ErrReservedID},
		{"frame id 0", Record{Code: CodeFrameDef, Str: "x"}, ErrReservedID},
	}
	for _, k := range writerKinds {
		for _, tt := range tests {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				var cw countWriter
				w, _ := k.make(&cw)
				fe := asFormatError(t, w.WriteRecord(&tt.rec), tt.err)
				if !fe.HasCode || fe.Code != tt.rec.Code {
					t.Errorf("error code %d/%v", fe.Code, fe.HasCode)
				}
				ok := Record{Code: CodePollEnd}
				if err := w.WriteRecord(&ok); err != nil || len(cw.writes) != k.header+1 {
					t.Errorf("after a bad record: %v, %d writes", err, len(cw.writes))
				}
			})
		}
	}
}

// TestWriterClipping: the writers keep strings within MaxStringLen, cut on
// a UTF-8 boundary, replace invalid UTF-8, and keep the innermost MaxFrames
// frames. Both renderings normalise alike.
func TestWriterClipping(t *testing.T) {
	frames := make([]uint16, 300)
	for i := range frames {
		frames[i] = uint16(i + 1)
	}
	a := strings.Repeat("a", MaxStringLen-1)
	tests := []struct {
		name string
		in   Record
		want Record
	}{
		{"exact limit", Record{Code: CodeFrameDef, ID: 1, Str: a + "b"}, Record{Code: CodeFrameDef, ID: 1, Str: a + "b"}},
		{"cut ASCII", Record{Code: CodeFrameDef, ID: 1, Str: a + "bcd"}, Record{Code: CodeFrameDef, ID: 1, Str: a + "b"}},
		{"cut before 2-byte rune", Record{Code: CodeFrameDef, ID: 1, Str: a + "é"}, Record{Code: CodeFrameDef, ID: 1, Str: a}},
		{"cut before 4-byte rune", Record{Code: CodeSpawnLocationDef, ID: 1, Str: a[:MaxStringLen-2] + "🚀"}, Record{Code: CodeSpawnLocationDef, ID: 1, Str: a[:MaxStringLen-2]}},
		{"3-byte runes", Record{Code: CodeFrameDef, ID: 1, Str: strings.Repeat("世", 30000)}, Record{Code: CodeFrameDef, ID: 1, Str: strings.Repeat("世", MaxStringLen/3)}},
		{"invalid UTF-8", Record{Code: CodeFrameDef, ID: 1, Str: "a\xffb\xc3"}, Record{Code: CodeFrameDef, ID: 1, Str: "a\uFFFDb\uFFFD"}},
		{"300 frames", Record{Code: CodeTaskPending, Frames: frames}, Record{Code: CodeTaskPending, Frames: frames[:MaxFrames]}},
		{"255 frames", Record{Code: CodeTaskPending, Frames: frames[:255]}, Record{Code: CodeTaskPending, Frames: frames[:255]}},
		{"empty frames", Record{Code: CodeTaskPending, Frames: []uint16{}}, Record{Code: CodeTaskPending}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := encodeBinary(t, []Record{tt.in})
			if len(bin) != HeaderSize+tt.in.Size() {
				t.Errorf("encoded %d bytes, Size() says %d", len(bin)-HeaderSize, tt.in.Size())
			}
			diffRecords(t, mustDecodeBinary(t, bin), []Record{tt.want})
			js := encodeJSONL(t, []Record{tt.in})
			diffRecords(t, mustDecodeJSONL(t, js), []Record{tt.want})
			if want := encodeJSONL(t, []Record{tt.want}); !bytes.Equal(js, want) {
				t.Error("JSONL of the record differs from JSONL of its normalised form")
			}
		})
	}
}

func TestMultiWriter(t *testing.T) {
	var b1, b2 bytes.Buffer
	w1, _ := NewWriter(&b1)
	w2 := NewJSONLWriter(&b2)
	mw := MultiWriter(w1, w2)
	recs := goldenRecords()
	for i := range recs {
		if err := mw.WriteRecord(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), encodeBinary(t, recs)) || !bytes.Equal(b2.Bytes(), encodeJSONL(t, recs)) {
		t.Error("MultiWriter output differs from the writers'")
	}
	if err := mw.WriteRecord(&recs[0]); err != ErrWriteAfterClose {
		t.Errorf("after Close: %v", err)
	}
}

// TestWriterIntoBufio: over a bufio.Writer, records are encoded straight
// into its free space; the bytes must be those written through any other
// writer, whatever the buffer's size (records that do not fit the free
// space, buffers smaller than a record), and a failing writer's error
// still sticks.
func TestWriterIntoBufio(t *testing.T) {
	recs := goldenRecords()
	// write writes the golden records 50 times over to out.
	write := func(t *testing.T, out io.Writer) *Writer {
		w, err := NewWriter(out)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 50; i++ {
			for j := range recs {
				if err := w.WriteRecord(&recs[j]); err != nil {
					t.Fatal(err)
				}
			}
		}
		return w
	}
	var want bytes.Buffer
	write(t, &want)
	for _, size := range []int{16, 33, 64, 100, 4096} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var got bytes.Buffer
			bw := bufio.NewWriterSize(&got, size)
			w := write(t, bw)
			if err := bw.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%d bytes through a bufio.Writer of %d, want %d bytes", got.Len(), size, want.Len())
			}
			if w.Offset() != int64(want.Len()) {
				t.Errorf("Offset() %d, want %d", w.Offset(), want.Len())
			}
		})
	}
	t.Run("error", func(t *testing.T) {
		cw := &countWriter{failAt: 2}
		bw := bufio.NewWriterSize(cw, 64)
		w, err := NewWriter(bw)
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for i := 0; i < 100 && werr == nil; i++ {
			werr = w.WriteRecord(&recs[i%len(recs)])
		}
		if !errors.Is(werr, errBoom) {
			t.Fatalf("got %v, want %v", werr, errBoom)
		}
		if err := w.WriteRecord(&recs[0]); !errors.Is(err, errBoom) {
			t.Errorf("after the error: %v, want it again", err)
		}
	})
}

// TestWriteHot: WriteHot, and WriteHots for runs of them, write what
// WriteRecord writes for the Record the Hot stands for, for every code (the three it is for, and the others,
// which it passes on), through bufio.Writers of any size and plain
// writers, through MultiWriter too; it keeps WriteRecord's sticky errors
// and ErrWriteAfterClose.
func TestWriteHot(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var hots []Hot
	for range 2000 {
		code := Code(rng.IntN(int(NumCodes)))
		if rng.IntN(4) != 0 {
			code = [3]Code{CodePollStart, CodePollEnd, CodeWakeEvent}[rng.IntN(3)]
		}
		hots = append(hots, Hot{Code: code, Worker: uint8(rng.Uint32()), LocalQ: uint8(rng.Uint32()),
			SpawnLoc: uint16(rng.Uint32()), TS: rng.Uint32(), Task: rng.Uint32(), Waker: rng.Uint32()})
	}
	var want bytes.Buffer
	ww, err := NewWriter(&want)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hots {
		r := h.Record()
		ww.WriteRecord(&r) // (the codes that need an ID fail here and in WriteHot alike)
	}
	writeHots := func(t *testing.T, w HotWriter) {
		for _, h := range hots {
			r := h.Record()
			_, werr := AppendRecord(nil, &r)
			if err := w.WriteHot(h); (err != nil) != (werr != nil) {
				t.Fatalf("WriteHot(%+v): %v, AppendRecord: %v", h, err, werr)
			}
		}
	}
	// writeRuns writes hots with WriteHots, in runs of 1 to 40.
	writeRuns := func(t *testing.T, w *Writer) {
		for i := 0; i < len(hots); {
			n := min(1+rng.IntN(40), len(hots)-i)
			k, err := w.WriteHots(hots[i : i+n])
			if err != nil {
				k++ // (as WriteHot's: a record WriteRecord refuses, skipped)
			}
			i += k
		}
	}
	ways := []struct {
		name  string
		write func(*testing.T, *Writer)
	}{
		{"one", func(t *testing.T, w *Writer) { writeHots(t, w) }},
		{"runs", writeRuns},
	}
	for _, way := range ways {
		for _, size := range []int{0, 16, 20, 64, 4096} {
			t.Run(fmt.Sprintf("%s/%d", way.name, size), func(t *testing.T) {
				var got bytes.Buffer
				var out io.Writer = &got
				bw := bufio.NewWriterSize(&got, size)
				if size > 0 {
					out = bw
				}
				w, err := NewWriter(out)
				if err != nil {
					t.Fatal(err)
				}
				way.write(t, w)
				if err := bw.Flush(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Fatalf("%d bytes, want %d", got.Len(), want.Len())
				}
				if w.Offset() != int64(want.Len()) {
					t.Errorf("Offset() %d, want %d", w.Offset(), want.Len())
				}
			})
		}
	}
	t.Run("multi", func(t *testing.T) {
		var b1, b2 bytes.Buffer
		bw := bufio.NewWriterSize(&b1, 64)
		w1, _ := NewWriter(bw)
		mw := MultiWriter(w1, NewJSONLWriter(&b2)).(HotWriter)
		var wantJSONL bytes.Buffer
		jw := NewJSONLWriter(&wantJSONL)
		for _, h := range hots {
			r := h.Record()
			jw.WriteRecord(&r)
		}
		writeHots(t, mw)
		bw.Flush()
		if !bytes.Equal(b1.Bytes(), want.Bytes()) || !bytes.Equal(b2.Bytes(), wantJSONL.Bytes()) {
			t.Error("MultiWriter's WriteHot differs from WriteRecord")
		}
		if MultiWriter(w1) != RecordWriter(w1) {
			t.Error("MultiWriter of one writer is not that writer")
		}
		if HotOf(w1) != HotWriter(w1) {
			t.Error("HotOf of a HotWriter is not that writer")
		}
	})
	t.Run("error", func(t *testing.T) {
		cw := &countWriter{failAt: 2}
		w, err := NewWriter(bufio.NewWriterSize(cw, 64))
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for i := 0; i < 100 && werr == nil; i++ {
			werr = w.WriteHot(Hot{Code: CodeWakeEvent, TS: uint32(i)})
		}
		if werr == nil {
			t.Fatal("no error from a failing writer")
		}
		if err := w.WriteHot(Hot{Code: CodePollEnd}); err != werr {
			t.Errorf("after an error: %v, want the sticky %v", err, werr)
		}
		if n, err := w.WriteHots([]Hot{{Code: CodePollEnd}, {Code: CodeWakeEvent}}); n != 0 || err != werr {
			t.Errorf("WriteHots after an error: %d, %v, want 0 and the sticky %v", n, err, werr)
		}
		w2, _ := NewWriter(bufio.NewWriter(io.Discard))
		w2.Close()
		if err := w2.WriteHot(Hot{Code: CodePollEnd}); err != ErrWriteAfterClose {
			t.Errorf("after Close: %v", err)
		}
	})
}
