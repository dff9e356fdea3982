package format

import (
	"bytes"
	"io"
	"testing"
)

// benchRecords is a trace-like mix: mostly polls and wakes, some worker
// parks, a few definitions and pending stacks.
func benchRecords() []Record {
	var recs []Record
	for i := range 50 {
		recs = append(recs, Record{Code: CodeFrameDef, ID: uint16(i + 1), Str: "github.com/example/app/internal/server.(*Conn).serve /home/build/src/app/internal/server/conn.go:1234"})
	}
	recs = append(recs, Record{Code: CodeSpawnLocationDef, ID: 1, Str: "main.main /src/app/main.go:12"})
	frames := []uint16{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for i := range uint32(10000) {
		ts := 1000 + i*37
		switch i % 10 {
		case 0, 1, 2:
			recs = append(recs, Record{Code: CodePollStart, TS: ts, Worker: uint8(i % 8), LocalQ: uint8(i % 5), Task: 100000 + i, SpawnLoc: 1})
		case 3, 4, 5:
			recs = append(recs, Record{Code: CodePollEnd, TS: ts, Worker: uint8(i % 8)})
		case 6, 7:
			recs = append(recs, Record{Code: CodeWakeEvent, TS: ts, Waker: 100000 + i, Task: 200000 + i, Worker: uint8(i % 8)})
		case 8:
			recs = append(recs, Record{Code: CodeWorkerUnpark, TS: ts, Worker: uint8(i % 8), LocalQ: 3, CPU: i * 11, SchedWait: 17})
		case 9:
			recs = append(recs, Record{Code: CodeTaskPending, TS: ts, Task: 200000 + i, Duration: 12345, Frames: frames})
		}
	}
	return recs
}

func BenchmarkWriter(b *testing.B) {
	recs := benchRecords()
	b.SetBytes(int64(len(encodeBinary(b, recs)) - HeaderSize))
	b.ReportAllocs()
	for b.Loop() {
		w, _ := NewWriter(io.Discard)
		for i := range recs {
			if err := w.WriteRecord(&recs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkReader(b *testing.B) {
	data := encodeBinary(b, benchRecords())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	br := bytes.NewReader(nil)
	for b.Loop() {
		br.Reset(data)
		r, err := NewReader(br)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkJSONLWriter(b *testing.B) {
	recs := benchRecords()
	b.SetBytes(int64(len(encodeJSONL(b, recs))))
	b.ReportAllocs()
	for b.Loop() {
		w := NewJSONLWriter(io.Discard)
		for i := range recs {
			if err := w.WriteRecord(&recs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkJSONLReader(b *testing.B) {
	data := encodeJSONL(b, benchRecords())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	br := bytes.NewReader(nil)
	for b.Loop() {
		br.Reset(data)
		r := NewJSONLReader(br)
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
