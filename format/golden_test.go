package format

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	goldenBin   = "testdata/all.bin"
	goldenJSONL = "testdata/all.jsonl"
)

// goldenRecords holds every record kind, with edge values. Every record is
// already in the form the writer keeps (valid UTF-8, short strings, at most
// 255 frames), so decoding the golden file gives these records back.
func goldenRecords() []Record {
	const maxU32 = 1<<32 - 1
	frames255 := make([]uint16, MaxFrames)
	for i := range frames255 {
		frames255[i] = uint16(i*257 + 1) // 1, 258, ..., spans the u16 range
	}
	frames255[0], frames255[MaxFrames-1] = 0, 65535
	return []Record{
		{Code: CodeSpawnLocationDef, ID: 1, Str: "main.main /src/app/main.go:12"},
		{Code: CodeSpawnLocationDef, ID: 2, Str: "héllo, 世界 🚀 Ωμέγα"},
		{Code: CodeSpawnLocationDef, ID: MaxID, Str: ""},
		{Code: CodeFrameDef, ID: 1, Str: "[chan receive]"},
		{Code: CodeFrameDef, ID: 2, Str: "main.worker /home/u/app/main.go:42"},
		{Code: CodeFrameDef, ID: 3, Str: "quote\" backslash\\ slash/ <html> & tab\t nl\n cr\r bs\b ff\f ctl\x00\x01\x1f del\x7f ls\u2028 ps\u2029 end"},
		{Code: CodeFrameDef, ID: 4, Str: "[sync]"},
		{Code: CodeFrameDef, ID: MaxID, Str: ""},
		{Code: CodeTaskSpawn, Task: 1, SpawnLoc: 1},
		{Code: CodeTaskSpawn, Task: maxU32, SpawnLoc: MaxID},
		{Code: CodeTaskSpawn, Task: 0, SpawnLoc: 0},
		{Code: CodePollStart, TS: 0, Worker: 0, LocalQ: 0, Task: 1, SpawnLoc: 1},
		{Code: CodePollStart, TS: maxU32, Worker: NoWorker, LocalQ: 255, Task: maxU32, SpawnLoc: MaxID},
		{Code: CodePollEnd, TS: 17, Worker: 3},
		{Code: CodePollEnd, TS: maxU32, Worker: 255},
		{Code: CodeWorkerPark, TS: 100, Worker: 1, LocalQ: 7, CPU: 123456},
		{Code: CodeWorkerPark, TS: maxU32, Worker: 255, LocalQ: 255, CPU: maxU32},
		{Code: CodeWorkerUnpark, TS: 200, Worker: 1, LocalQ: 0, CPU: 123999, SchedWait: 42},
		{Code: CodeWorkerUnpark, TS: maxU32, Worker: 255, LocalQ: 255, CPU: maxU32, SchedWait: maxU32},
		{Code: CodeQueueSample, TS: 300, GlobalQ: 0},
		{Code: CodeQueueSample, TS: maxU32, GlobalQ: 255},
		{Code: CodeWakeEvent, TS: 1500, Waker: 7, Task: 9, Worker: 2},
		{Code: CodeWakeEvent, TS: maxU32, Waker: 0, Task: maxU32, Worker: NoWorker},
		{Code: CodeTaskPending, TS: 400, Task: 9, Duration: 0},
		{Code: CodeTaskPending, TS: 500, Task: 9, Duration: 1234, Frames: []uint16{1, 2}},
		{Code: CodeTaskPending, TS: maxU32, Task: maxU32, Duration: maxU32, Frames: frames255},
	}
}

// TestGolden: our writers produce the golden files byte for byte.
func TestGolden(t *testing.T) {
	recs := goldenRecords()
	bin := encodeBinary(t, recs)
	js := encodeJSONL(t, recs)
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenBin), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenBin, bin, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenJSONL, js, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		file string
		got  []byte
	}{{goldenBin, bin}, {goldenJSONL, js}} {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			want, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatalf("%v (run go test ./format -update to create it)", err)
			}
			if !bytes.Equal(tt.got, want) {
				t.Errorf("encoding differs from %s (run go test ./format -update if the change is intended)", tt.file)
			}
		})
	}
}

// TestGoldenRoundTrip decodes the golden files, compares the records,
// re-encodes them and compares the bytes; then converts each rendering into
// the other and back.
func TestGoldenRoundTrip(t *testing.T) {
	bin, err := os.ReadFile(goldenBin)
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(goldenJSONL)
	if err != nil {
		t.Fatal(err)
	}
	want := goldenRecords()

	t.Run("binary", func(t *testing.T) {
		recs := mustDecodeBinary(t, bin)
		diffRecords(t, recs, want)
		if again := encodeBinary(t, recs); !bytes.Equal(again, bin) {
			t.Error("re-encoded binary differs")
		}
	})
	t.Run("jsonl", func(t *testing.T) {
		recs := mustDecodeJSONL(t, js)
		diffRecords(t, recs, want)
		if again := encodeJSONL(t, recs); !bytes.Equal(again, js) {
			t.Error("re-rendered JSONL differs")
		}
		if n := strings.Count(string(js), "\n"); n != len(want) {
			t.Errorf("%d lines, want %d", n, len(want))
		}
	})
	t.Run("binary-jsonl-binary", func(t *testing.T) {
		mid := encodeJSONL(t, mustDecodeBinary(t, bin))
		if !bytes.Equal(mid, js) {
			t.Error("JSONL of the binary golden differs from the JSONL golden")
		}
		if back := encodeBinary(t, mustDecodeJSONL(t, mid)); !bytes.Equal(back, bin) {
			t.Error("binary -> JSONL -> binary is not byte-identical")
		}
	})
	t.Run("long-strings", func(t *testing.T) {
		// Strings at the length limit, made of the costliest characters
		// to escape, survive both directions.
		recs := []Record{
			{Code: CodeFrameDef, ID: 1, Str: strings.Repeat("\x01", MaxStringLen)},
			{Code: CodeFrameDef, ID: 2, Str: strings.Repeat("\u2028", MaxStringLen/3)},
			{Code: CodeFrameDef, ID: 3, Str: strings.Repeat("🚀", MaxStringLen/4) + "abc"},
		}
		b := encodeBinary(t, recs)
		back := encodeBinary(t, mustDecodeJSONL(t, encodeJSONL(t, mustDecodeBinary(t, b))))
		if !bytes.Equal(b, back) {
			t.Error("long strings do not survive binary -> JSONL -> binary")
		}
		diffRecords(t, mustDecodeBinary(t, back), recs)
	})
}
