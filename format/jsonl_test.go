package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonMarshal is encoding/json's rendering of s without HTML escaping.
func jsonMarshal(t testing.TB, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

var escapeCases = []string{
	"", "plain", "<script>&amp;</script>", `"quoted" \back\ /slash/`,
	"\x00\x01\x02\x07\x08\x09\x0a\x0b\x0c\x0d\x1b\x1f\x20\x7f",
	"héllo 世界 🚀", "\u2028\u2029", "\u2027\u202a\u20ac", "\xe2\x80\xa8x\xe2", "\uFFFD", "end\\",
}

// TestJSONStringEscaping: our escaper agrees with encoding/json
// (SetEscapeHTML(false)) and encoding/json reads back the same string.
func TestJSONStringEscaping(t *testing.T) {
	for _, s := range escapeCases {
		if !utf8.ValidString(s) {
			continue
		}
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) { checkEscape(t, s) })
	}
}

func checkEscape(t *testing.T, s string) {
	got := string(appendJSONString(nil, s))
	if want := jsonMarshal(t, s); got != want {
		t.Errorf("appendJSONString(%q) = %s, encoding/json gives %s", s, got, want)
	}
	var back string
	if err := json.Unmarshal([]byte(got), &back); err != nil || back != s {
		t.Errorf("encoding/json reads %s as %q, %v", got, back, err)
	}
	p := jsonParser{b: []byte(got)}
	mine, err := p.str()
	if err != nil || string(mine) != s || p.i != len(got) {
		t.Errorf("our parser reads %s as %q, %v", got, mine, err)
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range escapeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip()
		}
		checkEscape(t, s)
	})
}

// TestJSONLLenient: spellings JSON allows decode to the canonical record.
func TestJSONLLenient(t *testing.T) {
	tests := []struct {
		name, in string
		want     Record
	}{
		{"canonical", `{"event":"WakeEvent","timestamp_ns":1500000,"waker_task_id":7,"woken_task_id":9,"target_worker":2}`,
			Record{Code: CodeWakeEvent, TS: 1500, Waker: 7, Task: 9, Worker: 2}},
		{"any key order", `{"target_worker":2,"woken_task_id":9,"event":"WakeEvent","waker_task_id":7,"timestamp_ns":1500000}`,
			Record{Code: CodeWakeEvent, TS: 1500, Waker: 7, Task: 9, Worker: 2}},
		{"whitespace and CR", " \t{ \"event\" : \"PollEnd\" ,\t\"timestamp_ns\": 0 , \"worker\" :255 } \r",
			Record{Code: CodePollEnd, Worker: 255}},
		{"escapes", `{"event":"Frame\u0044ef","id":1,"frame":"\u0041\/\ud83d\ude80\u00e9\u2028"}`,
			Record{Code: CodeFrameDef, ID: 1, Str: "A/🚀é\u2028"}},
		{"escaped key", `{"event":"FrameDef","\u0069d":1,"frame":""}`, Record{Code: CodeFrameDef, ID: 1}},
		{"frames with spaces", `{"event":"TaskPending","timestamp_ns":0,"task_id":1,"duration_us":2,"frame_ids":[ 1 , 65535 ,0 ]}`,
			Record{Code: CodeTaskPending, Task: 1, Duration: 2, Frames: []uint16{1, 65535, 0}}},
		{"empty frames with space", `{"event":"TaskPending","timestamp_ns":0,"task_id":1,"duration_us":2,"frame_ids":[ ]}`,
			Record{Code: CodeTaskPending, Task: 1, Duration: 2}},
		{"max values", `{"event":"WorkerUnpark","timestamp_ns":4294967295000,"worker":255,"local_q":255,"cpu_ns":4294967295000,"sched_wait_ns":4294967295000}`,
			Record{Code: CodeWorkerUnpark, TS: 1<<32 - 1, Worker: 255, LocalQ: 255, CPU: 1<<32 - 1, SchedWait: 1<<32 - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := ParseJSONL([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			diffRecords(t, []Record{rec}, []Record{tt.want})
		})
	}
	t.Run("line endings", func(t *testing.T) {
		line := `{"event":"PollEnd","timestamp_ns":1000,"worker":1}`
		want := []Record{{Code: CodePollEnd, TS: 1, Worker: 1}, {Code: CodePollEnd, TS: 1, Worker: 1}}
		for _, in := range []string{
			line + "\n" + line,                 // no final newline
			line + "\n" + line + "\n",          // final newline
			line + "\r\n" + line + "\r\n",      // CRLF
			line + "\n" + line + "\n\n \n\t\n", // trailing blank lines
		} {
			diffRecords(t, mustDecodeJSONL(t, []byte(in)), want)
		}
		diffRecords(t, mustDecodeJSONL(t, nil), nil)
		diffRecords(t, mustDecodeJSONL(t, []byte("\n\n")), nil)
	})
}

// TestJSONLErrors: bad lines give the right sentinel and name the line.
func TestJSONLErrors(t *testing.T) {
	long := strings.Repeat("x", MaxStringLen+1)
	var frames256 []string
	for range 256 {
		frames256 = append(frames256, "1")
	}
	const pe = `{"event":"PollEnd","timestamp_ns":%s,"worker":%s}`
	tests := []struct {
		name, line string
		err        error
	}{
		{"not JSON", `hello`, ErrSyntax},
		{"array", `[1,2]`, ErrSyntax},
		{"empty object", `{}`, ErrSyntax},
		{"unterminated", `{"event":"PollEnd","timestamp_ns":0,"worker":0`, ErrSyntax},
		{"trailing comma", `{"event":"PollEnd","timestamp_ns":0,"worker":0,}`, ErrSyntax},
		{"trailing data", `{"event":"PollEnd","timestamp_ns":0,"worker":0} x`, ErrSyntax},
		{"two objects", `{"event":"PollEnd","timestamp_ns":0,"worker":0}{}`, ErrSyntax},
		{"missing event", `{"timestamp_ns":0,"worker":0}`, ErrSyntax},
		{"unknown event", `{"event":"PollMiddle","timestamp_ns":0,"worker":0}`, ErrSyntax},
		{"event case", `{"event":"pollend","timestamp_ns":0,"worker":0}`, ErrSyntax},
		{"event not a string", `{"event":1,"timestamp_ns":0,"worker":0}`, ErrSyntax},
		{"missing key", `{"event":"PollEnd","timestamp_ns":0}`, ErrSyntax},
		{"unknown key", `{"event":"PollEnd","timestamp_ns":0,"worker":0,"colour":1}`, ErrSyntax},
		{"key of another record", `{"event":"PollEnd","timestamp_ns":0,"worker":0,"local_q":1}`, ErrSyntax},
		{"key of another record before event", `{"local_q":1,"event":"PollEnd","timestamp_ns":0,"worker":0}`, ErrSyntax},
		{"duplicate key", `{"event":"PollEnd","timestamp_ns":0,"worker":0,"worker":0}`, ErrSyntax},
		{"duplicate event", `{"event":"PollEnd","event":"PollEnd","timestamp_ns":0,"worker":0}`, ErrSyntax},
		{"string for number", fmt.Sprintf(pe, "0", `"1"`), ErrSyntax},
		{"null", fmt.Sprintf(pe, "0", `null`), ErrSyntax},
		{"bool", fmt.Sprintf(pe, "0", `true`), ErrSyntax},
		{"fraction", fmt.Sprintf(pe, "1000.0", "0"), ErrSyntax},
		{"exponent", fmt.Sprintf(pe, "1e3", "0"), ErrSyntax},
		{"leading zero", fmt.Sprintf(pe, "0", "01"), ErrSyntax},
		{"plus sign", fmt.Sprintf(pe, "0", "+1"), ErrSyntax},
		{"number for string", `{"event":"FrameDef","id":1,"frame":1}`, ErrSyntax},
		{"number for array", `{"event":"TaskPending","timestamp_ns":0,"task_id":1,"duration_us":2,"frame_ids":1}`, ErrSyntax},
		{"string in array", `{"event":"TaskPending","timestamp_ns":0,"task_id":1,"duration_us":2,"frame_ids":["1"]}`, ErrSyntax},
		{"bad escape", `{"event":"FrameDef","id":1,"frame":"\x"}`, ErrSyntax},
		{"short \\u", `{"event":"FrameDef","id":1,"frame":"\u12"}`, ErrSyntax},
		{"raw control character", "{\"event\":\"FrameDef\",\"id\":1,\"frame\":\"a\tb\"}", ErrSyntax},
		{"timestamp not whole µs", fmt.Sprintf(pe, "1500001", "0"), ErrLimit},
		{"timestamp past u32 µs", fmt.Sprintf(pe, "4294967296000", "0"), ErrLimit},
		{"cpu not whole µs", `{"event":"WorkerPark","timestamp_ns":0,"worker":0,"local_q":0,"cpu_ns":1}`, ErrLimit},
		{"worker 256", fmt.Sprintf(pe, "0", "256"), ErrLimit},
		{"negative", fmt.Sprintf(pe, "0", "-1"), ErrLimit},
		{"past u64", fmt.Sprintf(pe, "0", "18446744073709551616"), ErrLimit},
		{"task past u32", `{"event":"TaskSpawn","task_id":4294967296,"spawn_loc_id":1}`, ErrLimit},
		{"id past u16", `{"event":"FrameDef","id":65536,"frame":""}`, ErrLimit},
		{"frame id past u16", `{"event":"TaskPending","timestamp_ns":0,"task_id":1,"duration_us":2,"frame_ids":[65536]}`, ErrLimit},
		{"256 frames", `{"event":"TaskPending","timestamp_ns":0,"task_id":1,"duration_us":2,"frame_ids":[` + strings.Join(frames256, ",") + `]}`, ErrLimit},
		{"long string", `{"event":"FrameDef","id":1,"frame":"` + long + `"}`, ErrLimit},
		{"invalid UTF-8", "{\"event\":\"FrameDef\",\"id\":1,\"frame\":\"\xff\"}", ErrInvalidUTF8},
		{"lone high surrogate", `{"event":"FrameDef","id":1,"frame":"\ud800"}`, ErrInvalidUTF8},
		{"lone low surrogate", `{"event":"FrameDef","id":1,"frame":"\udc00"}`, ErrInvalidUTF8},
		{"high surrogate pair mismatch", `{"event":"FrameDef","id":1,"frame":"\ud800\u0041"}`, ErrInvalidUTF8},
		{"frame id 0", `{"event":"FrameDef","id":0,"frame":"x"}`, ErrReservedID},
		{"spawn location id 0", `{"event":"SpawnLocationDef","id":0,"location":"x"}`, ErrReservedID},
	}
	good := `{"event":"PollEnd","timestamp_ns":1000,"worker":1}` + "\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The bad line is line 2, after a good one.
			recs, err := decodeJSONL([]byte(good + tt.line + "\n" + good))
			fe := asFormatError(t, err, tt.err)
			if len(recs) != 1 || fe.Line != 2 || fe.Offset != int64(len(good)) {
				t.Errorf("%d records, error at line %d offset %d; want 1, line 2, offset %d: %v", len(recs), fe.Line, fe.Offset, len(good), err)
			}
			if !strings.Contains(err.Error(), "line 2") {
				t.Errorf("message %q does not name the line", err)
			}
			if _, err := ParseJSONL([]byte(tt.line)); !asFormatErrorQuiet(err, tt.err) {
				t.Errorf("ParseJSONL: %v", err)
			}
		})
	}
	t.Run("blank line before a record", func(t *testing.T) {
		_, err := decodeJSONL([]byte(good + "\n" + good))
		if fe := asFormatError(t, err, ErrSyntax); fe.Line != 2 {
			t.Errorf("error at line %d, want 2", fe.Line)
		}
	})
	t.Run("line too long", func(t *testing.T) {
		_, err := decodeJSONL([]byte(good + strings.Repeat(" ", maxJSONLLine+1) + good))
		if fe := asFormatError(t, err, ErrLimit); fe.Line != 2 || fe.Offset != int64(len(good)) {
			t.Errorf("error at line %d offset %d", fe.Line, fe.Offset)
		}
	})
	t.Run("sticky", func(t *testing.T) {
		r := NewJSONLReader(strings.NewReader("x\n" + good))
		_, err1 := r.Next()
		_, err2 := r.Next()
		if err1 == nil || err1 != err2 {
			t.Errorf("errors not sticky: %v, %v", err1, err2)
		}
	})
}

func asFormatErrorQuiet(err, sentinel error) bool {
	fe, ok := err.(*FormatError)
	return ok && fe.Err == sentinel && fe.Line == 0
}
