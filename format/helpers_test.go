package format

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// encodeBinary writes recs with our Writer and returns the file.
func encodeBinary(t testing.TB, recs []Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.WriteRecord(&recs[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// encodeJSONL renders recs with our JSONLWriter.
func encodeJSONL(t testing.TB, recs []Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewJSONLWriter(&buf)
	for i := range recs {
		if err := w.WriteRecord(&recs[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeBinary reads every record of a file; err is what ended it (nil for
// a clean io.EOF).
func decodeBinary(data []byte) ([]Record, error) {
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return collect(r.Next)
}

// decodeJSONL is decodeBinary for the JSONL rendering.
func decodeJSONL(data []byte) ([]Record, error) {
	return collect(NewJSONLReader(bytes.NewReader(data)).Next)
}

// collect calls next until it fails, returning the records before; a
// clean io.EOF is no error.
func collect(next func() (Record, error)) ([]Record, error) {
	var recs []Record
	for {
		rec, err := next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
}

func mustDecodeBinary(t testing.TB, data []byte) []Record {
	t.Helper()
	recs, err := decodeBinary(data)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func mustDecodeJSONL(t testing.TB, data []byte) []Record {
	t.Helper()
	recs, err := decodeJSONL(data)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// asFormatError checks that err is a *FormatError matching sentinel.
func asFormatError(t testing.TB, err, sentinel error) *FormatError {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v is not a *FormatError", err, err)
	}
	return fe
}

// diffRecords reports the first difference between two record lists.
func diffRecords(t testing.TB, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d records, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if !recordEqual(&got[i], &want[i]) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got[i], want[i])
			return
		}
	}
}

// recordEqual compares records treating nil and empty frame lists alike.
func recordEqual(a, b *Record) bool {
	if len(a.Frames) != len(b.Frames) {
		return false
	}
	for i := range a.Frames {
		if a.Frames[i] != b.Frames[i] {
			return false
		}
	}
	x, y := *a, *b
	x.Frames, y.Frames = nil, nil
	return reflect.DeepEqual(x, y)
}
