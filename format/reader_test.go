package format

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"
)

var header = []byte("TOKIOTRC\x09\x00\x00\x00")

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestReaderErrors(t *testing.T) {
	pollEnd := []byte{1, 0x10, 0, 0, 0, 3} // PollEnd ts 16, worker 3: 6 bytes
	tests := []struct {
		name    string
		data    []byte
		good    int // records decoded before the error
		err     error
		offset  int64
		hasCode bool
		code    Code
	}{
		{"empty", nil, 0, ErrTruncated, 0, false, 0},
		{"short magic", []byte("TOKIO"), 0, ErrTruncated, 0, false, 0},
		{"short version", []byte("TOKIOTRC\x09\x00"), 0, ErrTruncated, 0, false, 0},
		{"short garbage", []byte("abc"), 0, ErrBadMagic, 0, false, 0},
		{"wrong magic", []byte("TOKIOTRX\x09\x00\x00\x00"), 0, ErrBadMagic, 0, false, 0},
		{"text file", []byte("{\"event\":\"PollEnd\"}\n"), 0, ErrBadMagic, 0, false, 0},
		{"version 8", []byte("TOKIOTRC\x08\x00\x00\x00"), 0, ErrVersion, 8, false, 0},
		{"version 9 big-endian", []byte("TOKIOTRC\x00\x00\x00\x09"), 0, ErrVersion, 8, false, 0},
		{"unknown code 10", cat(header, pollEnd, []byte{10, 0, 0, 0, 0, 0}), 1, ErrUnknownCode, 18, true, 10},
		{"unknown code 255", cat(header, []byte{255}), 0, ErrUnknownCode, 12, true, 255},
		{"invalid UTF-8", cat(header, pollEnd, []byte{8, 1, 0, 2, 0, 0xff, 0xfe}), 1, ErrInvalidUTF8, 18, true, CodeFrameDef},
		{"surrogate in UTF-8", cat(header, []byte{5, 1, 0, 3, 0, 0xed, 0xa0, 0x80}), 0, ErrInvalidUTF8, 12, true, CodeSpawnLocationDef},
		{"frame id 0 defined", cat(header, pollEnd, pollEnd, []byte{8, 0, 0, 1, 0, 'x'}), 2, ErrReservedID, 24, true, CodeFrameDef},
		{"spawn location 0 defined", cat(header, []byte{5, 0, 0, 0, 0}), 0, ErrReservedID, 12, true, CodeSpawnLocationDef},
		{"truncated fixed part", cat(header, pollEnd, pollEnd[:4]), 1, ErrTruncated, 18, true, CodePollEnd},
		{"truncated string", cat(header, []byte{8, 1, 0, 5, 0, 'a', 'b'}), 0, ErrTruncated, 12, true, CodeFrameDef},
		{"truncated frames", cat(header, []byte{9, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0}), 0, ErrTruncated, 12, true, CodeTaskPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := decodeBinary(tt.data)
			fe := asFormatError(t, err, tt.err)
			if len(recs) != tt.good {
				t.Errorf("%d records before the error, want %d", len(recs), tt.good)
			}
			if fe.Offset != tt.offset || fe.HasCode != tt.hasCode || fe.Code != tt.code || fe.Line != 0 {
				t.Errorf("error at offset %d code %d/%v line %d, want offset %d code %d/%v: %v",
					fe.Offset, fe.Code, fe.HasCode, fe.Line, tt.offset, tt.code, tt.hasCode, err)
			}
			if got := errors.Is(err, io.ErrUnexpectedEOF); got != (tt.err == ErrTruncated) {
				t.Errorf("errors.Is(err, io.ErrUnexpectedEOF) = %v", got)
			}
			if errors.Is(err, io.EOF) {
				t.Error("a format error matches io.EOF")
			}
		})
	}
}

func TestReaderStickyAndOffset(t *testing.T) {
	data := cat(header, []byte{1, 0, 0, 0, 0, 3}, []byte{42})
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if r.Offset() != int64(HeaderSize) {
		t.Errorf("offset after header %d", r.Offset())
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if r.Offset() != 18 {
		t.Errorf("offset after first record %d, want 18", r.Offset())
	}
	_, err1 := r.Next()
	_, err2 := r.Next()
	if !errors.Is(err1, ErrUnknownCode) || err1 != err2 {
		t.Errorf("errors not sticky: %v, then %v", err1, err2)
	}
}

// TestReaderIOError: an error of the underlying reader is passed on, not
// mistaken for a truncated file.
func TestReaderIOError(t *testing.T) {
	boom := errors.New("boom")
	data := cat(header, []byte{1, 0, 0, 0, 0, 3}, []byte{1, 0, 0})
	for _, cut := range []int{len(data) - 3, len(data)} {
		r, err := NewReader(io.MultiReader(bytes.NewReader(data[:cut]), iotest.ErrReader(boom)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(); err != boom {
			t.Errorf("cut %d: got %v, want the reader's error", cut, err)
		}
	}
	if _, err := NewReader(iotest.ErrReader(boom)); err != boom {
		t.Errorf("header: got %v, want the reader's error", err)
	}
}

// TestReaderTruncation cuts the golden file at every byte: every complete
// record must come back, then io.EOF at a record boundary or ErrTruncated
// (also io.ErrUnexpectedEOF) at the start of the cut record.
func TestReaderTruncation(t *testing.T) {
	data, err := os.ReadFile(goldenBin)
	if err != nil {
		t.Fatal(err)
	}
	want := goldenRecords()
	ends := []int{HeaderSize} // ends[i]: offset after i records
	for i := range want {
		ends = append(ends, ends[i]+want[i].Size())
	}
	if ends[len(want)] != len(data) {
		t.Fatalf("sizes add up to %d, file is %d bytes", ends[len(want)], len(data))
	}
	readers := map[string]func(io.Reader) io.Reader{
		"plain":      func(r io.Reader) io.Reader { return r },
		"onebyte":    iotest.OneByteReader,
		"halfreader": iotest.HalfReader,
		// A caller's bufio.Reader smaller than the records: the reader
		// falls back from Peek to reading into its own buffer.
		"smallbufio": func(r io.Reader) io.Reader { return bufio.NewReaderSize(iotest.HalfReader(r), 16) },
	}
	for name, wrap := range readers {
		t.Run(name, func(t *testing.T) {
			for cut := 0; cut <= len(data); cut++ {
				r, err := NewReader(wrap(bytes.NewReader(data[:cut])))
				if cut < HeaderSize {
					fe := asFormatError(t, err, ErrTruncated)
					if fe.Offset != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("cut %d: %v", cut, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
				var got []Record
				for {
					rec, err := r.Next()
					if err == io.EOF {
						if ends[len(got)] != cut {
							t.Fatalf("cut %d: io.EOF after %d records (at offset %d)", cut, len(got), ends[len(got)])
						}
						break
					}
					if err != nil {
						fe := asFormatError(t, err, ErrTruncated)
						if !errors.Is(err, io.ErrUnexpectedEOF) || fe.Offset != int64(ends[len(got)]) ||
							!fe.HasCode || fe.Code != want[len(got)].Code || ends[len(got)+1] <= cut {
							t.Fatalf("cut %d after %d records: %v", cut, len(got), err)
						}
						break
					}
					got = append(got, rec)
					if r.Offset() != int64(ends[len(got)]) {
						t.Fatalf("cut %d: Offset() %d after record %d, want %d", cut, r.Offset(), len(got), ends[len(got)])
					}
				}
				diffRecords(t, got, want[:len(got)])
			}
		})
	}
}
