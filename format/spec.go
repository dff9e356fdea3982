// Package format implements the v9 "TOKIOTRC" wire format that wakeshim
// writes, and its JSONL rendering.
//
// The format is the one dial9-tokio-telemetry defined for Tokio tasks; in
// wakeshim a task is a goroutine and a worker is a P. A file is a 12-byte
// header followed by records; each record is a one-byte code followed by
// fixed-size little-endian fields, except the two string definitions and
// TaskPending, whose size follows from a length or count field.
//
// The table in this file is the single description of every record: the
// binary encoder and decoder, the JSONL encoder and decoder, the size
// function and the self-check test are all driven by it, so a field cannot
// be added in one place and forgotten in another.
package format

import "strconv"

// Magic and Version open every file.
const (
	Magic   = "TOKIOTRC"
	Version = 9

	// HeaderSize is the size of the file header: magic plus a uint32 version.
	HeaderSize = len(Magic) + 4
)

// Limits of the wire format.
const (
	// MaxStringLen is the longest string a SpawnLocationDef or FrameDef can
	// carry (its length is a uint16). Longer strings are cut on a UTF-8
	// boundary by the writer.
	MaxStringLen = 1<<16 - 1
	// MaxFrames is the most frame ids a TaskPending can carry (count is a
	// uint8). Deeper stacks keep their innermost MaxFrames frames.
	MaxFrames = 1<<8 - 1
	// MaxID is the largest id of an interned string table (ids are uint16,
	// 0 is reserved for "unknown").
	MaxID = 1<<16 - 1
	// NoWorker is the worker id meaning "unknown / not on a P".
	NoWorker = 255
	// MaxTimestampUS is the largest timestamp a file can hold: a u32 of
	// microseconds, about 71.6 minutes.
	MaxTimestampUS = 1<<32 - 1
)

// Code identifies a record kind on the wire.
type Code uint8

// Record codes. Any other code is an error.
const (
	CodePollStart        Code = 0 // ts_us, worker, local_q, task_id, spawn_loc_id
	CodePollEnd          Code = 1 // ts_us, worker
	CodeWorkerPark       Code = 2 // ts_us, worker, local_q, cpu_us
	CodeWorkerUnpark     Code = 3 // ts_us, worker, local_q, cpu_us, sched_wait_us
	CodeQueueSample      Code = 4 // ts_us, global_q
	CodeSpawnLocationDef Code = 5 // id, len, location bytes
	CodeTaskSpawn        Code = 6 // task_id, spawn_loc_id
	CodeWakeEvent        Code = 7 // ts_us, waker_task_id, woken_task_id, target_worker
	CodeFrameDef         Code = 8 // id, len, frame bytes
	CodeTaskPending      Code = 9 // ts_us, task_id, duration_us, count, count x frame_id

	// NumCodes is the number of record codes: valid codes are 0 to NumCodes-1.
	NumCodes = 10
)

// FieldKind is the wire type of one field.
type FieldKind uint8

const (
	U8       FieldKind = iota + 1 // one byte
	U16                           // two bytes, little-endian
	U32                           // four bytes, little-endian
	String                        // u16 length, then that many bytes of UTF-8
	FrameIDs                      // u8 count, then count u16 frame ids
)

// fixedSize is the wire size of a fixed-size field kind; for String and
// FrameIDs it is the size of the length/count prefix.
func (k FieldKind) fixedSize() int {
	switch k {
	case U8, FrameIDs:
		return 1
	case U16, String:
		return 2
	case U32:
		return 4
	}
	return 0
}

// Slot names the Record member a field is stored in.
type Slot uint8

const (
	SlotTS Slot = iota + 1
	SlotWorker
	SlotLocalQ
	SlotGlobalQ
	SlotTask
	SlotWaker
	SlotSpawnLoc
	SlotCPU
	SlotSchedWait
	SlotID
	SlotStr
	SlotDuration
	SlotFrames
)

// Field describes one field of a record.
type Field struct {
	// Wire is the field's name in the spec (ts_us, worker, ...).
	Wire string
	// JSON is the key of the field in the JSONL rendering.
	JSON string
	// Kind is the wire type.
	Kind FieldKind
	// Slot is where the field lives in a Record.
	Slot Slot
	// Scale multiplies the wire value in JSON (1000 for microsecond times
	// rendered as nanoseconds); 0 means 1.
	Scale uint64
}

// Spec describes one record kind.
type Spec struct {
	Code   Code
	Name   string // the JSONL "event" tag
	Fields []Field
	// Size is the encoded size including the code byte, for a record with
	// no string bytes and no frame ids; the variable part adds to it.
	Size int
}

var (
	fTS        = Field{"ts_us", "timestamp_ns", U32, SlotTS, 1000}
	fWorker    = Field{"worker", "worker", U8, SlotWorker, 0}
	fLocalQ    = Field{"local_q", "local_q", U8, SlotLocalQ, 0}
	fTask      = Field{"task_id", "task_id", U32, SlotTask, 0}
	fSpawnLoc  = Field{"spawn_loc_id", "spawn_loc_id", U16, SlotSpawnLoc, 0}
	fCPU       = Field{"cpu_us", "cpu_ns", U32, SlotCPU, 1000}
	fSchedWait = Field{"sched_wait_us", "sched_wait_ns", U32, SlotSchedWait, 1000}
	fGlobalQ   = Field{"global_q", "global_q", U8, SlotGlobalQ, 0}
	fID        = Field{"id", "id", U16, SlotID, 0}
)

// specs is the table every encoder and decoder in this package is driven
// by, indexed by Code. Sizes are filled in by init from the field kinds and
// checked against the spec's numbers by TestSpecSizes.
var specs = [NumCodes]Spec{
	CodePollStart:        {Code: CodePollStart, Name: "PollStart", Fields: []Field{fTS, fWorker, fLocalQ, fTask, fSpawnLoc}},
	CodePollEnd:          {Code: CodePollEnd, Name: "PollEnd", Fields: []Field{fTS, fWorker}},
	CodeWorkerPark:       {Code: CodeWorkerPark, Name: "WorkerPark", Fields: []Field{fTS, fWorker, fLocalQ, fCPU}},
	CodeWorkerUnpark:     {Code: CodeWorkerUnpark, Name: "WorkerUnpark", Fields: []Field{fTS, fWorker, fLocalQ, fCPU, fSchedWait}},
	CodeQueueSample:      {Code: CodeQueueSample, Name: "QueueSample", Fields: []Field{fTS, fGlobalQ}},
	CodeSpawnLocationDef: {Code: CodeSpawnLocationDef, Name: "SpawnLocationDef", Fields: []Field{fID, {"location", "location", String, SlotStr, 0}}},
	CodeTaskSpawn:        {Code: CodeTaskSpawn, Name: "TaskSpawn", Fields: []Field{fTask, fSpawnLoc}},
	CodeWakeEvent: {Code: CodeWakeEvent, Name: "WakeEvent", Fields: []Field{fTS,
		{"waker_task_id", "waker_task_id", U32, SlotWaker, 0},
		{"woken_task_id", "woken_task_id", U32, SlotTask, 0},
		{"target_worker", "target_worker", U8, SlotWorker, 0}}},
	CodeFrameDef: {Code: CodeFrameDef, Name: "FrameDef", Fields: []Field{fID, {"frame", "frame", String, SlotStr, 0}}},
	CodeTaskPending: {Code: CodeTaskPending, Name: "TaskPending", Fields: []Field{fTS, fTask,
		{"duration_us", "duration_us", U32, SlotDuration, 0},
		{"frame_ids", "frame_ids", FrameIDs, SlotFrames, 0}}},
}

func init() {
	for i := range specs {
		s := &specs[i]
		s.Size = 1
		for _, f := range s.Fields {
			s.Size += f.Kind.fixedSize()
		}
	}
}

// Specs returns the record table, indexed by code. The caller must not
// modify it.
func Specs() []Spec { return specs[:] }

// Valid reports whether c is a known record code.
func (c Code) Valid() bool { return c < NumCodes }

// String returns the record's name, or "Code(N)" for an unknown code.
func (c Code) String() string {
	if c.Valid() {
		return specs[c].Name
	}
	return "Code(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// Spec returns the description of the code, or nil for an unknown code.
func (c Code) Spec() *Spec {
	if !c.Valid() {
		return nil
	}
	return &specs[c]
}
