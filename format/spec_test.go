package format

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// TestSpecSizes checks the table against the numbers of the spec
// (/work/shared/spec/v9-wire-format.md): codes, names, sizes and JSON keys.
func TestSpecSizes(t *testing.T) {
	tests := []struct {
		code  Code
		name  string
		size  int // without variable part
		per   int // bytes per string byte or frame id
		wire  string
		jsonl string
	}{
		{0, "PollStart", 13, 0, "ts_us worker local_q task_id spawn_loc_id", "timestamp_ns worker local_q task_id spawn_loc_id"},
		{1, "PollEnd", 6, 0, "ts_us worker", "timestamp_ns worker"},
		{2, "WorkerPark", 11, 0, "ts_us worker local_q cpu_us", "timestamp_ns worker local_q cpu_ns"},
		{3, "WorkerUnpark", 15, 0, "ts_us worker local_q cpu_us sched_wait_us", "timestamp_ns worker local_q cpu_ns sched_wait_ns"},
		{4, "QueueSample", 6, 0, "ts_us global_q", "timestamp_ns global_q"},
		{5, "SpawnLocationDef", 5, 1, "id location", "id location"},
		{6, "TaskSpawn", 7, 0, "task_id spawn_loc_id", "task_id spawn_loc_id"},
		{7, "WakeEvent", 14, 0, "ts_us waker_task_id woken_task_id target_worker", "timestamp_ns waker_task_id woken_task_id target_worker"},
		{8, "FrameDef", 5, 1, "id frame", "id frame"},
		{9, "TaskPending", 14, 2, "ts_us task_id duration_us frame_ids", "timestamp_ns task_id duration_us frame_ids"},
	}
	if len(Specs()) != len(tests) || NumCodes != len(tests) {
		t.Fatalf("%d specs, NumCodes %d, want %d", len(Specs()), NumCodes, len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Specs()[tt.code]
			if s.Code != tt.code || s.Name != tt.name || tt.code.String() != tt.name {
				t.Errorf("code %d: got %d %q", tt.code, s.Code, s.Name)
			}
			if s.Size != tt.size {
				t.Errorf("size %d, want %d", s.Size, tt.size)
			}
			var wire, js []string
			for _, f := range s.Fields {
				wire = append(wire, f.Wire)
				js = append(js, f.JSON)
				wantScale := uint64(0)
				if strings.HasSuffix(f.Wire, "_us") && f.Wire != "duration_us" {
					wantScale = 1000
				}
				if f.Scale != wantScale {
					t.Errorf("field %s: scale %d, want %d", f.Wire, f.Scale, wantScale)
				}
			}
			if got := strings.Join(wire, " "); got != tt.wire {
				t.Errorf("wire fields %q, want %q", got, tt.wire)
			}
			if got := strings.Join(js, " "); got != tt.jsonl {
				t.Errorf("JSON keys %q, want %q", got, tt.jsonl)
			}
			// The size with a variable part, computed by Record.Size and
			// checked against what the writer emits.
			for _, n := range []int{0, 1, 3} {
				r := Record{Code: tt.code, ID: 1}
				switch tt.per {
				case 1:
					r.Str = strings.Repeat("x", n)
				case 2:
					r.Frames = make([]uint16, n)
				}
				want := tt.size
				if tt.per > 0 {
					want += tt.per * n
				}
				b, err := AppendRecord(nil, &r)
				if err != nil {
					t.Fatal(err)
				}
				if r.Size() != want || len(b) != want {
					t.Errorf("n=%d: Size() %d, encoded %d, want %d", n, r.Size(), len(b), want)
				}
			}
		})
	}
	if Code(10).Valid() || Code(255).Valid() {
		t.Error("codes past 9 are valid")
	}
	if r := (Record{Code: 10}); r.Size() != 0 {
		t.Errorf("Size() of an unknown code = %d, want 0", r.Size())
	}
	if got := Code(10).String(); got != "Code(10)" {
		t.Errorf("Code(10).String() = %q", got)
	}
}

// TestSpecExample is the spec's worked example: one WakeEvent at 1.5 ms,
// goroutine 7 waking goroutine 9 on P 2.
func TestSpecExample(t *testing.T) {
	wantBin, _ := hex.DecodeString("544f4b494f545243" + "09000000" + "07" + "dc050000" + "07000000" + "09000000" + "02")
	wantJSON := `{"event":"WakeEvent","timestamp_ns":1500000,"waker_task_id":7,"woken_task_id":9,"target_worker":2}` + "\n"
	rec := Record{Code: CodeWakeEvent, TS: 1500, Waker: 7, Task: 9, Worker: 2}

	bin := encodeBinary(t, []Record{rec})
	if !bytes.Equal(bin, wantBin) {
		t.Errorf("binary\n got % x\nwant % x", bin, wantBin)
	}
	js := encodeJSONL(t, []Record{rec})
	if string(js) != wantJSON {
		t.Errorf("JSONL\n got %s\nwant %s", js, wantJSON)
	}
	diffRecords(t, mustDecodeBinary(t, wantBin), []Record{rec})
	diffRecords(t, mustDecodeJSONL(t, []byte(wantJSON)), []Record{rec})
}
