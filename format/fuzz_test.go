package format

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// fuzzSeeds are our writer's outputs: the golden content, then each golden
// record alone.
func fuzzSeeds(f *testing.F, render func(testing.TB, []Record) []byte, golden string) {
	if data, err := os.ReadFile(golden); err == nil {
		f.Add(data)
	}
	f.Add(render(f, goldenRecords()))
	for _, rec := range goldenRecords() {
		f.Add(render(f, []Record{rec}))
	}
}

// FuzzReader: the binary reader never panics; what it decodes re-encodes to
// exactly the bytes it was decoded from, decodes again to the same records,
// and survives the JSONL rendering.
func FuzzReader(f *testing.F) {
	fuzzSeeds(f, encodeBinary, goldenBin)
	f.Add(header)
	f.Add([]byte("TOKIOTRC\x08\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("header error %T %v", err, err)
			}
			return
		}
		var recs []Record
		end := r.Offset()
		for {
			rec, err := r.Next()
			if err == io.EOF {
				if end != int64(len(data)) {
					t.Fatalf("io.EOF at offset %d of %d", end, len(data))
				}
				break
			}
			if err != nil {
				fe, ok := err.(*FormatError)
				if !ok || fe.Offset != end || !fe.HasCode {
					t.Fatalf("error %v at offset %d, after a record ending at %d", err, fe.Offset, end)
				}
				break
			}
			recs = append(recs, rec)
			end = r.Offset()
		}
		bin := encodeBinary(t, recs)
		if !bytes.Equal(bin, data[:end]) {
			t.Fatalf("re-encoding differs from the input\n got % x\nwant % x", bin, data[:end])
		}
		diffRecords(t, mustDecodeBinary(t, bin), recs)
		diffRecords(t, mustDecodeJSONL(t, encodeJSONL(t, recs)), recs)
	})
}

// FuzzJSONLReader: the JSONL reader never panics; what it decodes renders
// and reads back to the same records, the rendering is a fixed point, and
// the binary encoding of the records round-trips too.
func FuzzJSONLReader(f *testing.F) {
	fuzzSeeds(f, encodeJSONL, goldenJSONL)
	f.Add([]byte(`{"target_worker":2,"woken_task_id":9,"event":"WakeEvent","waker_task_id":7,"timestamp_ns":1500000}`))
	f.Add([]byte(`{"event":"FrameDef","id":1,"frame":"\u0041\/\ud83d\ude80"}` + "\r\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := decodeJSONL(data)
		if err != nil {
			fe, ok := err.(*FormatError)
			if !ok || fe.Line < 1 {
				t.Fatalf("error %T %v has no line", err, err)
			}
		}
		js := encodeJSONL(t, recs)
		again := mustDecodeJSONL(t, js)
		diffRecords(t, again, recs)
		if js2 := encodeJSONL(t, again); !bytes.Equal(js, js2) {
			t.Fatal("JSONL rendering is not a fixed point")
		}
		diffRecords(t, mustDecodeBinary(t, encodeBinary(t, recs)), recs)
	})
}
